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
closed then re-propose. Only columns with more proposals than room can hold k*;
it is found without sorting (XLA's CPU sort is slow) by bisecting on the key's
bits for the smallest key at which some such column overflows, then on the row
among ties: ~50 linear passes over the proposals per round.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ltot._checks import is_concrete
from ltot._reduce import min_argmin

__all__ = ["lcm"]

_CHUNK = 256  # rows re-proposed per inner step (a [_CHUNK, m] gather)


def _ordered_bits(x):
  """Integers with the order of the floats x (finite; -0.0 is taken as +0.0)."""
  bits = jax.lax.bitcast_convert_type(x + jnp.zeros((), x.dtype), jnp.dtype(f"int{x.dtype.itemsize * 8}"))
  return bits ^ ((bits >> (bits.dtype.itemsize * 8 - 1)) & jnp.iinfo(bits.dtype).max)


def _smallest_true(pred, lo, hi):
  """Smallest integer t in [lo, hi] with pred(t) (pred monotone, pred(hi) true), by bisection."""

  def body(bounds):
    lo, hi = bounds
    mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)  # floor((lo + hi) / 2) without overflow
    ok = pred(mid)
    return jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)

  return jax.lax.while_loop(lambda b: b[0] < b[1], body, (lo, hi))[0]


def _first_overflow(col, key, row, valid, remaining, n):
  """Smallest (key, row) among proposals ranked beyond their column's room; (inf, n) if none.

  col/key/row/valid [b] are proposals (invalid ones ignored), remaining [m + 1]. Bisects for
  the smallest key at which some column holds more proposals than its room, then for the
  row among the proposals tied at that key; each step is one segment_sum over the proposals.
  """
  segments = remaining.shape[0]
  bits = _ordered_bits(key)
  info = jnp.iinfo(bits.dtype)

  def count(mask):
    return jax.ops.segment_sum((valid & mask).astype(jnp.int32), col, segments)

  def overflow_at(t):
    return jnp.any(count(bits <= t) > remaining)

  inf = jnp.array(jnp.inf, key.dtype)
  none = ~overflow_at(jnp.array(info.max, bits.dtype))
  t = _smallest_true(overflow_at, jnp.array(info.min, bits.dtype), jnp.array(info.max, bits.dtype))
  tied = bits == t
  room = remaining - count(bits < t)  # slots left for the proposals tied at t, per column
  k_row = _smallest_true(lambda r: jnp.any(count(tied & (row <= r)) > room), jnp.int32(0), jnp.int32(n - 1))
  k_val = jnp.min(jnp.where(valid & tied, key, inf))
  return jnp.where(none, inf, k_val), jnp.where(none, n, k_row)


def cost_matrix(cost) -> jnp.ndarray:
  """The cost array of ``cost``: an array [..., N, m], or an ott-jax geometry (anything with a
  ``cost_matrix``, e.g. ``ott.geometry.pointcloud.PointCloud(x, y, cost_fn=costs.SqEuclidean())``).

  Example:
    >>> import jax.numpy as jnp
    >>> from ott.geometry import costs, pointcloud
    >>> cost_matrix(pointcloud.PointCloud(jnp.zeros((1, 2)), jnp.ones((3, 2)), cost_fn=costs.SqEuclidean())).tolist()
    [[2.0, 2.0, 2.0]]
  """
  return jnp.asarray(cost.cost_matrix if hasattr(cost, "cost_matrix") else cost)


def batched(solve, cost: jnp.ndarray, *args):
  """``solve(cost [N, m], *args)`` over the leading dimensions of cost [..., N, m], as one vmapped
  program (one while-loop for the whole batch; each problem stops changing once it is solved)."""
  lead = cost.shape[:-2]
  if not lead:
    return solve(cost, *args)
  out = jax.vmap(lambda c, *a: solve(c, *a))(cost.reshape(-1, *cost.shape[-2:]),
                                            *(a.reshape(-1, *a.shape[len(lead):]) for a in args))
  return jax.tree.map(lambda x: x.reshape(lead + x.shape[1:]), out)


