"""Orbax checkpoints of the training state, with fallback past a corrupted latest one."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

__all__ = ["Checkpointer", "read_run_config", "restore_run"]


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


def _global(tree: Any) -> Any:
  """Every leaf as one array replicated over all processes' devices: what orbax writes once on a
  multi-host run (it refuses a process's own single-device copy), and the same on one process."""
  sharding = jax.sharding.NamedSharding(jax.sharding.Mesh(np.array(jax.devices()), ("all",)),
                                        jax.sharding.PartitionSpec())
  return jax.tree.map(lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda i, v=np.asarray(x): v[i]),
                      tree)


def _local(tree: Any) -> Any:
  """This process's first copy of each replicated leaf."""
  return jax.tree.map(lambda x: x.addressable_data(0), tree)


class Checkpointer:
  """Saves the (single-device) state every so often and restores the newest readable one.

  Every process of a multi-host run makes the same calls with the same state.
  """

  def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3):
    self.manager = ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        item_handlers=ocp.StandardCheckpointHandler())

  def save(self, step: int, state: Any) -> None:
    self.manager.save(step, args=ocp.args.StandardSave(_global(state)), force=True)

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def restore(self, template: Any) -> tuple[int, Any] | None:
    """(step, state) from the newest checkpoint that reads back, or None if there is none.

    Shapes are checked against the saved metadata first: a mismatch (say, another
    latent dimension) raises ValueError naming the arrays, before anything is
    read. A checkpoint that fails to read is skipped with a warning (nothing is
    deleted); if none reads, raises RuntimeError with every step's error.
    """
    errors = []
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        metadata = self.manager.item_metadata(step)
      except Exception as e:  # unreadable metadata: treat like a corrupted checkpoint
        metadata, error = None, e
      if metadata is not None:
        mismatches = _shape_mismatches(template, metadata)
        if mismatches:
          raise ValueError(f"the checkpoint at step {step} in {self.manager.directory} does not fit "
                           "this config (does the config match the one that wrote it?): "
                           + "; ".join(mismatches[:5]))
        try:
          return step, _local(self.manager.restore(step, args=ocp.args.StandardRestore(_global(template))))
        except Exception as e:  # orbax raises assorted errors on truncated files
          error = e
      logging.warning("checkpoint at step %d is unreadable (%s: %s); trying an older one",
                      step, type(error).__name__, error)
      errors.append(f"step {step}: {type(error).__name__}: {error}")
    if errors:
      raise RuntimeError(f"no checkpoint in {self.manager.directory} could be read:\n" + "\n".join(errors))
    return None

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

  Example:
    >>> import tempfile, jax, numpy as np
    >>> from ltot import configs, data, methods, train
    >>> config = configs.toy('wae', 20)
    >>> method = methods.build(config, steps_per_epoch=5)
    >>> points = data.moons(np.random.default_rng(0), 500)
    >>> workdir = tempfile.mkdtemp()
    >>> _ = train.train(method, points, config, workdir, progress=False)
    >>> step, state = restore_run(workdir, method.init(jax.random.key(0), {'image': points[:4]}))
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
