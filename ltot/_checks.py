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


def check_paired(x, y) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Checks x [n, d] and y [n, d] (same n and d, finite floats, named x and y); returns them as arrays."""
  x, y = jnp.asarray(x), jnp.asarray(y)
  check_points("x", x)
  check_points("y", y)
  check_same_dim("x", x, "y", y)
  if x.shape[0] != y.shape[0]:
    raise ValueError(f"x and y must have the same number of points, got {x.shape[0]} and {y.shape[0]}")
  return x, y


def check_same_dim(xname: str, x, yname: str, y) -> None:
  if jnp.shape(x)[-1] != jnp.shape(y)[-1]:
    raise ValueError(f"{xname} and {yname} must have the same dimension, got shapes "
                     f"{jnp.shape(x)} and {jnp.shape(y)}")
