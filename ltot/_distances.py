"""Pairwise distances shared by the primitives (each of ot, discrepancy, tessellation uses them)."""

from __future__ import annotations

import jax.numpy as jnp


def pairwise_sq_dists(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """|x_i - y_j|^2 for x [n, d], y [m, d] -> [n, m], in matmul form, clipped at 0."""
  d = jnp.sum(x * x, -1)[:, None] + jnp.sum(y * y, -1)[None, :] - 2.0 * x @ y.T
  return jnp.maximum(d, 0.0)
