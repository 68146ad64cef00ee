"""The shipped MNIST / Fashion-MNIST classifiers: accuracy on the real test splits, checksums, training."""

import json
import shutil

import numpy as np
import pytest

from ltot import data
from ltot.metrics import classifier, frechet_distance


@pytest.fixture(scope="module")
def mnist_classifier():
  return classifier.load("mnist")


def test_shipped_mnist_classifier_accuracy(mnist, mnist_classifier):
  assert mnist_classifier.accuracy(mnist["test"].images, mnist["test"].labels) >= 0.99


def test_shipped_fashion_classifier_accuracy():
  try:
    test = data.load("fashion_mnist", "test")
  except data.MissingDataError as e:
    pytest.skip(f"Fashion-MNIST is not installed here: {e}")
  assert classifier.load("fashion_mnist").accuracy(test.images, test.labels) >= 0.90


def test_manifest_records_how_weights_were_made():
  manifest = json.load(open(f"{classifier.WEIGHTS_DIR}/{classifier.MANIFEST}"))
  for name in classifier.CLASSIFIERS:
    entry = manifest[name]
    assert len(entry["sha256"]) == 64 and entry["seed"] == 0 and "experiments.reproduce.classifiers" in entry["command"]


def test_fid_grows_with_noise(mnist, mnist_classifier):
  # FID under the shipped features is monotone in the amount of noise added to real test images.
  images = mnist["test"].images[:2000].astype(np.float32) / 255.0
  ref, _ = mnist_classifier(mnist["train"].images[:2000])
  rng = np.random.default_rng(0)
  noise = rng.normal(size=images.shape).astype(np.float32)
  fids = [frechet_distance(mnist_classifier(np.clip(images + s * noise, 0, 1))[0], ref)
          for s in (0.0, 0.1, 0.2, 0.4, 0.8)]
  assert all(a < b for a, b in zip(fids, fids[1:])), fids


def test_tampered_weights_are_refused(tmp_path):
  weights = tmp_path / "weights"
  shutil.copytree(classifier.WEIGHTS_DIR, weights)
  path = weights / "mnist_lenet.msgpack"
  raw = bytearray(path.read_bytes())
  raw[len(raw) // 2] ^= 0x01  # one flipped bit in the middle of a weight
  path.write_bytes(bytes(raw))
  with pytest.raises(ValueError, match="SHA-256 .* corrupted or was modified"):
    classifier.load("mnist", weights_dir=str(weights))
  path.unlink()
  with pytest.raises(FileNotFoundError, match="missing"):
    classifier.load("mnist", weights_dir=str(weights))
  with pytest.raises(ValueError, match="no shipped classifier"):
    classifier.load("cifar10")


def test_shape_check(mnist_classifier):
  with pytest.raises(ValueError, match=r"\[N, 28, 28, 1\]"):
    mnist_classifier(np.zeros((2, 32, 32, 3), np.float32))


@pytest.mark.slow
def test_training_learns_and_is_deterministic(mnist):
  train, test = mnist["train"], mnist["test"]
  a = classifier.train_classifier(train.images[:2560], train.labels[:2560], seed=3, epochs=1)
  b = classifier.train_classifier(train.images[:2560], train.labels[:2560], seed=3, epochs=1)
  np.testing.assert_array_equal(a["Dense_1"]["kernel"], b["Dense_1"]["kernel"])
  clf = classifier.Classifier("mnist", a)
  assert clf.accuracy(test.images[:1000], test.labels[:1000]) > 0.7  # 20 Adam steps; chance is 0.1
