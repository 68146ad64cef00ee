"""Feature-space scores over any feature network: FID, Inception Score, mode coverage.

All statistics are kept in float64 on the host (NumPy): FID's matrix square root
is ill-conditioned in float32 for the rank-deficient covariances that small
feature sets give. ``FeatureStatistics`` is streaming (Chan et al.'s pairwise
update of the mean and the centred second moment), so 50k samples are reduced
chunk by chunk and never held at once.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import log_softmax

__all__ = ["FeatureStatistics", "frechet_distance", "inception_score", "class_histogram", "mode_kl"]


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
  """Count, mean [k] and centred sum of outer products [k, k] of a feature set (float64).

  ``FeatureStatistics.of(feats)`` for an array [n, k]; ``a.merge(b)`` combines two
  disjoint sets exactly (up to float64 rounding), so any chunking gives the same result.
  """

  count: int
  mean: np.ndarray
  scatter: np.ndarray

  @staticmethod
  def of(feats) -> "FeatureStatistics":
    f = np.asarray(feats, np.float64)
    if f.ndim != 2 or f.shape[0] < 1:
      raise ValueError(f"features must have shape [n >= 1, k], got {f.shape}")
    if not np.all(np.isfinite(f)):
      raise ValueError("features contain NaN or Inf")
    mean = f.mean(axis=0)
    centred = f - mean
    return FeatureStatistics(f.shape[0], mean, centred.T @ centred)

  def merge(self, other: "FeatureStatistics") -> "FeatureStatistics":
    if self.mean.shape != other.mean.shape:
      raise ValueError(f"cannot merge statistics of {self.mean.shape[0]} and {other.mean.shape[0]} features")
    n = self.count + other.count
    delta = other.mean - self.mean
    mean = self.mean + delta * (other.count / n)
    scatter = self.scatter + other.scatter + np.outer(delta, delta) * (self.count * other.count / n)
    return FeatureStatistics(n, mean, scatter)

  @property
  def covariance(self) -> np.ndarray:
    """Unbiased covariance [k, k] (divides by n - 1, as ``numpy.cov`` and the standard FID code)."""
    if self.count < 2:
      raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
    return self.scatter / (self.count - 1)


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
  """Symmetric square root of a symmetric PSD matrix (negative rounding-level eigenvalues -> 0)."""
  w, v = np.linalg.eigh((a + a.T) / 2)
  return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(feats_a, feats_b) -> float:
  """Fréchet distance between Gaussians fitted to two feature sets (FID when the features are Inception's).

  d = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)), with
  tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)) computed from two symmetric
  eigendecompositions: exact for singular (rank-deficient) covariances, where the
  general ``sqrtm(S_a S_b)`` of the usual implementations needs an epsilon.

  Args:
    feats_a, feats_b: arrays [n, k] (n >= 2) or ``FeatureStatistics`` of k features.
  Returns:
    the distance as a Python float (>= 0 up to rounding).

  Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(20_000, 2))
    >>> round(frechet_distance(a, a + [2.0, 0.0]), 2)  # a mean shift of 2: 4
    4.0
  """
  a = feats_a if isinstance(feats_a, FeatureStatistics) else FeatureStatistics.of(feats_a)
  b = feats_b if isinstance(feats_b, FeatureStatistics) else FeatureStatistics.of(feats_b)
  if a.mean.shape != b.mean.shape:
    raise ValueError(f"feature sets have different sizes: {a.mean.shape[0]} and {b.mean.shape[0]}")
  sa, sb = a.covariance, b.covariance
  root_a = _psd_sqrt(sa)
  inner = root_a @ sb @ root_a
  cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)))
  diff = a.mean - b.mean
  return float(diff @ diff + np.trace(sa) + np.trace(sb) - 2 * cross)


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
  """Inception Score exp(E_x KL(p(y|x) || p(y))) of class logits [n, c] (Salimans et al., 2016).

  As in the standard implementation, the n samples are cut into ``splits`` contiguous
  parts, the score is computed in each (p(y) = the part's mean prediction) and the
  mean and standard deviation over parts are returned. Works in float64 from
  log-softmax, so confident predictions do not underflow.

  Example:
    >>> import numpy as np
    >>> mean, std = inception_score(np.eye(10)[np.arange(1000) % 10] * 50.0, splits=1)
    >>> round(mean, 2), std  # confident and balanced over 10 classes: 10
    (10.0, 0.0)
  """
  logp = np.asarray(logits, np.float64)
  if logp.ndim != 2 or logp.shape[1] < 2:
    raise ValueError(f"logits must have shape [n, c >= 2], got {logp.shape}")
  if not isinstance(splits, int) or not 1 <= splits <= logp.shape[0]:
    raise ValueError(f"splits must be an integer in [1, n={logp.shape[0]}], got {splits!r}")
  if not np.all(np.isfinite(logp)):
    raise ValueError("logits contain NaN or Inf")
  logp = log_softmax(logp, axis=1)
  scores = []
  for part in np.array_split(logp, splits):
    p = np.exp(part)
    log_marginal = np.log(p.mean(axis=0))
    scores.append(np.exp(np.mean(np.sum(p * (part - log_marginal), axis=1))))
  return float(np.mean(scores)), float(np.std(scores))


def class_histogram(labels, num_classes: int) -> np.ndarray:
  """Fraction of ``labels`` [n] (ints in [0, num_classes)) in each class: float64 [num_classes].

  Example:
    >>> import numpy as np
    >>> class_histogram(np.array([0, 1, 1, 3]), 4).tolist()
    [0.25, 0.5, 0.0, 0.25]
  """
  labels = np.asarray(labels)
  if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be a non-empty integer array [n], got {labels.dtype} {labels.shape}")
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f"labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
  return np.bincount(labels, minlength=num_classes) / labels.size


def mode_kl(generated_hist, data_hist, num_generated: int) -> float:
  """KL(data || generated) between class histograms: large when generated samples miss a mode.

  The generated histogram is smoothed with half a count per class (Jeffreys prior) so a
  missing class gives a large finite value, log(p_data * 2 num_generated) per unit of
  data mass, rather than infinity; 0 means the same class proportions.

  Example:
    >>> import numpy as np
    >>> data = np.full(4, 0.25)
    >>> round(mode_kl(data, data, 1000), 4), mode_kl(np.array([0.5, 0.5, 0.0, 0.0]), data, 1000) > 1
    (0.0, True)
  """
  q, p = np.asarray(generated_hist, np.float64), np.asarray(data_hist, np.float64)
  if q.shape != p.shape or q.ndim != 1:
    raise ValueError(f"histograms must be 1-D of equal length, got {q.shape} and {p.shape}")
  q = (q * num_generated + 0.5) / (num_generated + 0.5 * q.size)
  mask = p > 0
  return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
