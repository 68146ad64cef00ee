"""Maximum mean discrepancy, the unbiased U-statistic of WAE Algorithm 2."""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp

from ltot._checks import check_points, check_same_dim
from ltot._distances import pairwise_sq_dists

__all__ = ["mmd", "pairwise_sq_dists"]


def _kernel(sq: jnp.ndarray, kernel: str, scales: jnp.ndarray) -> jnp.ndarray:
  s = scales[:, None, None]
  if kernel == "imq":
    return jnp.sum(s / (s + sq[None]), axis=0)
  return jnp.sum(jnp.exp(-sq[None] / s), axis=0)


def mmd(x: jnp.ndarray, y: jnp.ndarray, *, rng=None, kernel: str = "imq",
        scale: float | Sequence[float] | None = None) -> jnp.ndarray:
  """Unbiased estimate of MMD_k^2 between the samples x [n, d] and y [m, d].

  (1/(n(n-1))) sum_{l!=j} k(x_l, x_j) + (1/(m(m-1))) sum_{l!=j} k(y_l, y_j)
  - (2/(nm)) sum_{l,j} k(x_l, y_j), as in WAE Algorithm 2 (there n = m).

  Args:
    x: samples [n, d], n >= 2 (e.g. encoded codes).
    y: samples [m, d], m >= 2 (e.g. prior draws).
    rng: unused (the estimator is deterministic); accepted so every
      ``ltot.discrepancy`` estimator has the same signature.
    kernel: ``"imq"``, k(a, b) = C / (C + |a - b|^2), or ``"rbf"``,
      k(a, b) = exp(-|a - b|^2 / C).
    scale: C, or a sequence of C's whose kernels are summed (multi-scale). Default
      2 * d, the WAE choice C = 2 d sigma_z^2 for a unit-variance prior.

  Returns:
    A scalar (it can be slightly negative: the estimator is unbiased).

  Example:
    >>> import jax
    >>> x, y = jax.random.normal(jax.random.key(0), (2, 500, 2))
    >>> near = mmd(x, y, scale=4.0)  # C = 2 d for the IMQ kernel
    >>> far = mmd(x, y + 3.0, scale=4.0)
    >>> abs(float(near)) < 0.01 < float(far)
    True
  """
  del rng
  x, y = jnp.asarray(x), jnp.asarray(y)
  check_points("x", x, min_points=2)
  check_points("y", y, min_points=2)
  check_same_dim("x", x, "y", y)
  if kernel not in ("imq", "rbf"):
    raise ValueError(f"kernel must be 'imq' or 'rbf', got {kernel!r}")
  n, m, d = x.shape[0], y.shape[0], x.shape[1]
  scales = jnp.atleast_1d(jnp.asarray(2.0 * d if scale is None else scale, x.dtype))
  if scales.ndim != 1 or scales.size == 0:
    raise ValueError(f"scale must be a number or a non-empty sequence, got {scale!r}")
  kxx = _kernel(pairwise_sq_dists(x, x), kernel, scales)
  kyy = _kernel(pairwise_sq_dists(y, y), kernel, scales)
  kxy = _kernel(pairwise_sq_dists(x, y), kernel, scales)
  off_xx = jnp.sum(kxx) - jnp.sum(jnp.diagonal(kxx))
  off_yy = jnp.sum(kyy) - jnp.sum(jnp.diagonal(kyy))
  return off_xx / (n * (n - 1)) + off_yy / (m * (m - 1)) - 2.0 * jnp.sum(kxy) / (n * m)
