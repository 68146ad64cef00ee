"""Every experiments/configs file and preset is valid, and every distinct one trains (a few steps),
evaluates and samples through the CLI."""

import glob
import json
import os

import jax
import numpy as np
import pytest

from ltot import cli, configs, data, methods, train
from ltot.cli import validate_config

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs")


def _images(config, mnist, shape):
  if config.dataset in data.TOY_SETS:
    return data.load_split(config, "train").images
  if config.dataset in ("mnist", "fashion_mnist"):  # Fashion-MNIST has MNIST's shape
    return mnist["train"].images[:max(1000, config.batch_size)]
  # CelebA / LSUN cannot be had here: synthetic images of their shape
  return np.random.default_rng(0).integers(0, 256, (max(64, config.batch_size), *shape), dtype=np.uint8)


def _shrink(config):
  config.batch_size, config.num_steps, config.checkpoint_every, config.eval_every = 8, 2, 2, 0
  config.num_devices = 1
  if "model" in config:
    config.model.width = 1 / 32
  if "twae" in config:  # keep the tessellation; a CVT of 4 regions (E8 has its 241), 4 points each
    if config.twae.tessellation == "cvt":
      config.twae.num_regions = 4
    config.batch_size = 4 * config.twae.num_regions
    config.twae.cvt_samples, config.twae.cvt_iters = 20 * config.twae.num_regions, 3
  for section in ("wae", "twae"):  # few projections and inner iterations of the sliced discrepancies
    options = config[section].get("penalty_options", {}) if section in config else {}
    for key, size in (("num_projections", 8), ("num_iters", 2)):
      if key in options:
        options[key] = size
  if "ot_gen" in config:
    config.ot_gen.num_pairs = 64
  if "ots_fit" in config:  # one OTS and one FIT step
    config.ots_fit.ots_steps = config.ots_fit.fit_steps = 1


PRESETS = [(os.path.basename(p), preset) for p in sorted(glob.glob(os.path.join(CONFIG_DIR, "*.py")))
           for preset in configs.presets_of(p)]
# Keys that cannot change a 2-step run once shrunk (logging, evaluation, the lr schedule's epochs).
_INERT = ("eval_every", "log_every", "max_checkpoints", "num_fid_samples", "num_eval_examples")


def _shrunk(name, preset):
  config = configs.load_file(os.path.join(CONFIG_DIR, name), preset)
  _shrink(config)
  return config


# Datasets of one example shape train the same program here: Fashion-MNIST configs get MNIST
# images and LSUN configs random 64 x 64 images, like CelebA's (see _images).
_SAME_SHAPE = {"fashion_mnist": "mnist", "lsun/bedroom": "celeb_a"}


def _as_compiled(value):
  """A config value as far as it can change the program a 2-step run compiles and runs: floats
  (rates, weights, variances) only by their sign, since zero switches a term off."""
  if isinstance(value, dict):
    return {k: _as_compiled(v) for k, v in value.items()}
  if isinstance(value, list):
    return [_as_compiled(v) for v in value]
  if isinstance(value, float):
    return float(np.sign(value))
  return value


def _training_key(config) -> str:
  d = json.loads(config.to_json())
  for key in (*_INERT, "seed"):
    d.pop(key, None)
  d.get("optim", {}).pop("decay_epochs", None)
  d["dataset"] = _SAME_SHAPE.get(d["dataset"], d["dataset"])
  return json.dumps(_as_compiled(d), sort_keys=True)


# One training per distinct shrunk config, as compiled: presets that differ only in size (width,
# batch, steps, regions, projections), in a float's value or in a dataset of the same shape become
# the same 2-step run; test_every_preset_is_valid covers them all.
_FIRST: dict[str, tuple[str, str]] = {}  # training key -> the first preset with it
for _case in PRESETS:
  _FIRST.setdefault(_training_key(_shrunk(*_case)), _case)
CASES = list(_FIRST.values())
# Of those, the first of each (file, method, dataset) goes the user's whole way through the CLI:
# train, eval, sample (about 25 runs); the others train their 2 steps through ltot.train.train.
_CLI: dict[tuple, tuple[str, str]] = {}
for _case in CASES:
  _config = _shrunk(*_case)
  _CLI.setdefault((_case[0], _config.method, _config.dataset), _case)
CLI_CASES = list(_CLI.values())
API_CASES = [c for c in CASES if c not in CLI_CASES]


@pytest.fixture(autouse=True)
def _release_each_configs_programs():
  """Drops the compiled programs after each test here, not only after the module (conftest).

  Every config compiles its own programs, about 80 of them in this module; the process reached
  the kernel's limit of 65,530 memory maps (XLA's CPU executables each hold several) and XLA's
  compiler aborted, late in a full run or of this module alone.
  """
  yield
  jax.clear_caches()


