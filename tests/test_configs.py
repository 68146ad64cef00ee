"""Every experiments/configs file and preset builds its method, trains a few steps and checkpoints."""

import glob
import importlib.util
import json
import os

import jax
import numpy as np
import pytest

from ltot import data, methods, train
from ltot.cli import validate_config
from ltot.methods.latent import LatentMap

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs")


def _load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module




def _images(config, mnist, shape):
  if config.dataset in ("mnist", "fashion_mnist"):  # Fashion-MNIST has MNIST's shape
    return mnist["train"].images[:1000]
  # CelebA / LSUN cannot be had here: synthetic images of their shape
  return np.random.default_rng(0).integers(0, 256, (max(64, config.batch_size), *shape), dtype=np.uint8)


def _shrink(config):
  config.batch_size, config.num_steps, config.checkpoint_every, config.eval_every = 8, 2, 2, 0
  config.num_devices = 1
  if "model" in config:
    config.model.width = 1 / 32
  if "twae" in config:  # keep the tessellation, shrink the regions to 4 points and the CVT fit
    config.batch_size = 4 * config.twae.num_regions
    config.twae.cvt_samples, config.twae.cvt_iters = 20 * config.twae.num_regions, 3
  if "ot_gen" in config:
    config.ot_gen.num_pairs = 64
  if "ots_fit" in config:  # one OTS and one FIT step
    config.ots_fit.ots_steps = config.ots_fit.fit_steps = 1


PRESETS = [(os.path.basename(p), preset) for p in sorted(glob.glob(os.path.join(CONFIG_DIR, "*.py")))
           for preset in getattr(_load(p), "PRESETS", ("cpu", "paper"))]
# Keys that cannot change a 2-step run once shrunk (logging, evaluation, the lr schedule's epochs).
_INERT = ("eval_every", "log_every", "max_checkpoints", "num_fid_samples", "num_eval_examples")


def _shrunk(name, preset):
  config = _load(os.path.join(CONFIG_DIR, name)).get_config(preset)
  _shrink(config)
  return config


def _training_key(config) -> str:
  d = json.loads(config.to_json())
  for key in _INERT:
    d.pop(key, None)
  d.get("optim", {}).pop("decay_epochs", None)
  return json.dumps(d, sort_keys=True)


# One training per distinct shrunk config: "cpu" and "paper" presets that differ only in size
# (width, batch, steps) become the same 2-step run; test_every_preset_is_valid covers them all.
_FIRST: dict[str, tuple[str, str]] = {}  # training key -> the first preset with it
for _case in PRESETS:
  _FIRST.setdefault(_training_key(_shrunk(*_case)), _case)
CASES = list(_FIRST.values())


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
    config = _load(os.path.join(CONFIG_DIR, name)).get_config(preset)
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
  config = _load(os.path.join(CONFIG_DIR, name)).get_config(preset)
  if config.dataset not in data.TOY_SETS:  # the toys are trained through the Python API, not `ltot train`
    validate_config(config)  # raises on a bad key or value


@pytest.mark.parametrize("name,preset", CASES)
def test_config_trains_and_checkpoints(name, preset, mnist, tmp_path, request):
  config = _shrunk(name, preset)
  if config.dataset in data.TOY_SETS:  # 2-D toys: trained through the Python API by their script
    arrays = {"x": data.TOY_SETS[config.dataset](np.random.default_rng(0), 64)}
  else:
    validate_config(config)
    for section in ("ot_gen", "ae_ot"):  # second stages: on a frozen first stage of the same data
      if section in config:
        config[section].autoencoder = request.getfixturevalue("first_stages")[config.dataset]
    arrays = None
  method = methods.build(config, steps_per_epoch=8)
  if arrays is None and config.method == "ots_fit":  # a generator alone: no autoencoder to take a shape from
    arrays = _images(config, mnist, None)
  elif arrays is None:
    first_stage = method.autoencoder.method if isinstance(method, LatentMap) else method
    arrays = _images(config, mnist, first_stage.autoencoder.image_shape)
  result = train.train(method, arrays, config, str(tmp_path), progress=False)
  assert result.step == 2 and os.listdir(os.path.join(tmp_path, "checkpoints"))
  assert jax.tree.leaves(result.state)
