"""Reductions that XLA runs fast on CPU.

XLA's CPU argmin is a variadic (value, index) reduction that is not vectorized, many
times slower than a min. Two plain reductions (the min, then the first index holding
it) are faster overall and give the same result for finite inputs, as long as both
reductions see the same values of x: XLA may recompute x's elementwise producer inside
each of them, and nothing in XLA's semantics makes two recomputations equal to the bit.
With the CPU backend's default emitters they have been (every test); with its classic
emitters at LLVM -O0 they were not (experiments/results/test_suite.md), and accelerator
compilers may contract a product and a sum into an FMA in one fusion and not in the other.
So the two reductions run on CPUs only; elsewhere one argmin picks the index.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _two_reductions(x: jnp.ndarray, axis: int) -> tuple[jnp.ndarray, jnp.ndarray]:
  low = jnp.min(x, axis=axis, keepdims=True)
  shape = [1] * x.ndim
  shape[axis] = x.shape[axis]
  iota = jnp.arange(x.shape[axis], dtype=jnp.int32).reshape(shape)
  first = jnp.min(jnp.where(x == low, iota, x.shape[axis]), axis=axis)
  return jnp.squeeze(low, axis), first


def _one_argmin(x: jnp.ndarray, axis: int) -> tuple[jnp.ndarray, jnp.ndarray]:
  index = jnp.argmin(x, axis=axis).astype(jnp.int32)
  return jnp.squeeze(jnp.take_along_axis(x, jnp.expand_dims(index, axis), axis=axis), axis), index


def min_argmin(x: jnp.ndarray, axis: int = -1) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(min, first index of the min) of finite x along ``axis``; the index is int32."""
  axis = axis % x.ndim
  return jax.lax.platform_dependent(x, cpu=lambda v: _two_reductions(v, axis),
                                    default=lambda v: _one_argmin(v, axis))