def check_hitchcock(cost, capacity) -> tuple[jnp.ndarray, int]:
  """Checks a Hitchcock problem: cost [..., N, m] (or an ott-jax geometry) finite (floats; ints are
  cast), capacity a positive integer, N <= capacity * m. Returns (cost, capacity)."""
  cost = cost_matrix(cost)
  if cost.ndim < 2 or cost.shape[-2] < 1 or cost.shape[-1] < 1:
    raise ValueError(f"cost must have shape [..., N, m] with N, m >= 1, got {cost.shape}")
  if not jnp.issubdtype(cost.dtype, jnp.floating):
    cost = cost.astype(jnp.float32)
  if int(capacity) != capacity or capacity < 1:
    raise ValueError(f"capacity must be a positive integer, got {capacity}")
  n, m = cost.shape[-2:]
  if n > capacity * m:
    raise ValueError(f"N={n} rows do not fit in m={m} columns of capacity {capacity} (need N <= capacity * m)")
  if is_concrete(cost) and not np.all(np.isfinite(np.asarray(cost))):
    raise ValueError("cost contains NaN or Inf")
  return cost, int(capacity)


def lcm(cost: jnp.ndarray, capacity: int) -> jnp.ndarray:
  """Labels [..., N] int32 of TWAE's least cost method on cost [..., N, m] (finite), ``capacity`` rows
  per column; leading dimensions are independent problems solved together (or pass an ott-jax
  geometry).

  Requires N <= capacity * m. Jittable (``capacity`` static). A cost with NaN or Inf raises
  ValueError when concrete; under jit, where values are not known at trace time, it returns
  labels of all -1 (every loop is bounded: it never hangs), so check ``labels >= 0`` there.

  Example:
    >>> import jax.numpy as jnp
    >>> cost = jnp.array([[0.0, 9.0], [1.0, 9.0], [2.0, 9.0], [9.0, 0.0]])
    >>> lcm(cost, 2).tolist()  # cheapest cells first, each column filled to capacity 2
    [0, 0, 1, 1]
    >>> lcm(jnp.stack([cost, cost[:, ::-1]]), 2).tolist()  # two problems at once
    [[0, 0, 1, 1], [1, 1, 0, 0]]
  """
  cost, capacity = check_hitchcock(cost, capacity)
  return batched(lambda c: _lcm(c, capacity), cost)


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

    # Each pass gives _CHUNK rows an open column for good (until a later round closes it): bounded.
    passes = -(-n // _CHUNK)
    return jax.lax.while_loop(lambda c: (c[1] < passes) & jnp.any(needs(c[0])),
                              lambda c: (body(c[0]), c[1] + 1), (prop, jnp.int32(0)))[0]

  def round_(state):
    labels, count, prop = state
    free = labels < 0
    key = cost[rows, prop]
    remaining = jnp.concatenate([capacity - count, jnp.zeros((1,), count.dtype)])
    proposals = jax.ops.segment_sum(free.astype(jnp.int32), prop, m)
    crowded = free & (proposals[prop] > remaining[prop])
    k_val, k_row = _first_overflow(prop, key, rows, crowded, remaining, n)
    # Below k*, no proposal is beyond its column's room, so all of them are accepted.
    take = free & ((key < k_val) | ((key == k_val) & (rows < k_row)))
    labels = jnp.where(take, prop, labels)
    count = count + jax.ops.segment_sum(take.astype(count.dtype), prop, m)
    return labels, count, repropose((labels, count, prop))

  # Each round closes a column (see the module doc), so m + 1 rounds always suffice for finite
  # costs; a traced NaN/Inf (no order to scan) skips the loop and gives -1 labels.
  finite = jnp.all(jnp.isfinite(cost))
  prop0 = min_argmin(cost)[1]
  state = (jnp.full((n,), -1, jnp.int32), jnp.zeros((m,), jnp.int32), prop0, jnp.int32(0))
  labels, *_ = jax.lax.while_loop(lambda s: finite & (s[3] <= m) & jnp.any(s[0] < 0),
                                  lambda s: (*round_(s[:3]), s[3] + 1), state)
  return jnp.where(finite, labels, -1)
