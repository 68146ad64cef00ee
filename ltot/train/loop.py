"""The generic training loop: data-parallel steps, checkpoints, logs, periodic evaluation."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from typing import Any, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm
from jax.experimental import multihost_utils

from ltot.data.pipeline import Batches, DataError, check_arrays
from ltot.train.checkpoint import Checkpointer, write_run_config
from ltot.train.loggers import Callback
from ltot.train.method import Method
from ltot.train.parallel import AXIS, map_step, place_strided, replicate, unreplicate

__all__ = ["train", "evaluate", "TrainResult", "root_keys", "NONFINITE"]

NONFINITE = ("stop", "skip")  # config.nonfinite: what a NaN/Inf loss does


class TrainResult(NamedTuple):
  """The final single-device state, the number of steps done, whether SIGTERM cut the run short,
  and the step the run started from (its resumed checkpoint's, 0 for a new run)."""

  state: Any
  step: int
  preempted: bool
  resumed_from: int = 0


def _say(message: str, enabled: bool) -> None:
  """A status line on stderr, between progress bars."""
  if enabled:
    tqdm.tqdm.write(f"ltot: {message}", file=sys.stderr)


def _truncate_log(path: str, step: int) -> None:
  """Drops the lines of ``path`` (metrics.jsonl) logged after ``step``: a resumed run logs those steps again."""
  if not os.path.isfile(path):
    return
  with open(path) as f:
    lines = [line for line in f if line.strip()]
  kept = [line for line in lines if json.loads(line).get("step", 0) <= step]
  if len(kept) != len(lines):
    with open(path + ".tmp", "w") as f:
      f.writelines(kept)
    os.replace(path + ".tmp", path)


def root_keys(seed: int) -> dict[str, jax.Array]:
  """The run's keys, all derived from one root key: init, per-step, evaluation.

  Example:
    >>> sorted(root_keys(0))
    ['eval', 'init', 'step']
  """
  init, step, evaluation = jax.random.split(jax.random.key(seed), 3)
  return {"init": init, "step": step, "eval": evaluation}


def _skipping_nonfinite(train_step):
  """``train_step`` that keeps the previous state when a metric or the new state has a NaN/Inf on
  any device (the same decision on every device); adds the metric ``skipped`` (1 or 0)."""
  def step(state, batch, rng):
    new, metrics = train_step(state, batch, rng)
    leaves = [x for x in jax.tree.leaves((metrics, new)) if jnp.issubdtype(x.dtype, jnp.inexact)]
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])).astype(jnp.int32)
    keep = jax.lax.pmin(finite, AXIS).astype(bool)
    new = jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, state)
    return new, {**metrics, "skipped": 1.0 - keep.astype(jnp.float32)}
  return step


def keyed_step(train_step):
  """``train_step(state, batch, rng)`` as ``step(state, batch, (key, index))`` with ``rng =
  jax.random.fold_in(key, index)`` computed inside the compiled step: the same keys as an eager
  ``fold_in`` per step (``index`` a uint32), without dispatching one more op per step (about 1 ms
  each on the 2-core CPU, against a 22 ms step of the dense autoencoder)."""
  def step(state, batch, key_index):
    key, index = key_index
    return train_step(state, batch, jax.random.fold_in(key, index))
  return step


def _to_python(metrics: Mapping[str, Any]) -> dict[str, float]:
  return {k: float(v) for k, v in jax.device_get(dict(metrics)).items()}


class _Preemption:
  """Turns SIGTERM into a stop the loop checks between steps.

  One process: a Python SIGTERM handler sets a flag. Several processes (``jax.distributed``):
  jax's preemption sync point, so that every process stops at the same step when any of
  them is signalled (its notifier owns SIGTERM; a Python handler would hide it).
  """

  def __init__(self):
    self.requested = False
    self._old = None

  def __enter__(self):
    if jax.process_count() > 1:
      return self
    self._old = signal.getsignal(signal.SIGTERM)
    try:
      signal.signal(signal.SIGTERM, self._handler)
    except ValueError:  # not the main thread: leave signals alone
      self._old = None
    return self

  def _handler(self, signum, frame):
    del signum, frame
    self.requested = True

  def stop(self, step: int) -> bool:
    """Whether to stop before ``step``; with several processes, every one must ask at every step."""
    if jax.process_count() > 1:
      return multihost_utils.reached_preemption_sync_point(step)
    return self.requested

  def __exit__(self, *exc):
    if self._old is not None:
      signal.signal(signal.SIGTERM, self._old)


