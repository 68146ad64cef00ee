"""``ltot train | eval | sample | report``: the command line over configs, the loop and the methods.

  ltot train  --config FILE[:PRESET] [--config.KEY=VALUE ...] --workdir DIR [--resume_with_changes]
  ltot train  --config FILE[:PRESET] [--config.KEY=VALUE ...] --show_config
  ltot eval   --workdir DIR [--num_samples N] [--out_dir DIR]
  ltot sample --workdir DIR [--num N] --out FILE.png|FILE.npy [--seed S | --between I,J]
  ltot report RUN_DIR [RUN_DIR ...] --out FILE.md

``ltot COMMAND --help`` lists a command's flags. ``python -m ltot ...`` is the same program.

``train`` writes the run directory (config.json, checkpoints/, metrics.jsonl, then the
report: metrics.json and PNGs); rerun with the same flags, it resumes. A run directory
of another config is refused unless --resume_with_changes, which records the change in
config_history.jsonl. ``eval`` restores the newest readable checkpoint and writes its
report into --out_dir (default DIR/eval, so the training report is kept): reconstruction
error; with the shipped MNIST / Fashion-MNIST classifiers also FID, Inception Score, mode
KL and exact W1 over N generated samples (default the config's num_fid_samples); the
exact W1 to fresh data for the 2-D toys. ``report`` tabulates runs' metrics.json and plots
their logged metrics against the step.

Multi-host training: start ``ltot train`` once per process with the same flags and a
shared --workdir, plus --coordinator_address=HOST:PORT --num_processes=P --process_id=I
(or --distributed alone where jax finds the cluster itself: Cloud TPU pods, SLURM).

Exit status: 0 done (also when SIGTERM checkpointed and stopped a run), 2 a usage error (bad
flag, config or run directory; one line on stderr), 1 a failure (missing data, a diverged
run, no readable checkpoint: one line; anything else is a bug and keeps its traceback).
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags
from ml_collections import config_flags

__all__ = ["run", "validate_config"]


def _define_flags(argv: list[str]) -> flags.FlagValues:
  """A fresh set of the command line's flags for ``argv`` (ml_collections defines the --config.KEY
  overrides it finds there): each ``run`` parses its own, so it can be called again in one process."""
  fv = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "Path to a get_config() file, optionally FILE:PRESET.",
                                  flag_values=fv, lock_config=True, sys_argv=argv)
  flags.DEFINE_string("workdir", None, "Run directory: checkpoints, logs, images, metrics.", flag_values=fv)
  flags.DEFINE_bool("resume_with_changes", False, "Continue a run directory whose config.json differs from "
                    "--config; the change is recorded in config_history.jsonl.", flag_values=fv)
  flags.DEFINE_bool("show_config", False, "Print the config's keys and values (overrides applied) and exit.",
                    flag_values=fv)
  flags.DEFINE_bool("tensorboard", True, "train: also write the logged metrics as TensorBoard events into "
                    "WORKDIR/tensorboard (tensorboard --logdir WORKDIR/tensorboard).", flag_values=fv)
  flags.DEFINE_string("wandb_project", None, "train: also log to this Weights & Biases project (needs wandb).",
                      flag_values=fv)
  flags.DEFINE_integer("num", 64, "Number of samples.", flag_values=fv)
  flags.DEFINE_integer("seed", None, "Seed of the samples (default: the run's evaluation key).", flag_values=fv)
  flags.DEFINE_string("between", None, "sample: instead of samples, the decoded latent path between test images "
                      "I and J ('I,J'), --num points (the near-surface curve for a unit-ball prior).",
                      flag_values=fv)
  flags.DEFINE_string("out", None, "Output file: sample: .png (grid) or .npy; report: .md.", flag_values=fv)
  flags.DEFINE_string("out_dir", None, "Folder for eval's metrics.json and PNGs (default WORKDIR/eval).",
                      flag_values=fv)
  flags.DEFINE_integer("num_samples", None, "Generated samples scored (default: config.num_fid_samples).",
                       flag_values=fv)
  flags.DEFINE_bool("distributed", False, "Multi-host: jax.distributed.initialize() with the cluster jax detects.",
                    flag_values=fv)
  flags.DEFINE_string("coordinator_address", None, "Multi-host: HOST:PORT of process 0.", flag_values=fv)
  flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.", flag_values=fv)
  flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.", flag_values=fv)
  return fv


# command -> (usage, what it does, its flags)
COMMANDS = {
    "train": ("--config FILE[:PRESET] [--config.KEY=VALUE ...] --workdir DIR",
              "Trains (or resumes) a run, then scores it and writes its report into the run directory.",
              ("config", "workdir", "resume_with_changes", "show_config", "tensorboard", "wandb_project",
               "distributed", "coordinator_address", "num_processes", "process_id")),
    "eval": ("--workdir DIR [--num_samples N] [--out_dir DIR]",
             "Scores the newest readable checkpoint of a run; writes metrics.json and PNGs into --out_dir.",
             ("workdir", "num_samples", "out_dir")),
    "sample": ("--workdir DIR [--num N] --out FILE.png|FILE.npy [--seed S | --between I,J]",
               "Draws samples of a run's newest readable checkpoint (or a latent path between two test images): "
               "an image grid (.png) or an array (.npy).",
               ("workdir", "num", "out", "seed", "between")),
    "report": ("RUN_DIR [RUN_DIR ...] --out FILE.md",
               "One markdown table of the runs' final metrics and plots of their logged metrics.",
               ("out",)),
}
_HELP = ("--help", "-h", "-help", "--helpfull", "--helpshort", "-?")

_POSITIVE = ("batch_size", "num_steps", "log_every", "checkpoint_every", "max_checkpoints", "num_eval_examples")
_NON_NEGATIVE = ("num_devices", "eval_every", "seed", "num_fid_samples")


class UsageError(ValueError):
  """A bad command line, config or run directory: one line, exit status 2."""


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
  if not data.is_dataset(config.dataset):
    raise UsageError(f"config.dataset={config.dataset!r} is not one of {sorted(data.DATASETS)}, the 2-D toys "
                     f"{sorted(data.TOY_SETS)}, npy:PATH or folder:PATH (your own images)")
  for key in _POSITIVE:
    if not isinstance(config[key], int) or config[key] <= 0:
      raise UsageError(f"config.{key} must be a positive integer, got {config[key]!r}")
  for key in _NON_NEGATIVE:
    if not isinstance(config[key], int) or config[key] < 0:
      raise UsageError(f"config.{key} must be a non-negative integer, got {config[key]!r}")


def _say(message: str) -> None:
  print(f"ltot: {message}", file=sys.stderr, flush=True)


def _setup(config, need_train: bool):
  """(train split or None, test split, method) for ``config``; a config the method rejects is a usage error."""
  from ltot import data, methods
  _say(f"loading {config.dataset}" + (" (train and test splits)" if need_train else " (test split)"))
  train = data.load_split(config, "train") if need_train else None
  test = data.load_split(config, "test")
  if "model" in config and "image_shape" in config.model and config.model.image_shape is None and test.images.ndim == 4:
    config.model.image_shape = tuple(int(s) for s in test.images.shape[1:])  # the architecture on these images
  num_train = len(train) if train is not None else config.batch_size
  try:
    method = methods.build(config, steps_per_epoch=max(1, num_train // config.batch_size))
  except ValueError as e:
    raise UsageError(f"bad config: {e}") from e
  return train, test, method


def _load_run(workdir: str):
  """(config, test split, method, restored state, its step, root keys) of a run directory."""
  import jax
  from ltot import data
  from ltot.train import read_run_config, restore_run, root_keys
  if not os.path.isdir(workdir):
    raise UsageError(f"--workdir {workdir} does not exist")
  try:
    config = read_run_config(workdir)
  except FileNotFoundError as e:
    raise UsageError(str(e)) from e
  _, test, method = _setup(config, need_train=False)
  keys = root_keys(config.seed)
  example = {"x": test.images[:2]}
  if method.resident_data:  # its state has a row per training example (OTS/FIT's dual): shape it on them
    example = {"x": data.load_split(config, "train").images}
  template = jax.eval_shape(method.init, keys["init"], example)
  try:
    step, state = restore_run(workdir, template)
  except FileNotFoundError as e:
    raise UsageError(str(e)) from e
  return config, test, method, state, step, keys


def _initialize_distributed(fv) -> None:
  """jax.distributed.initialize from --distributed / --coordinator_address, before any computation."""
  import jax
  explicit = (fv.coordinator_address, fv.num_processes, fv.process_id)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise UsageError("multi-host training needs all of --coordinator_address, --num_processes and --process_id")
    if not 0 <= fv.process_id < fv.num_processes:
      raise UsageError(f"--process_id={fv.process_id} is not in [0, --num_processes={fv.num_processes})")
    jax.distributed.initialize(*explicit)
  elif fv.distributed:
    jax.distributed.initialize()


def _writable_dir(path: str, what: str) -> None:
  """Raises UsageError unless folder ``path`` exists (or can be made) and is writable."""
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise UsageError(f"cannot create {what} {path}: {e.strerror}") from e
  if not os.access(path, os.W_OK | os.X_OK):
    raise UsageError(f"{what} {path} is not writable")


def _train(fv) -> int:
  from ltot import data, train
  config = fv.config
  if config is None:
    raise UsageError("train needs --config")
  if fv.show_config:
    print(config)
    return 0
  workdir = fv.workdir
  if not workdir:
    raise UsageError("train needs --workdir")
  validate_config(config)
  _writable_dir(workdir, "--workdir")
  _initialize_distributed(fv)
  import jax
  from ltot import methods
  try:  # a latent map's first stage: its run config goes into this run's
    config = methods.prepare_config(config)
  except (FileNotFoundError, ValueError) as e:
    raise UsageError(f"bad first stage: {e}") from e
  train_data, test, method = _setup(config, need_train=True)
  data.check_arrays(train_data.images[:1000], "training data")
  callbacks = []
  if jax.process_index() == 0:
    if fv.tensorboard:
      callbacks.append(train.loggers.TensorBoardLogger(os.path.join(workdir, "tensorboard")))
    if fv.wandb_project:
      try:
        callbacks.append(train.loggers.WandbLogger(fv.wandb_project, config.to_dict(), name=os.path.basename(workdir)))
      except ImportError as e:
        raise UsageError(str(e)) from e
  try:
    result = train.train(method, train_data.images, config, workdir, eval_images=test.images,
                         resume_with_changes=fv.resume_with_changes, callbacks=callbacks)
  finally:
    for callback in callbacks:
      callback.close()
  if result.preempted:
    _say(f"preempted; checkpoint saved at step {result.step} in {workdir}")
    return 0
  if jax.process_index() != 0:  # process 0 scores the trained model and writes the report
    return 0
  if result.resumed_from >= config.num_steps:
    _say(f"already at step {result.step}; re-scoring it (the report is written again)")
  metrics = train.write_report(method, result.state, test.images, train.root_keys(config.seed)["eval"],
                               workdir, result.step, dataset=config.dataset, num_samples=config.num_fid_samples,
                               progress=True)
  print(json.dumps(metrics, indent=2, sort_keys=True))
  pngs = sorted(f for f in os.listdir(workdir) if f.endswith(".png"))
  _say(f"wrote {workdir}/metrics.json, {', '.join(pngs)}")
  return 0


def _eval(fv) -> int:
  workdir = fv.workdir
  from ltot import train
  num_samples = fv.num_samples
  if num_samples is not None and num_samples < 0:
    raise UsageError(f"--num_samples must be non-negative, got {num_samples}")
  out_dir = fv.out_dir or os.path.join(workdir, "eval")
  config, test, method, state, step, keys = _load_run(workdir)
  _writable_dir(out_dir, "--out_dir")
  num_samples = config.get("num_fid_samples", 10_000) if num_samples is None else num_samples
  metrics = train.write_report(method, state, test.images, keys["eval"], out_dir, step,
                               dataset=config.dataset, num_samples=num_samples, progress=True)
  print(json.dumps(metrics, indent=2, sort_keys=True))
  _say(f"wrote {out_dir}/metrics.json and its PNGs (step {step})")
  return 0


def _sample(fv) -> int:
  workdir = fv.workdir
  import jax
  import numpy as np
  from ltot import viz
  out = fv.out
  if not out or not out.endswith((".png", ".npy")):
    raise UsageError("sample needs --out FILE.png or FILE.npy")
  if fv.num <= 0:
    raise UsageError(f"--num must be positive, got {fv.num}")
  _writable_dir(os.path.dirname(os.path.abspath(out)), "the folder of --out")
  _, test, method, state, _, keys = _load_run(workdir)
  if fv.between:
    samples = _interpolation(method, state, test.images, fv.between, fv.num)
  else:
    key = jax.random.fold_in(keys["eval"], 2) if fv.seed is None else jax.random.key(fv.seed)
    samples = np.asarray(jax.jit(method.sample, static_argnums=2)(state, key, fv.num))
  if out.endswith(".npy"):
    np.save(out, samples)
  elif samples.ndim == 2:  # points: a scatter plot
    viz.save_points(samples, out)
  else:
    viz.save_image_grid(samples, out)
  _say(f"wrote {len(samples)} {'path points' if fv.between else 'samples'} to {out}")
  return 0


def _interpolation(method, state, images, between: str, steps: int):
  """Decoded latent path [steps, ...] between the codes of test images I and J ("I,J")."""
  import numpy as np
  from ltot.train.report import latent_interpolations
  try:
    i, j = (int(v) for v in between.split(","))
  except ValueError:
    raise UsageError(f"--between takes two test-image indices I,J; got {between!r}") from None
  if not (0 <= i < len(images) and 0 <= j < len(images)):
    raise UsageError(f"--between {between}: the test split has {len(images)} images")
  from ltot.methods.autoencoder import AutoencoderMethod
  if not isinstance(method, AutoencoderMethod):
    raise UsageError(f"--between needs a method with an encoder; this run's is {type(method).__name__}")
  return np.asarray(latent_interpolations(method, state, images[np.array([i, j])], steps=steps))


def _report(fv, run_dirs: list[str]) -> int:
  from ltot.train.report import compare_runs
  if not fv.out or not fv.out.endswith(".md"):
    raise UsageError("report needs --out FILE.md")
  if not run_dirs:
    raise UsageError("report needs at least one run directory")
  for d in run_dirs:
    if not os.path.isdir(d):
      raise UsageError(f"run directory {d} does not exist")
  _writable_dir(os.path.dirname(os.path.abspath(fv.out)), "the folder of --out")
  try:
    written = compare_runs(run_dirs, fv.out)
  except FileNotFoundError as e:
    raise UsageError(str(e)) from e
  _say("wrote " + ", ".join(written))
  return 0


def _command_help(fv, command: str) -> str:
  usage, what, names = COMMANDS[command]
  lines = [f"usage: ltot {command} {usage}", "", what, "", "flags:"]
  for name in names:
    flag = fv[name]
    default = "" if flag.default in (None, False) or name == "config" else f" (default: {flag.default})"
    lines.append(f"  --{name}: {flag.help}{default}")
  if command == "train":
    lines.append("  --config.KEY=VALUE: override a key of the config (see --show_config)")
  return "\n".join(lines)


def _stray_flags(fv, command: str) -> list[str]:
  """Flags given on the command line that ``command`` does not take."""
  own = set(COMMANDS[command][2])
  every = {name for spec in COMMANDS.values() for name in spec[2]}
  return [f"--{name}" for name in sorted(every - own) if fv[name].present]


def _main(fv, command: str, rest: list[str]) -> int:
  stray = _stray_flags(fv, command)
  if stray:
    raise UsageError(f"`ltot {command}` takes no {', '.join(stray)} (see `ltot {command} --help`)")
  if command == "report":
    return _report(fv, rest)
  if rest:
    raise UsageError(f"unexpected arguments {rest}")
  if command != "train" and not fv.workdir:
    raise UsageError(f"{command} needs --workdir")
  return {"train": _train, "eval": _eval, "sample": _sample}[command](fv)


def _normalise(arg: str) -> str:
  """--num-samples -> --num_samples (absl flag names use underscores)."""
  if arg.startswith("--") and not arg.startswith("--config"):
    name, sep, value = arg[2:].partition("=")
    return "--" + name.replace("-", "_") + sep + value
  return arg


def _config_path(args: list[str]) -> str | None:
  """The file of --config FILE[:PRESET] on the command line, or None."""
  for i, arg in enumerate(args):
    if arg.startswith("--config="):
      return arg[len("--config="):].split(":")[0]
    if arg == "--config" and i + 1 < len(args):
      return args[i + 1].split(":")[0]
  return None


def _parse(fv, argv: list[str]) -> list[str]:
  """absl-parses argv into ``fv``; returns the positional arguments after the command. Raises UsageError."""
  path = _config_path(argv[2:])
  if path is not None and not os.path.isfile(path):
    raise UsageError(f"config file {path} not found")
  try:
    return fv(argv)[2:]
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
    message = str(e)
    if "Error whilst parsing config file" in message:  # ml_collections embeds the file's traceback
      last = [line for line in message.splitlines() if line.strip()][-1].strip()
      raise UsageError(f"cannot load the config {path}: {last}") from None
    # ml_collections reports unknown --config.KEY overrides as AttributeError ("Did you mean ...").
    raise UsageError(f"bad command line: {message}") from None


def run(argv: list[str] | None = None) -> int:
  """Entry point of the ``ltot`` script (and of ``python -m ltot``)."""
  from ltot.data import DataError, MissingDataError
  from ltot.train import CheckpointError, ConfigMismatchError, keep_freed_host_memory
  keep_freed_host_memory()  # before any program runs: XLA's CPU steps then reuse their host memory
  argv = list(sys.argv if argv is None else argv)
  if len(argv) < 2 or argv[1] not in COMMANDS:
    asked = len(argv) >= 2 and argv[1] in _HELP
    print(__doc__, file=sys.stdout if asked else sys.stderr)
    if len(argv) >= 2 and not asked:
      print(f"ltot: error: unknown command {argv[1]!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
    return 0 if asked else 2
  command = argv[1]
  argv = [argv[0], command] + [_normalise(a) for a in argv[2:]]
  fv = _define_flags(argv)
  if any(a in _HELP or a.split("=")[0] in _HELP for a in argv[2:]):
    print(_command_help(fv, command))
    return 0
  try:
    rest = _parse(fv, argv)
    return _main(fv, command, rest)
  except (UsageError, ConfigMismatchError) as e:
    print(f"ltot: error: {e}", file=sys.stderr)
    return 2
  except (MissingDataError, DataError, CheckpointError, FloatingPointError) as e:
    print(f"ltot: error: {type(e).__name__}: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
  sys.exit(run())