@pytest.fixture(scope="module")
def first_stages(mnist, tmp_path_factory):
  """Tiny trained autoencoders (2 steps) that the latent_ot configs load: dataset -> run directory."""
  runs = {}
  for dataset, (name, preset) in {"mnist": ("autoencoder_mnist.py", "ae-mnist"),
                                  "celeb_a": ("wae_celeba.py", "mmd")}.items():
    config = configs.load_file(os.path.join(CONFIG_DIR, name), preset)
    _shrink(config)
    method = methods.build(config, steps_per_epoch=8)
    workdir = tmp_path_factory.mktemp(dataset)
    (workdir / "config.json").write_text(config.to_json())
    train.train(method, _images(config, mnist, method.autoencoder.image_shape), config, str(workdir), progress=False)
    runs[dataset] = str(workdir)
  runs["fashion_mnist"] = runs["mnist"]
  return runs


@pytest.mark.parametrize("name,preset", PRESETS)
def test_every_preset_is_valid(name, preset):
  validate_config(configs.load_file(os.path.join(CONFIG_DIR, name), preset))  # raises on a bad key or value


def _overrides(name, preset, config):
  """--config.KEY=VALUE flags that turn preset ``name:preset`` into ``config``."""
  shipped = json.loads(configs.load_file(os.path.join(CONFIG_DIR, name), preset).to_json())
  return [f"--config.{k}={b!r}" if isinstance(b, float) else f"--config.{k}={b}"
          for k, (_, b) in train.config_changes(shipped, json.loads(config.to_json())).items()]


@pytest.fixture(scope="module")
def small_datasets(small_mnist, tmp_path_factory):
  """``npy:`` datasets the CLI runs read: real MNIST (conftest's ``small_mnist``; Fashion-MNIST
  has its shape) and, for the data that cannot be had here (CelebA, LSUN), random images of the
  shape and number a config needs. (dataset, example shape, batch size) -> ``npy:`` a folder of train.npy, test.npy."""
  made = {}

  def folder(dataset, shape, batch_size):
    if dataset in ("mnist", "fashion_mnist"):
      return small_mnist
    key = (shape, batch_size)
    if key not in made:
      made[key] = tmp_path_factory.mktemp("npy")
      train_images = np.random.default_rng(0).integers(0, 256, (max(64, batch_size), *shape), dtype=np.uint8)
      np.save(made[key] / "train.npy", train_images)
      np.save(made[key] / "test.npy", train_images[:64])
    return "npy:" + str(made[key])
  return folder


def _second_stage(config, request):
  """Points a second stage's config at a frozen first stage of the same data (in place); returns the
  config with that first stage recorded (``methods.prepare_config``, as ``ltot train`` does)."""
  for section in ("ot_gen", "ae_ot"):
    if section in config and config.dataset not in data.TOY_SETS:
      config[section].autoencoder = request.getfixturevalue("first_stages")[config.dataset]
  return methods.prepare_config(config)


@pytest.mark.slow
@pytest.mark.parametrize("name,preset", API_CASES)
def test_config_trains_and_checkpoints(name, preset, mnist, tmp_path, request):
  config = _second_stage(_shrunk(name, preset), request)
  method = methods.build(config, steps_per_epoch=8)
  images = _images(config, mnist, method.data_shapes[-1])
  result = train.train(method, images, config, str(tmp_path), progress=False)
  assert result.step == 2 and os.listdir(os.path.join(tmp_path, "checkpoints")) == ["2"]
  step, restored = train.restore_run(str(tmp_path), result.state)  # the checkpoint is the final state
  assert step == 2
  for a, b in zip(jax.tree.leaves(result.state), jax.tree.leaves(restored)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
@pytest.mark.parametrize("name,preset", CLI_CASES)
def test_config_trains_evaluates_and_samples_through_the_cli(name, preset, tmp_path, request, small_datasets):
  """The user's path: ``ltot train`` of the shipped preset (shrunk by --config overrides, its image
  dataset swapped for a small ``npy:`` one of the same shape), then ``ltot eval`` and ``ltot sample``
  of the run directory it wrote."""
  config = _shrunk(name, preset)
  config.num_fid_samples = 0
  prepared = _second_stage(config, request)
  if config.dataset not in data.TOY_SETS:
    method = methods.build(prepared, steps_per_epoch=8)
    shape = method.data_shapes[-1]  # images: an autoencoder's, a latent map's first stage's, a generator's
    config.dataset = small_datasets(config.dataset, shape, config.batch_size)
  run = tmp_path / "run"
  assert cli.run(["ltot", "train", f"--config={os.path.join(CONFIG_DIR, name)}:{preset}",
                  *_overrides(name, preset, config), f"--workdir={run}"]) == 0
  assert os.listdir(run / "checkpoints") == ["2"] and json.load(open(run / "metrics.json"))["step"] == 2
  assert cli.run(["ltot", "eval", f"--workdir={run}", "--num_samples=0"]) == 0
  assert json.load(open(run / "eval" / "metrics.json"))["step"] == 2
  assert cli.run(["ltot", "sample", f"--workdir={run}", "--num=3", f"--out={tmp_path / 's.npy'}"]) == 0
  samples = np.load(tmp_path / "s.npy")
  assert len(samples) == 3 and np.all(np.isfinite(samples))
