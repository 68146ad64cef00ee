"""TWAE Algorithm 2, the least cost method (LCM) for the Hitchcock problem of eq. 17, exactly, in rounds.

The paper's procedure: repeatedly take the smallest unmasked entry of cost[N, m]
(ties: smallest row-major flat index), assign its row to its column, mask the row,
and mask the column once it holds ``capacity`` rows. Equivalently, scan the
entries in (value, flat index) order and accept (i, j) when row i is free and
column j is not full.

ltot computes the same labels without sorting the N*m entries. Each free row
proposes its cheapest open column (its smallest entry there, ties to the
smallest j). Let k* be the smallest (value, row) key of a proposal ranked beyond
its column's remaining capacity. Every proposal with key below k* is accepted
exactly as the scan would accept it: rows only ever re-propose at larger keys,
so nothing can still come before it. Each round closes at least one column (the
one holding k*), so there are at most m rounds. Rows whose proposed column
closed then re-propose. Only columns with more proposals than room can hold k*,
so each round sorts just their proposals (a fixed-size buffer; all proposals in
the rare rounds that overflow it), never the N*m entries.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ltot._checks import is_concrete
from ltot._reduce import min_argmin

__all__ = ["lcm"]

_CHUNK = 256  # rows re-proposed per inner step (a [_CHUNK, m] gather)
_BUFFER = 2048  # proposals to over-full columns sorted per round without falling back to all


def _first_overflow(col, key, row, valid, remaining, n):
  """Smallest (key, row) among proposals ranked beyond their column's room.

  col/key/row/valid [b] are proposals (invalid ones ignored); remaining [m + 1].
  Returns (key, row), (inf, n) if nothing overflows.
  """
  b = col.shape[0]
  inf = jnp.array(jnp.inf, key.dtype)
  col = jnp.where(valid, col, remaining.shape[0] - 1)
  key = jnp.where(valid, key, inf)
  col_s, key_s, row_s = jax.lax.sort((col, key, row), num_keys=3)
  pos = jnp.arange(b, dtype=jnp.int32)
  rank = pos - jax.ops.segment_min(pos, col_s, remaining.shape[0])[col_s]
  over = (key_s < inf) & (rank >= remaining[col_s])
  k_val = jnp.min(jnp.where(over, key_s, inf))
  return k_val, jnp.min(jnp.where(over & (key_s == k_val), row_s, n))


def _check_cost(cost, capacity):
  cost = jnp.asarray(cost)
  if cost.ndim != 2 or cost.shape[0] < 1 or cost.shape[1] < 1:
    raise ValueError(f"cost must have shape [N, m] with N, m >= 1, got {cost.shape}")
  if not jnp.issubdtype(cost.dtype, jnp.floating):
    cost = cost.astype(jnp.float32)
  if int(capacity) != capacity or capacity < 1:
    raise ValueError(f"capacity must be a positive integer, got {capacity}")
  n, m = cost.shape
  if n > capacity * m:
    raise ValueError(f"N={n} rows do not fit in m={m} columns of capacity {capacity} (need N <= capacity * m)")
  if is_concrete(cost) and not np.all(np.isfinite(np.asarray(cost))):
    raise ValueError("cost contains NaN or Inf")
  return cost, int(capacity)


def lcm(cost: jnp.ndarray, capacity: int) -> jnp.ndarray:
  """Labels [N] int32 of TWAE's least cost method on cost [N, m] (finite), ``capacity`` rows per column.

  Requires N <= capacity * m. Jittable (``capacity`` static).
  """
  cost, capacity = _check_cost(cost, capacity)
  return _lcm(cost, capacity)


@jax.jit(static_argnums=1)
def _lcm(cost: jnp.ndarray, capacity: int) -> jnp.ndarray:
  n, m = cost.shape
  rows = jnp.arange(n, dtype=jnp.int32)
  inf = jnp.array(jnp.inf, cost.dtype)

  def repropose(state):
    """Gives every free row whose proposed column closed a new proposal, _CHUNK rows at a time."""
    labels, count, prop = state
    open_cols = count < capacity

    def needs(prop):
      return (labels < 0) & ~open_cols[prop]

    def body(prop):
      idx = jnp.nonzero(needs(prop), size=_CHUNK, fill_value=n)[0]
      block = jnp.where(open_cols[None], cost.at[idx].get(mode="fill", fill_value=0), inf)
      return prop.at[idx].set(min_argmin(block)[1], mode="drop")

    return jax.lax.while_loop(lambda p: jnp.any(needs(p)), body, prop)

  def round_(state):
    labels, count, prop = state
    free = labels < 0
    key = cost[rows, prop]
    remaining = jnp.concatenate([capacity - count, jnp.zeros((1,), count.dtype)])
    proposals = jax.ops.segment_sum(free.astype(jnp.int32), prop, m)
    crowded = free & (proposals[prop] > remaining[prop])
    num_crowded = jnp.sum(crowded)

    def from_buffer(_):
      idx = jnp.nonzero(crowded, size=min(_BUFFER, n), fill_value=0)[0]
      valid = jnp.arange(idx.shape[0]) < num_crowded
      return _first_overflow(prop[idx], key[idx], rows[idx], valid, remaining, n)

    def from_all(_):
      return _first_overflow(prop, key, rows, crowded, remaining, n)

    k_val, k_row = jax.lax.cond(num_crowded <= _BUFFER, from_buffer, from_all, None)
    # Below k*, no proposal is beyond its column's room, so all of them are accepted.
    take = free & ((key < k_val) | ((key == k_val) & (rows < k_row)))
    labels = jnp.where(take, prop, labels)
    count = count + jax.ops.segment_sum(take.astype(count.dtype), prop, m)
    return labels, count, repropose((labels, count, prop))

  prop0 = min_argmin(cost)[1]
  state = (jnp.full((n,), -1, jnp.int32), jnp.zeros((m,), jnp.int32), prop0)
  labels, _, _ = jax.lax.while_loop(lambda s: jnp.any(s[0] < 0), round_, state)
  return labels