def evaluate(method: Method, state: Any, images: np.ndarray, rng: jax.Array,
             batch_size: int = 500) -> dict[str, float]:
  """Example-weighted mean of ``method.evaluate`` over ``images`` [N, H, W, C] in chunks.

  Example:
    >>> import jax, numpy as np
    >>> from ltot import configs, data, methods
    >>> method = methods.build(configs.toy('wae', 10), steps_per_epoch=1)
    >>> points = data.moons(np.random.default_rng(0), 300)
    >>> state = method.init(jax.random.key(0), {'x': points[:4]})
    >>> sorted(evaluate(method, state, points, jax.random.key(1), batch_size=100))
    ['latent_mmd', 'recon_l2sq', 'recon_mse']
  """
  totals: dict[str, float] = {}
  step = jax.jit(method.evaluate)
  for i, start in enumerate(range(0, len(images), batch_size)):
    chunk = images[start:start + batch_size]
    for k, v in _to_python(step(state, {"x": chunk}, jax.random.fold_in(rng, i))).items():
      totals[k] = totals.get(k, 0.0) + v * len(chunk)
  return {k: v / len(images) for k, v in totals.items()}


def train(method: Method, train_data: np.ndarray | Mapping[str, np.ndarray], config: ml_collections.ConfigDict,
          workdir: str, eval_images: np.ndarray | None = None, *, progress: bool = True,
          resume_with_changes: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
  """Trains ``method`` on ``train_data`` for ``config.num_steps`` steps.

  ``train_data`` is uint8 images [N, H, W, C] (batches ``{"x": ...}``) or a dict of
  arrays with one leading size N (e.g. ``{"x": points [N, 2]}`` for the 2-D toys). A new run's
  state is ``method.prepare(method.init(...))`` (``prepare`` loads what the run needs from
  outside it, e.g. a frozen first stage); then the method's ``training_data(state, rng, arrays)``
  turns the data into what its steps consume (the codes of a frozen autoencoder, OTtrans's
  matched pairs), its key derived from the run's init key.

  Writes ``config`` to ``workdir/config.json``; a workdir that holds a run of another config
  is refused (``ConfigMismatchError``, nothing touched) unless ``resume_with_changes``
  (``ltot.train.write_run_config``). Resumes from the newest checkpoint in
  ``workdir/checkpoints`` that reads back and verifies (unreadable newer ones are moved into
  ``checkpoints.unreadable/``); writes ``metrics.jsonl`` (train and eval lines; on resume,
  lines past the resumed step are dropped, since those steps run again);
  ``ltot.train.write_report`` makes the final metrics and images. Each of ``callbacks`` is called
  as ``callback(step, split, values)`` with every log line (``ltot.train.loggers``: TensorBoard,
  Weights & Biases, or your own), on process 0. Uses ``config.num_devices`` local
  devices (0: all); the global batch ``config.batch_size`` is split over them.
  On SIGTERM it checkpoints the current step and returns with ``preempted=True``.
  A NaN/Inf metric stops the run with FloatingPointError, keeping the last good checkpoint
  (``config.nonfinite="stop"``, the default), or the step is undone and training goes on
  (``"skip"``; the log's ``skipped_steps`` counts them since the run last started).

  Multi-host: after ``jax.distributed.initialize``, every process calls ``train`` with the
  same arguments and ``workdir`` (a shared file system); each feeds its own slice of every
  global batch to all of its local devices, gradients are reduced over all processes'
  devices, checkpoints are written jointly, and process 0 alone writes the logs.

  Example:
    >>> import tempfile, numpy as np
    >>> from ltot import configs, data, methods
    >>> config = configs.toy('wae', 50)
    >>> method = methods.build(config, steps_per_epoch=5)
    >>> points = data.moons(np.random.default_rng(0), 500)
    >>> result = train(method, points, config, tempfile.mkdtemp(), progress=False)
    >>> result.step, method.sample(result.state, root_keys(0)['eval'], 4).shape
    (50, (4, 2))
  """
  nonfinite = config.get("nonfinite", "stop")
  if nonfinite not in NONFINITE:
    raise ValueError(f"config.nonfinite={nonfinite!r} is not one of {NONFINITE}")
  skip = nonfinite == "skip"
  write_run_config(workdir, config, allow_changes=resume_with_changes)
  devices = jax.local_devices()
  multihost = jax.process_count() > 1
  if config.num_devices:
    if config.num_devices > len(devices):
      raise ValueError(f"num_devices={config.num_devices} but only {len(devices)} local devices exist")
    if multihost and config.num_devices != len(devices):
      raise ValueError(f"with {jax.process_count()} processes every local device takes part: num_devices must be 0 "
                       f"or {len(devices)}, got {config.num_devices}")
    devices = devices[:config.num_devices]
  keys = root_keys(config.seed)
  arrays = dict(train_data) if isinstance(train_data, Mapping) else {"x": train_data}
  if "x" not in arrays:
    raise DataError(f"training data must be an array or a dict with the key 'x'; got keys {sorted(arrays)}")
  check_arrays(arrays["x"], "training data", method.data_shapes)
  per_device = config.batch_size // (len(devices) * jax.process_count())
  # init's example: the whole dataset where it stays on the devices (OTS/FIT), else a device's batch
  example = arrays if method.resident_data else {k: v[:per_device] for k, v in arrays.items()}

  primary = jax.process_index() == 0
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), config.max_checkpoints)
  # The restore is shaped by init's abstract output: a resumed run never runs init (TWAE's CVT fit)
  # nor prepare (a latent map's first stage comes back with the state).
  restored = ckpt.restore(jax.eval_shape(method.init, keys["init"], example), move_unreadable=True)
  start = 0
  if restored is None:
    _say(f"initialising {type(method).__name__}", progress and primary)
    state = method.prepare(method.init(keys["init"], example))
  else:
    start, state = restored
    if start >= config.num_steps:
      _say(f"already at step {start} of num_steps={config.num_steps} in {workdir}: nothing to train", progress and primary)
    else:
      _say(f"resumed from step {start} of {config.num_steps} in {workdir}", progress and primary)
  arrays = method.training_data(state, jax.random.fold_in(keys["init"], 1), arrays)
  if method.resident_data:  # the whole dataset is every step's batch (OTS/FIT)
    resident = place_strided(arrays, devices)
    batches = lambda index: resident
  else:
    batches = Batches(arrays, config.batch_size, seed=config.seed, num_devices=len(devices),
                      process_index=jax.process_index(), process_count=jax.process_count())
  log_path = os.path.join(workdir, "metrics.jsonl") if primary else os.devnull
  if primary:
    _truncate_log(log_path, start)

  per_batch = method.updates_per_batch  # steps that reuse one batch (TWAE: a round)
  # with several processes the step reduces over all of their devices, else over ``devices`` alone
  p_step = map_step(keyed_step(_skipping_nonfinite(method.train_step) if skip else method.train_step), devices,
                    all_processes=multihost)
  rstate = replicate(state, devices)
  preempted = False
  with _Preemption() as preemption, open(log_path, "a") as log, tqdm.tqdm(
      total=config.num_steps, initial=start, disable=not (progress and primary), mininterval=2.0,
      desc=f"train {os.path.basename(os.path.normpath(workdir))}") as bar:
    t0, timed_from, done, skipped = None, start, start, 0.0
    for step in range(start, config.num_steps):
      if preemption.stop(step):
        preempted = True
        break
      rstate, metrics = p_step(rstate, batches(step // per_batch), (keys["step"], np.uint32(step)))
      done = step + 1
      if t0 is None:  # the first step compiles: the step rate counts the steps after it
        jax.block_until_ready(metrics)
        t0, timed_from = time.time(), done
      if skip:
        skipped = skipped + metrics.pop("skipped")  # on the devices: no wait per step
      checkpoint_now = done % config.checkpoint_every == 0
      if done % config.log_every == 0 or done == config.num_steps or checkpoint_now:
        values = _to_python(unreplicate(metrics))
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if skip:
          values["skipped_steps"] = float(np.asarray(unreplicate(skipped)))
        elif bad:  # never checkpoint a diverged state
          ckpt.wait()
          raise FloatingPointError(f"non-finite {bad} by step {done}: {values}; the last good "
                                   f"checkpoint (step {ckpt.latest_step()}) is kept in {workdir}")
        if done > timed_from:
          values["steps_per_second"] = (done - timed_from) / (time.time() - t0)
        log.write(json.dumps({"step": done, "split": "train", **values}) + "\n")
        log.flush()
        for callback in callbacks if primary else ():
          callback(done, "train", values)
        bar.set_postfix({k: f"{v:.4g}" for k, v in values.items() if k != "steps_per_second"}, refresh=False)
      if primary and eval_images is not None and config.eval_every and done % config.eval_every == 0:
        values = evaluate(method, unreplicate(rstate), eval_images[:config.num_eval_examples], keys["eval"])
        log.write(json.dumps({"step": done, "split": "eval", **values}) + "\n")
        log.flush()
        for callback in callbacks:
          callback(done, "eval", values)
      if checkpoint_now:
        ckpt.save(done, unreplicate(rstate))
      bar.update(1)
  state = unreplicate(rstate)
  if ckpt.latest_step() != done:
    ckpt.save(done, state)
  ckpt.wait()
  ckpt.close()
  return TrainResult(state, done, preempted, start)
