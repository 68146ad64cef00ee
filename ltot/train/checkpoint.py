"""Orbax checkpoints of the training state: verified on restore, with fallback past unreadable ones.

Every checkpoint carries a SHA-256 digest of each saved array (in the step's orbax metadata,
written atomically with the step). A restore recomputes them: a checkpoint whose files fail to
read or whose arrays differ from their digests is unreadable; the restore warns, names it and
falls back to the next older one. Training moves such steps aside, into the sibling folder
``<checkpoints>.unreadable/``, so that they are kept for inspection but never block a new save
of the same step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

__all__ = ["SCHEDULE_KEYS", "Checkpointer", "CheckpointError", "ConfigMismatchError", "config_changes", "read_run_config", "restore_run",
           "write_run_config"]

_DIGESTS = "ltot_sha256"  # key of the per-array digests in a step's custom metadata


class CheckpointError(RuntimeError):
  """No checkpoint of a run directory could be read (each step's error is in the message)."""


class _ShapeMismatch(ValueError):
  """A readable checkpoint of another config (saved shapes differ from the template's)."""


def _path(keys) -> str:
  return jax.tree_util.keystr(keys, simple=True, separator="/")


def _shape_mismatches(template: Any, metadata: Any) -> list[str]:
  """Arrays whose saved shape differs from the template's (paths as a/b/c)."""
  saved = {_path(p): tuple(m.shape) for p, m in jax.tree_util.tree_leaves_with_path(metadata)
           if hasattr(m, "shape")}
  out = []
  for p, leaf in jax.tree_util.tree_leaves_with_path(template):
    name, shape = _path(p), tuple(np.shape(leaf))
    if name in saved and saved[name] != shape:
      out.append(f"{name}: saved {saved[name]}, this config {shape}")
  return out


def _digests(tree: Any) -> dict[str, str]:
  """SHA-256 of each array leaf of ``tree`` (dtype, shape and bytes), keyed by its path a/b/c."""
  out = {}
  for p, leaf in jax.tree_util.tree_leaves_with_path(tree):
    x = np.ascontiguousarray(np.asarray(leaf))
    h = hashlib.sha256(f"{x.dtype.str}{x.shape}".encode())
    h.update(x.tobytes())
    out[_path(p)] = h.hexdigest()
  return out


def _replicated() -> jax.sharding.Sharding:
  """Replicated over each process's first device: one replica per process, so orbax writes each
  array once, and on one process has no replicas to split the write over (it slices a replicated
  array per replica, and each slice is an XLA program to compile)."""
  firsts = [jax.local_devices(process_index=p)[0] for p in range(jax.process_count())]
  return jax.sharding.NamedSharding(jax.sharding.Mesh(np.array(firsts), ("all",)), jax.sharding.PartitionSpec())


def _global(tree: Any) -> Any:
  """Every leaf as one array replicated over the processes: what orbax writes once on a multi-host
  run (it refuses a process's own single-device copy), and the same on one process."""
  sharding = _replicated()
  return jax.tree.map(lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda i, v=np.asarray(x): v[i]),
                      tree)


def _abstract(template: Any) -> Any:
  """The restore target of ``template`` (arrays or ``jax.ShapeDtypeStruct``s): shapes and dtypes, replicated."""
  sharding = _replicated()
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype if hasattr(x, "dtype") else
                                                     jnp.asarray(x).dtype, sharding=sharding), template)


def _local(tree: Any) -> Any:
  """This process's first copy of each replicated leaf."""
  return jax.tree.map(lambda x: x.addressable_data(0), tree)


