"""Pairwise distances shared by the primitives and the methods (ot, discrepancy, tessellation, methods)."""

from __future__ import annotations

import jax.numpy as jnp


def pairwise_sq_dists(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """|x_i - y_j|^2 for x [n, d], y [m, d] -> [n, m], in matmul form, clipped at 0.

  Example:
    >>> import jax.numpy as jnp
    >>> pairwise_sq_dists(jnp.array([[0.0, 0.0], [1.0, 1.0]]), jnp.array([[3.0, 4.0]])).tolist()
    [[25.0], [13.0]]
  """
  d = jnp.sum(x * x, -1)[:, None] + jnp.sum(y * y, -1)[None, :] - 2.0 * x @ y.T
  return jnp.maximum(d, 0.0)


def safe_sqrt(sq: jnp.ndarray) -> jnp.ndarray:
  """sqrt of non-negative ``sq`` with a zero (not infinite/NaN) gradient where sq == 0."""
  positive = sq > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)
