"""Every experiments/configs file and preset builds its method, trains a few steps and checkpoints."""

import glob
import importlib.util
import os

import jax
import numpy as np
import pytest

from ltot import methods, train
from ltot.cli import validate_config

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs")


def _load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


CASES = [(os.path.basename(p), preset) for p in sorted(glob.glob(os.path.join(CONFIG_DIR, "*.py")))
         for preset in getattr(_load(p), "PRESETS", ("cpu", "paper"))]


@pytest.mark.parametrize("name,preset", CASES)
def test_config_trains_and_checkpoints(name, preset, mnist, tmp_path):
  config = _load(os.path.join(CONFIG_DIR, name)).get_config(preset)
  validate_config(config)
  # Tiny sizes, everything else as configured.
  config.model.width = 1 / 32
  config.batch_size, config.num_steps, config.checkpoint_every, config.eval_every = 8, 2, 2, 0
  config.num_devices = 1
  if "twae" in config:  # keep the tessellation, shrink the regions to 4 points and the CVT fit
    config.batch_size = 4 * config.twae.num_regions
    config.twae.cvt_samples, config.twae.cvt_iters = 20 * config.twae.num_regions, 3
  method = methods.build(config, steps_per_epoch=8)
  if config.dataset == "mnist":
    images = mnist["train"].images[:1000]
  else:  # CelebA / LSUN cannot be had here: synthetic images of their shape
    images = np.random.default_rng(0).integers(0, 256, (max(64, config.batch_size), *method.autoencoder.image_shape),
                                               dtype=np.uint8)
  result = train.train(method, images, config, str(tmp_path), progress=False)
  assert result.step == 2 and os.listdir(os.path.join(tmp_path, "checkpoints"))
  assert jax.tree.leaves(result.state.params)
