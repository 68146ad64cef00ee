"""The one data check at the library boundary (``ltot.train.train``): clear errors before any step."""

import numpy as np
import pytest

from ltot import configs, data, methods, train


def _train(config, arrays, tmp_path):
  return train.train(methods.build(config, steps_per_epoch=1), arrays, config, str(tmp_path), progress=False)


@pytest.fixture
def wae_config():
  config = configs.base("cpu", method="wae")
  config.wae = configs.wae_section()
  config.num_devices, config.num_steps, config.batch_size = 1, 1, 8
  return config


@pytest.mark.parametrize("images,message", [
    (np.zeros((16, 32, 32, 3), np.uint8), "examples of shape 32x32x3, but this method takes 28x28x1"),
    (np.zeros((16, 28, 28), np.uint8), r"must be images \[N, H, W, C\] or points \[N, d\]"),
    (np.full((16, 28, 28, 1), 200.0, np.float32), r"must lie in \[0, 1\].*pass them as uint8, or divide by 255"),
    (np.full((16, 28, 28, 1), np.nan, np.float32), "NaN or Inf"),
    (np.zeros((16, 28, 28, 1), np.int64), "must be uint8 images or floats"),
])
def test_bad_images_are_named_before_training(wae_config, tmp_path, images, message):
  with pytest.raises(data.DataError, match=message):
    _train(wae_config, images, tmp_path)
  assert not (tmp_path / "checkpoints").exists()


def test_points_of_the_wrong_dimension_and_missing_key(tmp_path):
  config = configs.latent_ot_toy("otgen-moons")
  config.num_steps = 1
  with pytest.raises(data.DataError, match="examples of shape 3, but this method takes 2"):
    _train(config, {"x": np.zeros((256, 3), np.float32)}, tmp_path)
  with pytest.raises(data.DataError, match="the key 'x'"):
    _train(config, {"points": np.zeros((256, 2), np.float32)}, tmp_path / "b")
  ring = configs.ots_fit("ots_fit-ring")
  ring.num_steps = 1
  with pytest.raises(data.DataError, match="examples of shape 28x28x1, but this method takes 2"):
    _train(ring, np.zeros((64, 28, 28, 1), np.uint8), tmp_path / "c")
