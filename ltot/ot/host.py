"""The Hitchcock problem solved on the host (SciPy), callable from inside jit.

On an accelerator a small exact solve is bound by the latency of the auction's sequential
loop iterations (``Transport.iterations``), not by its work: there the host's
Jonker-Volgenant solver (``scipy.optimize.linear_sum_assignment``) is faster up to about a
million cost entries. ``solve`` runs it through a host callback, so it works under jit,
vmap (one call per problem) and pmap (one call per device), and returns what the auction does:
labels and a feasible dual with its certificate.

The dual: with the optimal labels fixed, column prices p are shortest-path distances in the
graph of columns whose edge j -> k weighs min over the rows r held by k of
(cost[r, j] - cost[r, k]) (and 0 into a column with room, from its zero-cost dummy rows), found
by Bellman-Ford on the m columns. Then p_k <= p_j + w(j, k) is exactly complementary slackness,
row potentials are u_i = min_j (cost[i, j] + p_j), and the dual objective
sum(u) - capacity * sum(p) equals the primal up to rounding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.buffer_callback import buffer_callback
from scipy.optimize import linear_sum_assignment

__all__ = ["solve", "solve_numpy"]


def _prices(cost: np.ndarray, labels: np.ndarray, capacity: int) -> np.ndarray:
  """Column prices [m] >= 0 (0 where a column has room) in complementary slackness with ``labels``."""
  n, m = cost.shape
  held = cost - cost[np.arange(n), labels][:, None]  # [N, m]: cost[r, j] - cost[r, k(r)]
  weight = np.full((m, m), np.inf)  # weight[j, k]: edge j -> k
  np.minimum.at(weight.T, labels, held)
  room = np.bincount(labels, minlength=m) < capacity
  weight[:, room] = np.minimum(weight[:, room], 0.0)
  price = np.zeros(m)
  for _ in range(m):  # Bellman-Ford from a source joined to every column at 0
    new = np.minimum(price, np.min(price[:, None] + weight, axis=0))
    if np.array_equal(new, price):
      break
    price = new
  return price - price.min()


def solve_numpy(cost: np.ndarray, capacity: int):
  """(labels [N] int32, row_potential [N], column_price [m], gap) of cost [N, m] (NumPy, float64
  inside), or labels -1 and NaN for a cost with NaN or Inf.

  Example:
    >>> import numpy as np
    >>> labels, u, p, gap = solve_numpy(np.array([[0.0, 4.0], [1.0, 3.0], [5.0, 0.0]]), 2)
    >>> labels.tolist(), float(gap)
    ([0, 0, 1], 0.0)
  """
  n, m = cost.shape
  if not np.all(np.isfinite(cost)):
    nan = np.full((), np.nan)
    return np.full(n, -1, np.int32), np.full(n, np.nan), np.full(m, np.nan), nan
  c = np.asarray(cost, np.float64)
  rows, slots = linear_sum_assignment(np.repeat(c, capacity, axis=1))  # column j's slots side by side
  labels = np.empty(n, np.int64)
  labels[rows] = slots // capacity
  price = _prices(c, labels, capacity)
  row_potential = np.min(c + price[None, :], axis=1)
  gap = c[np.arange(n), labels].sum() - (row_potential.sum() - capacity * price.sum())
  return labels.astype(np.int32), row_potential, price, np.asarray(gap)


def solve(cost: jnp.ndarray, capacity: int):
  """``solve_numpy`` of cost [N, m] as a jittable call (under vmap one host call per problem):
  (labels, row_potential, column_price, gap, ok) in the dtypes of the auction's result.

  On CPUs the call reads and writes the step's own buffers (``buffer_callback``). ``jax.pure_callback``
  first copies its inputs to CPU device 0, and in a data-parallel step on several CPU devices that
  copy waited behind device 0, itself waiting in the step's all-reduce for the others: a 1,000 x 1,000
  AE-OT step on 4 forced CPU devices hung. Accelerators use ``jax.pure_callback`` (their inputs must
  reach the host anyway, and CPU device 0 is not in their collectives).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> jax.jit(solve, static_argnums=1)(jnp.array([[4.0, 1.0], [2.0, 3.0]]), 1)[0].tolist()
    [1, 0]
  """
  n, m = cost.shape
  dtype = cost.dtype
  shapes = (jax.ShapeDtypeStruct((n,), jnp.int32), jax.ShapeDtypeStruct((n,), dtype),
            jax.ShapeDtypeStruct((m,), dtype), jax.ShapeDtypeStruct((), dtype))

  def host(c):
    labels, u, p, gap = solve_numpy(np.asarray(c), capacity)
    return labels, u.astype(dtype), p.astype(dtype), gap.astype(dtype)

  def in_place(ctx, out, c):
    del ctx
    for buffer, value in zip(out, host(c)):
      np.asarray(buffer)[...] = value

  labels, u, p, gap = jax.lax.platform_dependent(
      cost, cpu=buffer_callback(in_place, shapes, vmap_method="sequential"),
      default=lambda c: jax.pure_callback(host, shapes, c, vmap_method="sequential"))
  return labels, u, p, gap, labels[0] >= 0