class Checkpointer:
  """Saves the (single-device) state every so often and restores the newest readable one.

  Every process of a multi-host run makes the same calls with the same state.
  """

  def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        item_handlers=ocp.StandardCheckpointHandler())

  def save(self, step: int, state: Any) -> None:
    """Saves ``state`` as checkpoint ``step`` (asynchronously) with the digests of its arrays."""
    host = jax.device_get(jax.tree.map(jnp.asarray, state))  # Python scalars as the arrays orbax stores
    self.manager.save(step, args=ocp.args.StandardSave(_global(host)), force=True,
                      custom_metadata={_DIGESTS: _digests(host)})

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def _read(self, step: int, template: Any) -> Any:
    """Checkpoint ``step`` shaped like ``template``; raises on unreadable files or a digest mismatch.

    A saved shape that differs from the template's raises ValueError naming the arrays: that is
    another config's checkpoint, not a damaged one.
    """
    metadata = self.manager.item_metadata(step)
    mismatches = _shape_mismatches(template, metadata)
    if mismatches:
      raise _ShapeMismatch(f"the checkpoint at step {step} in {self.directory} does not fit "
                       "this config (does the config match the one that wrote it?): " + "; ".join(mismatches[:5]))
    expected = (self.manager.metadata(step).custom_metadata or {}).get(_DIGESTS)
    state = _local(self.manager.restore(step, args=ocp.args.StandardRestore(_abstract(template))))
    if expected is not None:  # checkpoints written before ltot stored digests have none
      found = _digests(jax.device_get(state))
      bad = sorted(k for k in expected if found.get(k) != expected[k])
      if bad or set(found) != set(expected):
        raise IOError(f"contents differ from the digests written at save time ({', '.join(bad[:3]) or 'array set'})")
    return state

  def restore(self, template: Any, *, move_unreadable: bool = False) -> tuple[int, Any] | None:
    """(step, state) from the newest checkpoint that reads back and verifies, or None if there is none.

    ``template`` gives the state's structure, shapes and dtypes: a state (e.g. ``method.init``'s)
    or its ``jax.eval_shape``.

    Shapes are checked against the saved metadata first: a mismatch (say, another latent
    dimension) raises ValueError naming the arrays, before anything is read. A checkpoint that
    fails to read or to verify is skipped with a warning naming it; with ``move_unreadable``
    (training) it is moved into ``<directory>.unreadable/`` (nothing is deleted). If none reads,
    raises CheckpointError with every step's error, or, with ``move_unreadable``, returns None
    (training starts afresh, the unreadable ones kept aside).
    """
    errors = []
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        return step, self._read(step, template)
      except _ShapeMismatch:
        raise
      except Exception as e:  # orbax and tensorstore raise assorted errors on damaged files
        error = e
      where = os.path.join(self.directory, str(step))
      if move_unreadable:
        moved = self._move_aside(step)
        logging.warning("checkpoint %s is unreadable (%s: %s); moved it to %s and trying an older one",
                        where, type(error).__name__, error, moved)
      else:
        logging.warning("checkpoint %s is unreadable (%s: %s); trying an older one", where, type(error).__name__, error)
      errors.append(f"step {step}: {type(error).__name__}: {error}")
    if errors and not move_unreadable:
      raise CheckpointError(f"no checkpoint in {self.directory} could be read:\n" + "\n".join(errors))
    return None

  def _move_aside(self, step: int) -> str:
    """Moves step ``step``'s folder to ``<directory>.unreadable/<step>[.k]`` (process 0); returns where."""
    aside = self.directory + ".unreadable"
    target, k = os.path.join(aside, str(step)), 1
    while os.path.exists(target):
      target, k = os.path.join(aside, f"{step}.{k}"), k + 1
    multihost_utils.sync_global_devices(f"ltot_move_aside_{step}")  # every process is done reading it
    if jax.process_index() == 0:
      os.makedirs(aside, exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), target)
    multihost_utils.sync_global_devices(f"ltot_moved_aside_{step}")
    self.manager.reload()
    return target

  def close(self) -> None:
    self.manager.close()


