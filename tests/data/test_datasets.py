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


@pytest.fixture
def mnist_copy(mnist, tmp_path):
  """A TFDS data folder holding a copy of prepared MNIST's test split (no decoded arrays yet)."""
  import shutil
  from ltot.data import datasets
  source = datasets._builder(datasets.DATASETS["mnist"], data.default_data_dir()).data_dir
  target = tmp_path / os.path.relpath(source, data.default_data_dir())
  target.mkdir(parents=True)
  for f in os.listdir(source):
    if f.endswith(".json") or "-test." in f:
      shutil.copy(os.path.join(source, f), target / f)
  return tmp_path, target


def _read(data_dir, limit=None):
  """``data.load`` of MNIST's test split without the in-process cache."""
  from ltot.data import datasets
  return datasets._read("mnist", "test", data_dir=str(data_dir), download=False, limit=limit)


def _decoded_files(folder):
  return sorted(f for f in os.listdir(folder) if f.startswith("ltot-decoded-"))


def test_a_decoded_split_is_kept_and_read_back_bitwise(mnist, mnist_copy, monkeypatch):
  from ltot.data import datasets
  data_dir, folder = mnist_copy
  assert _read(data_dir, limit=5).images.shape == (5, 28, 28, 1) and _decoded_files(folder) == []  # a part is not kept
  first = _read(data_dir)
  np.testing.assert_array_equal(first.images, mnist["test"].images)
  np.testing.assert_array_equal(first.labels, mnist["test"].labels)
  assert _decoded_files(folder) == ["ltot-decoded-v1-test-images.npy", "ltot-decoded-v1-test-labels.npy"]
  decoded = []
  real_decode = datasets._decode
  monkeypatch.setattr(datasets, "_decode", lambda s, spec, idx: decoded.append(len(list(idx))) or real_decode(s, spec, idx))
  again, part = _read(data_dir), _read(data_dir, limit=7)
  assert decoded == [2, 2]  # only the first and last records, to check the arrays against
  np.testing.assert_array_equal(again.images, first.images)
  np.testing.assert_array_equal(again.labels, first.labels)
  np.testing.assert_array_equal(part.images, first.images[:7])
  assert not again.images.flags.writeable and type(again.images) is np.ndarray


def test_damaged_or_stale_decoded_arrays_are_decoded_again(mnist, mnist_copy):
  data_dir, folder = mnist_copy
  expected = _read(data_dir)
  images_file = folder / "ltot-decoded-v1-test-images.npy"
  size = os.path.getsize(images_file)
  with open(images_file, "r+b") as f:  # cut short, as by a full disk
    f.truncate(size // 2)
  np.testing.assert_array_equal(_read(data_dir).images, expected.images)
  assert os.path.getsize(images_file) == size  # written again
  stale = np.array(expected.images)
  stale[-1] = 255 - stale[-1]  # as if decoded by another transform
  np.save(images_file, stale)
  np.testing.assert_array_equal(_read(data_dir).images, expected.images)
  np.save(folder / "ltot-decoded-v1-test-labels.npy", expected.labels[:100])  # another length
  np.testing.assert_array_equal(_read(data_dir).labels, expected.labels)
  assert np.load(folder / "ltot-decoded-v1-test-labels.npy").shape == (10000,)


def test_a_data_folder_that_cannot_be_written_goes_without_decoded_arrays(mnist, mnist_copy, monkeypatch):
  import tempfile
  data_dir, folder = mnist_copy

  def refuse(*args, **kwargs):
    raise PermissionError("read-only file system")
  monkeypatch.setattr(tempfile, "mkstemp", refuse)
  np.testing.assert_array_equal(_read(data_dir).images, mnist["test"].images)
  assert _decoded_files(folder) == []
