"""Exact Wasserstein distance between two equal-size empirical measures."""

from __future__ import annotations

import jax.numpy as jnp

from ltot._checks import check_paired
from ltot.ot import pairwise_cost, transport

__all__ = ["GROUNDS", "ground_distance", "wasserstein"]

GROUNDS = ("l1", "l2")


def ground_distance(x: jnp.ndarray, y: jnp.ndarray, ground: str) -> jnp.ndarray:
  """Pairwise ground distances [n, m] between x [n, d] and y [m, d] in the ``ground`` norm.

  Example:
    >>> import jax.numpy as jnp
    >>> ground_distance(jnp.array([[0.0, 0.0]]), jnp.array([[3.0, 4.0]]), 'l1').tolist()
    [[7.0]]
  """
  if ground not in GROUNDS:
    raise ValueError(f"ground must be one of {GROUNDS}, got {ground!r}")
  return pairwise_cost(x, y, "l1" if ground == "l1" else "euclidean")


def wasserstein(x: jnp.ndarray, y: jnp.ndarray, *, p: float = 1, ground: str = "l2") -> jnp.ndarray:
  """Exact W_p between the uniform empirical measures on x [n, d] and y [n, d]: (mean ground^p under the optimal matching)^(1/p).

  Equal sizes make the optimal plan a permutation (Birkhoff), found by ``ltot.ot.transport``
  in float64 when JAX runs with x64 enabled, else in float32 up to its certificate.

  Example:
    >>> import jax.numpy as jnp
    >>> x, y = jnp.array([[0.0, 0.0], [1.0, 0.0]]), jnp.array([[1.0, 1.0], [0.0, 1.0]])
    >>> float(wasserstein(x, y)), float(wasserstein(x, y, p=2, ground='l1'))
    (1.0, 1.0)
  """
  x, y = check_paired(x, y)
  if not p >= 1:
    raise ValueError(f"p must be >= 1, got {p}")
  cost = ground_distance(x, y, ground) ** p
  perm = transport(cost, 1).labels
  return jnp.mean(cost[jnp.arange(x.shape[0]), perm]) ** (1.0 / p)