def read_run_config(workdir: str) -> ml_collections.ConfigDict:
  """The config.json that ``ltot train`` wrote into a run directory.

  Raises:
    FileNotFoundError: ``workdir`` has no config.json (not a run directory).

  Example:
    >>> import json, tempfile
    >>> workdir = tempfile.mkdtemp()
    >>> json.dump({'method': 'wae', 'seed': 3}, open(f'{workdir}/config.json', 'w'))
    >>> read_run_config(workdir).seed
    3
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{workdir} has no config.json: is it a run directory written by `ltot train`?")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def restore_run(workdir: str, template: Any) -> tuple[int, Any]:
  """(step, state) of the newest readable checkpoint of a run directory, shaped like ``template``.

  Raises:
    FileNotFoundError: the run has no checkpoint.
    CheckpointError: it has some, but none reads back and verifies.

  Example:
    >>> import tempfile, jax, numpy as np
    >>> from ltot import configs, data, methods, train
    >>> config = configs.toy('wae', 20)
    >>> method = methods.build(config, steps_per_epoch=5)
    >>> points = data.moons(np.random.default_rng(0), 500)
    >>> workdir = tempfile.mkdtemp()
    >>> _ = train.train(method, points, config, workdir, progress=False)
    >>> step, state = restore_run(workdir, method.init(jax.random.key(0), {'x': points[:4]}))
    >>> step, int(state.step)
    (20, 20)
  """
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise FileNotFoundError(f"{workdir}/checkpoints holds no checkpoint")
  checkpointer = Checkpointer(os.path.join(workdir, "checkpoints"))
  try:
    restored = checkpointer.restore(template)
  finally:
    checkpointer.close()
  if restored is None:
    raise FileNotFoundError(f"{workdir}/checkpoints holds no checkpoint")
  return restored


# Keys that do not change the steps already taken (how long to train, how often to log, evaluate and
# checkpoint, how much to score, over how many devices): a resumed run may change them freely.
SCHEDULE_KEYS = ("num_steps", "log_every", "eval_every", "checkpoint_every", "max_checkpoints", "num_eval_examples",
                 "num_fid_samples", "num_devices")


class ConfigMismatchError(ValueError):
  """A run directory holds a run of another config (the message names the differing keys)."""


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
  """A JSON config as {dotted.key: leaf value}."""
  if isinstance(tree, dict) and tree:
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
  return {prefix[:-1]: tree}


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
  """{dotted key: (old value, new value)} where two JSON configs differ; a missing key is None.

  Example:
    >>> config_changes({'seed': 0, 'model': {'width': 1.0}}, {'seed': 0, 'model': {'width': 0.5}})
    {'model.width': (1.0, 0.5)}
  """
  a, b = _flat(dict(old)), _flat(dict(new))
  return {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def write_run_config(workdir: str, config: ml_collections.ConfigDict, *, allow_changes: bool = False) -> None:
  """Writes ``config`` as ``workdir/config.json``, refusing to replace another config's silently.

  A run directory whose config.json differs from ``config`` in a key outside ``SCHEDULE_KEYS``
  raises ConfigMismatchError naming the differing keys, and nothing in it is touched; with
  ``allow_changes`` (or when only schedule keys such as ``num_steps`` differ) the new config
  replaces the old one and the change (time, newest checkpoint, old and new values) is appended
  to ``workdir/config_history.jsonl``. Only process 0 writes.

  Example:
    >>> import tempfile, ml_collections
    >>> workdir = tempfile.mkdtemp()
    >>> write_run_config(workdir, ml_collections.ConfigDict({'seed': 0, 'lr': 0.1}))
    >>> try:
    ...   write_run_config(workdir, ml_collections.ConfigDict({'seed': 0, 'lr': 0.2}))
    ... except ConfigMismatchError as e:
    ...   print(str(e).splitlines()[1])
      lr: 0.1 -> 0.2
  """
  new = json.loads(config.to_json(sort_keys=True))
  path = os.path.join(workdir, "config.json")
  changes = {}
  if os.path.isfile(path):
    with open(path) as f:
      changes = config_changes(json.load(f), new)
    if not changes:
      return
    blocking = {k: v for k, v in changes.items() if k not in SCHEDULE_KEYS}
    if blocking and not allow_changes:
      shown = "\n".join(f"  {k}: {a!r} -> {b!r}" for k, (a, b) in list(blocking.items())[:20])
      more = f"\n  ... and {len(blocking) - 20} more" if len(blocking) > 20 else ""
      raise ConfigMismatchError(
          f"{workdir} holds a run of another config; {len(blocking)} key(s) differ (saved -> new):\n{shown}{more}\n"
          "Use a new --workdir, or pass --resume_with_changes to continue this run under the new config "
          "(the change is recorded in config_history.jsonl)")
  if jax.process_index() != 0:
    return
  os.makedirs(workdir, exist_ok=True)
  if changes:
    steps = [int(s) for s in os.listdir(os.path.join(workdir, "checkpoints"))
             if s.isdigit()] if os.path.isdir(os.path.join(workdir, "checkpoints")) else []
    with open(os.path.join(workdir, "config_history.jsonl"), "a") as f:
      f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "latest_checkpoint": max(steps, default=None),
                          "changes": {k: {"old": a, "new": b} for k, (a, b) in changes.items()}}) + "\n")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json(indent=2, sort_keys=True))
  os.replace(tmp, path)
