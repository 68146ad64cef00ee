import numpy as np
import pytest
import scipy.linalg
from scipy.stats import entropy

from ltot.metrics import FeatureStatistics, class_histogram, frechet_distance, inception_score, mode_kl


def reference_fid(a, b):
  """The usual implementation (pytorch-fid's calculate_frechet_distance) in NumPy/SciPy."""
  mu1, mu2 = a.mean(0), b.mean(0)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2)
  if not np.isfinite(covmean).all():
    off = np.eye(s1.shape[0]) * 1e-6
    covmean = scipy.linalg.sqrtm((s1 + off) @ (s2 + off))
  covmean = np.real(covmean)
  return (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def test_fid_equals_scipy_reference_full_rank():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(400, 16))
  b = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16)) * 0.5 + 0.3
  np.testing.assert_allclose(frechet_distance(a, b), reference_fid(a, b), rtol=1e-3)


@pytest.mark.parametrize("n,rank", [(12, 11), (200, 5)])
def test_fid_equals_scipy_reference_rank_deficient(n, rank):
  # n < k gives covariances of rank n - 1; a low-dimensional subspace gives rank `rank`.
  rng = np.random.default_rng(rank)
  k = 32
  basis = rng.normal(size=(rank, k))
  a = rng.normal(size=(n, rank)) @ basis
  b = rng.normal(size=(n, rank)) @ basis * 1.3 + 0.1
  got, want = frechet_distance(a, b), reference_fid(a, b)
  np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.trace(np.cov(a, rowvar=False)))


def test_fid_zero_for_identical_sets_and_symmetric():
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=(100, 8)), rng.normal(size=(80, 8))
  assert abs(frechet_distance(a, a)) < 1e-9 * np.trace(np.cov(a, rowvar=False))
  np.testing.assert_allclose(frechet_distance(a, b), frechet_distance(b, a), rtol=1e-9)


def test_fid_gaussian_closed_form():
  # Two isotropic Gaussians: |mu|^2 + k (s1 - s2)^2 for standard deviations s1, s2 (large samples).
  rng = np.random.default_rng(2)
  a = rng.normal(size=(200_000, 4))
  b = 2.0 * rng.normal(size=(200_000, 4)) + 1.0
  np.testing.assert_allclose(frechet_distance(a, b), 4 * 1.0 + 4 * (2.0 - 1.0) ** 2, rtol=0.02)


def test_streaming_statistics_equal_one_pass():
  rng = np.random.default_rng(3)
  f = rng.normal(size=(1000, 6)) * 100 + 1e4  # large offset: the naive sum-of-squares would cancel
  stats = FeatureStatistics.of(f[:7])
  for start in range(7, 1000, 123):
    stats = stats.merge(FeatureStatistics.of(f[start:start + 123]))
  assert stats.count == 1000
  np.testing.assert_allclose(stats.mean, f.mean(0), rtol=1e-12)
  np.testing.assert_allclose(stats.covariance, np.cov(f, rowvar=False), rtol=1e-9)
  g = rng.normal(size=(500, 6))
  np.testing.assert_allclose(frechet_distance(stats, g), frechet_distance(f, g), rtol=1e-9)


def test_fid_errors():
  with pytest.raises(ValueError, match="different sizes"):
    frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
  with pytest.raises(ValueError, match="NaN"):
    frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))
  with pytest.raises(ValueError, match="at least 2"):
    frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
  with pytest.raises(ValueError, match=r"\[n >= 1, k\]"):
    frechet_distance(np.zeros(3), np.zeros((5, 3)))


def test_inception_score_bounds_and_reference():
  n, c = 1000, 10
  # Uniform predictions: score 1. Confident, balanced predictions: score c.
  assert inception_score(np.zeros((n, c)))[0] == pytest.approx(1.0)
  confident = 50.0 * np.eye(c)[np.arange(n) % c]
  assert inception_score(confident)[0] == pytest.approx(c, rel=1e-6)
  # Confident but one class only: score 1 (no diversity).
  assert inception_score(50.0 * np.eye(c)[np.zeros(n, int)])[0] == pytest.approx(1.0, abs=1e-6)
  # Random logits: equals the definition written with scipy.stats.entropy, split by split.
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(n, c)) * 3
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  want = [np.exp(np.mean([entropy(row, part.mean(0)) for row in part])) for part in np.array_split(p, 5)]
  got = inception_score(logits, splits=5)
  np.testing.assert_allclose(got, (np.mean(want), np.std(want)), rtol=1e-9)


def test_inception_score_errors():
  with pytest.raises(ValueError, match="splits"):
    inception_score(np.zeros((5, 3)), splits=6)
  with pytest.raises(ValueError, match="NaN"):
    inception_score(np.full((5, 3), np.inf), splits=1)


def test_mode_histogram_and_kl():
  data = class_histogram(np.arange(1000) % 10, 10)
  np.testing.assert_allclose(data, 0.1)
  same = class_histogram(np.arange(500) % 10, 10)
  assert mode_kl(same, data, 500) < 1e-3
  missing = class_histogram(np.arange(500) % 9, 10)  # class 9 never generated
  skewed = class_histogram(np.r_[np.arange(450) % 10, np.zeros(50, int)], 10)
  assert mode_kl(missing, data, 500) > mode_kl(skewed, data, 500) > mode_kl(same, data, 500)
  with pytest.raises(ValueError, match=r"\[0, 10\)"):
    class_histogram(np.array([0, 10]), 10)
