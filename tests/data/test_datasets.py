import os

import numpy as np
import pytest

from ltot import data


def test_real_mnist_official_split(mnist):
  train, test = mnist["train"], mnist["test"]
  assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
  assert train.images.dtype == np.uint8 and train.images.max() == 255 and train.images.min() == 0
  assert list(test.labels[:5]) == [7, 2, 1, 0, 4]
  assert list(train.labels[:5]) == [5, 0, 4, 1, 9]
  # Class counts of the official training split (LeCun's MNIST).
  assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist():
  test = data.load("fashion_mnist", "test")
  assert test.images.shape == (10000, 28, 28, 1)
  assert np.bincount(test.labels).tolist() == [1000] * 10


def test_unknown_dataset_and_split():
  with pytest.raises(ValueError, match="unknown dataset"):
    data.load("mnsit", "train")
  with pytest.raises(ValueError, match="no split 'validation'"):
    data.load("mnist", "validation")


def test_unprepared_tfds_dataset_says_how(tmp_path):
  with pytest.raises(data.MissingDataError, match="cifar10.*download_and_prepare"):
    data.load("cifar10", "train", data_dir=str(tmp_path), download=False)


def test_center_crop_resize_celeba_geometry():
  image = np.zeros((218, 178, 3), np.uint8)
  image[39:179, 19:159] = 255  # exactly the 140x140 centre
  out = data.center_crop_resize(image, 140, 64)
  assert out.shape == (64, 64, 3) and out.min() == 255
  with pytest.raises(ValueError, match="larger than the image"):
    data.center_crop_resize(image, 200, 64)
  assert data.center_crop_resize(np.zeros((30, 50, 1), np.uint8), None, 8).shape == (8, 8, 1)


def test_check_images():
  data.check_images(np.zeros((2, 3)))
  with pytest.raises(ValueError, match="NaN"):
    data.check_images(np.array([0.0, np.nan]))
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    data.check_images(np.array([0.0, 255.0]))


@pytest.mark.slow
def test_num_train_keeps_the_first_training_images(mnist):
  import ml_collections
  config = ml_collections.ConfigDict(dict(dataset="mnist", num_train=7))
  np.testing.assert_array_equal(data.load_split(config, "train").images, mnist["train"].images[:7])
  assert len(data.load_split(config, "test")) == 10_000  # the test split stays whole
  config.num_train = 0
  assert len(data.load_split(config, "train")) == 60_000
  config.num_train = 60_001
  with pytest.raises(ValueError, match="num_train=60001 but the mnist train split has 60000 examples"):
    data.load_split(config, "train")
