"""Argument checks shared by the public functions (shapes at trace time, values when concrete)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
  return not isinstance(x, jax.core.Tracer)


def check_points(name: str, x, *, min_points: int = 1) -> None:
  """Raises ValueError unless ``x`` is a float array [n, d] with n >= min_points, d >= 1, all finite.

  Finiteness is checked only on concrete (non-traced) values.
  """
  shape = jnp.shape(x)
  if len(shape) != 2:
    raise ValueError(f"{name} must have shape [n, d], got shape {shape}")
  if shape[0] < min_points or shape[1] < 1:
    raise ValueError(f"{name} must have at least {min_points} point(s) of dimension >= 1, got shape {shape}")
  if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
    raise ValueError(f"{name} must be a float array, got dtype {jnp.result_type(x)}")
  if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
    raise ValueError(f"{name} contains NaN or Inf")


def check_same_dim(xname: str, x, yname: str, y) -> None:
  if jnp.shape(x)[-1] != jnp.shape(y)[-1]:
    raise ValueError(f"{xname} and {yname} must have the same dimension, got shapes "
                     f"{jnp.shape(x)} and {jnp.shape(y)}")
