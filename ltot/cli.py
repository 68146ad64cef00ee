"""``ltot train | eval | sample | report``: the command line over configs, the loop and the methods.

  ltot train  --config experiments/configs/wae_mmd_mnist.py [--config.KEY=VALUE ...] --workdir DIR
  ltot eval   --workdir DIR [--num-samples N]
  ltot sample --workdir DIR --num N --out FILE.png|FILE.npy
  ltot report RUN_DIR [RUN_DIR ...] --out FILE.md

``eval`` restores the newest checkpoint, scores it on the whole test split and writes
metrics.json (reconstruction error; with the shipped MNIST / Fashion-MNIST classifiers
also FID, Inception Score, mode KL and exact W1 over N generated samples, default the
config's num_fid_samples) and samples / reconstructions / interpolations PNGs.
``report`` tabulates the runs' metrics.json and plots their logged metrics against the step.

Multi-host training: start ``ltot train`` once per process with the same flags and a
shared --workdir, plus --coordinator_address=HOST:PORT --num_processes=P --process_id=I
(or --distributed alone where jax finds the cluster itself: Cloud TPU pods, SLURM).
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags
from ml_collections import config_flags

__all__ = ["run", "validate_config"]

COMMANDS = ("train", "eval", "sample", "report")
_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a get_config() file (train).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, logs, images, metrics.")
_NUM = flags.DEFINE_integer("num", 64, "Number of samples (sample).")
_OUT = flags.DEFINE_string("out", None, "Output file: .png (grid) or .npy (sample), .md (report).")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", None, "Generated samples scored by eval (default: config.num_fid_samples).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "train: jax.distributed.initialize() with the cluster jax detects.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "train, multi-host: HOST:PORT of process 0.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "train, multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "train, multi-host: this process's index.")

_POSITIVE = ("batch_size", "num_steps", "log_every", "checkpoint_every", "max_checkpoints", "num_eval_examples")
_NON_NEGATIVE = ("num_devices", "eval_every", "seed", "num_fid_samples")


class UsageError(ValueError):
  pass


def validate_config(config) -> None:
  """Fails fast with a message naming the bad key (method sections are checked by the method)."""
  from ltot import data, methods
  from ltot.train.loop import NONFINITE
  for key in ("method", "dataset", "nonfinite", *_NON_NEGATIVE, *_POSITIVE):
    if key not in config:
      raise UsageError(f"config lacks the key {key!r}")
  if config.nonfinite not in NONFINITE:
    raise UsageError(f"config.nonfinite={config.nonfinite!r} is not one of {NONFINITE}")
  if config.method not in methods.METHODS:
    raise UsageError(f"config.method={config.method!r} is not one of {sorted(methods.METHODS)}")
  if config.dataset not in data.DATASETS:
    raise UsageError(f"config.dataset={config.dataset!r} is not one of {sorted(data.DATASETS)}")
  for key in _POSITIVE:
    if not isinstance(config[key], int) or config[key] <= 0:
      raise UsageError(f"config.{key} must be a positive integer, got {config[key]!r}")
  for key in _NON_NEGATIVE:
    if not isinstance(config[key], int) or config[key] < 0:
      raise UsageError(f"config.{key} must be a non-negative integer, got {config[key]!r}")


def _setup(config, need_train: bool):
  """Data, method and a state template for ``config``."""
  from ltot import data, methods
  train = data.load(config.dataset, "train") if need_train else None
  test = data.load(config.dataset, "test")
  num_train = len(train) if train is not None else config.batch_size
  method = methods.build(config, steps_per_epoch=max(1, num_train // config.batch_size))
  return train, test, method


def _load_run(workdir: str):
  from ltot.train import read_run_config, restore_run, root_keys
  try:
    config = read_run_config(workdir)
    _, test, method = _setup(config, need_train=False)
    keys = root_keys(config.seed)
    step, state = restore_run(workdir, method.init(keys["init"], {"image": test.images[:2]}))
  except FileNotFoundError as e:
    raise UsageError(str(e)) from e
  return config, test, method, state, step, keys


def _initialize_distributed() -> None:
  """jax.distributed.initialize from --distributed / --coordinator_address, before any computation."""
  import jax
  explicit = (_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise UsageError("multi-host training needs all of --coordinator_address, --num_processes and --process_id")
    if not 0 <= _PROCESS_ID.value < _NUM_PROCESSES.value:
      raise UsageError(f"--process_id={_PROCESS_ID.value} is not in [0, --num_processes={_NUM_PROCESSES.value})")
    jax.distributed.initialize(*explicit)
  elif _DISTRIBUTED.value:
    jax.distributed.initialize()


def _train(workdir: str) -> int:
  from ltot import data, train
  config = _CONFIG.value
  if config is None:
    raise UsageError("train needs --config")
  validate_config(config)
  _initialize_distributed()
  import jax
  train_data, test, method = _setup(config, need_train=True)
  data.check_images(data.to_unit_float(train_data.images[:1000]), "training images")
  os.makedirs(workdir, exist_ok=True)
  primary = jax.process_index() == 0
  if primary:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json(indent=2, sort_keys=True))
  result = train.train(method, train_data.images, config, workdir, eval_images=test.images)
  if result.preempted:
    print(f"ltot: preempted; checkpoint saved at step {result.step} in {workdir}", file=sys.stderr)
    return 0
  if not primary:  # process 0 scores the trained model and writes the report
    return 0
  metrics = train.write_report(method, result.state, test.images, train.root_keys(config.seed)["eval"],
                               workdir, result.step, dataset=config.dataset, num_samples=config.num_fid_samples)
  print(json.dumps(metrics, indent=2, sort_keys=True))
  pngs = sorted(f for f in os.listdir(workdir) if f.endswith(".png"))
  print(f"wrote {workdir}/metrics.json, {', '.join(pngs)}")
  return 0


def _eval(workdir: str) -> int:
  from ltot import train
  config, test, method, state, step, keys = _load_run(workdir)
  num_samples = config.get("num_fid_samples", 10_000) if _NUM_SAMPLES.value is None else _NUM_SAMPLES.value
  if num_samples < 0:
    raise UsageError(f"--num-samples must be non-negative, got {num_samples}")
  metrics = train.write_report(method, state, test.images, keys["eval"], workdir, step,
                               dataset=config.dataset, num_samples=num_samples)
  print(json.dumps(metrics, indent=2, sort_keys=True))
  return 0


def _sample(workdir: str) -> int:
  import jax
  import numpy as np
  from ltot import viz
  if not _OUT.value or not _OUT.value.endswith((".png", ".npy")):
    raise UsageError("sample needs --out FILE.png or FILE.npy")
  if _NUM.value <= 0:
    raise UsageError(f"--num must be positive, got {_NUM.value}")
  _, _, method, state, _, keys = _load_run(workdir)
  images = np.asarray(method.sample(state, jax.random.fold_in(keys["eval"], 2), _NUM.value))
  if _OUT.value.endswith(".npy"):
    np.save(_OUT.value, images)
  else:
    viz.save_image_grid(images, _OUT.value)
  print(f"wrote {_NUM.value} samples to {_OUT.value}")
  return 0


def _report(run_dirs: list[str]) -> int:
  from ltot.train.report import compare_runs
  if not _OUT.value or not _OUT.value.endswith(".md"):
    raise UsageError("report needs --out FILE.md")
  if not run_dirs:
    raise UsageError("report needs at least one run directory")
  try:
    written = compare_runs(run_dirs, _OUT.value)
  except FileNotFoundError as e:
    raise UsageError(str(e)) from e
  print("wrote " + ", ".join(written))
  return 0


def _main(argv) -> int:
  command = argv[1]
  if command == "report":
    return _report(argv[2:])
  if len(argv) > 2:
    raise UsageError(f"unexpected arguments {argv[2:]}")
  if not _WORKDIR.value:
    raise UsageError(f"{command} needs --workdir")
  return {"train": _train, "eval": _eval, "sample": _sample}[command](_WORKDIR.value)


def _normalise(arg: str) -> str:
  """--num-samples -> --num_samples (absl flag names use underscores)."""
  if arg.startswith("--") and not arg.startswith("--config"):
    name, sep, value = arg[2:].partition("=")
    return "--" + name.replace("-", "_") + sep + value
  return arg


def run(argv: list[str] | None = None) -> int:
  """Entry point of the ``ltot`` script."""
  from ltot.data import MissingDataError
  argv = list(sys.argv if argv is None else argv)
  if len(argv) < 2 or argv[1] not in COMMANDS:
    print(__doc__, file=sys.stderr)
    return 2
  argv = [argv[0], argv[1]] + [_normalise(a) for a in argv[2:]]
  try:
    rest = flags.FLAGS(argv)
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
    # ml_collections reports unknown --config.KEY overrides as AttributeError ("Did you mean ...").
    print(f"ltot: error: bad command line: {e}", file=sys.stderr)
    return 2
  try:
    return _main(rest)
  except (UsageError, MissingDataError) as e:
    print(f"ltot: error: {e}", file=sys.stderr)
    return 2
  except (ValueError, RuntimeError, FloatingPointError) as e:
    print(f"ltot: error: {type(e).__name__}: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
  sys.exit(run())
