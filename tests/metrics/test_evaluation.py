"""generator_scores against real images under the shipped MNIST classifier."""

import jax
import numpy as np
import pytest

from ltot.metrics import classifier
from ltot.metrics.evaluation import generator_scores


@pytest.fixture(scope="module")
def clf():
  return classifier.load("mnist")


def _from(pool):
  """A 'generator' that draws images (as [0, 1] floats) from ``pool``."""
  def generate(rng, n):
    idx = np.asarray(jax.random.choice(rng, len(pool), (n,), replace=False))
    return pool[idx].astype(np.float32) / 255.0
  return generate


@pytest.mark.slow
def test_real_images_score_like_real_images(mnist, clf):
  test = mnist["test"].images[:2000]
  real = generator_scores(_from(mnist["train"].images[:5000]), jax.random.key(0), 2000, test, clf,
                          num_wasserstein=200)
  # FID of two finite samples of one distribution is not 0 (its bias shrinks like 1/n): 2,000 vs 2,000
  # real images sit far below a generator that only makes zeros and ones (checked below).
  assert real["mode_kl"] < 0.01
  assert real["inception_score"] == pytest.approx(real["real_inception_score"], rel=0.05)
  assert real["real_inception_score"] > 9 and len(real["class_histogram"]) == 10
  # Only zeros and ones: the class histogram and FID say so.
  labels = mnist["train"].labels[:5000]
  two = generator_scores(_from(mnist["train"].images[:5000][labels <= 1]), jax.random.key(0), 1000, test, clf,
                         num_wasserstein=200)
  assert two["mode_kl"] > 1.0 and two["fid"] > 10 * real["fid"] and two["inception_score"] < 2.5
  assert sum(two["class_histogram"][2:]) < 0.02
  # Blank images are far from digits in exact W1 as well.
  blank = generator_scores(lambda rng, n: np.zeros((n, 28, 28, 1), np.float32), jax.random.key(0), 200, test,
                           clf, num_wasserstein=200)
  assert blank["w1_l1"] > real["w1_l1"]


def test_errors(mnist, clf):
  test = mnist["test"].images[:100]
  with pytest.raises(ValueError, match="num_wasserstein"):
    generator_scores(_from(test), jax.random.key(0), 50, test, clf, num_wasserstein=60)
  with pytest.raises(FloatingPointError, match="NaN"):
    generator_scores(lambda rng, n: np.full((n, 28, 28, 1), np.nan, np.float32), jax.random.key(0), 20, test, clf,
                     num_wasserstein=0)
