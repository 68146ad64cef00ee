"""Reductions that XLA runs fast on CPU.

XLA's CPU argmin is a variadic (value, index) reduction that is not vectorized, many
times slower than a min. Two plain reductions (the min, then the first index holding
it) are faster overall and give the same result for finite inputs.
"""

from __future__ import annotations

import jax.numpy as jnp


def min_argmin(x: jnp.ndarray, axis: int = -1) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(min, first index of the min) of finite x along ``axis``; the index is int32."""
  low = jnp.min(x, axis=axis, keepdims=True)
  shape = [1] * x.ndim
  shape[axis] = x.shape[axis]
  iota = jnp.arange(x.shape[axis], dtype=jnp.int32).reshape(shape)
  first = jnp.min(jnp.where(x == low, iota, x.shape[axis]), axis=axis)
  return jnp.squeeze(low, axis), first
