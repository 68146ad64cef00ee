"""Exact assignment and transportation by the auction algorithm with epsilon scaling.

One solver serves the square assignment (capacity 1) and the Hitchcock problem of
TWAE eq. 17 (N rows, m columns, at most ``capacity`` rows per column). Rows are
persons; column j sells ``capacity`` identical slots. Column j holds its current
rows, each with the bid it entered at; its entry price is the lowest of those
bids when full, else a floor carried over from the previous scaling phase.

Each round, a block of unassigned rows bids for its cheapest column (cost plus
entry price) and raises the price by the gap to its second-cheapest column plus
epsilon. A column takes all its bidders while it has room for them, else only
its highest bidder, who replaces its lowest holder when the column is full.
This keeps epsilon-complementary slackness: every assigned row is within epsilon
of its cheapest column (Bertsekas & Castanon 1989, "The auction algorithm for the
transportation problem"). Rows left over when N < capacity * m are absorbed by
zero-cost dummy rows, so every column ends full and the column prices with the
row minima form a feasible dual whose gap to the primal is at most N' * epsilon
(N' = capacity * m rows with dummies). Epsilon shrinks by ``theta`` per phase;
at the end of a phase, rows still within the next epsilon keep their column.

With integer costs and the final epsilon below 1 / N', the assignment is optimal
exactly; otherwise it is optimal up to the returned certificate ``gap``, whose
default is set by the float resolution of the price range.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ltot._checks import check_paired
from ltot._distances import pairwise_sq_dists
from ltot._reduce import min_argmin
from ltot.ot import host
from ltot.ot.hitchcock import batched, check_hitchcock

__all__ = ["HOST_MAX_ENTRIES", "SOLVERS", "Transport", "assignment", "balanced_assignment", "kantorovich_potentials",
           "transport"]

_THETA = 16.0
_SWITCH_PER_COLUMN = 10  # see _switch
# Scaling phases at most: the first runs at the cost spread, each divides epsilon by _THETA, and the
# last is at the float resolution of the spread (2^-nmant), so log_16(2^53) < 14 phases in float64.
_MAX_PHASES = 32


class Transport(NamedTuple):
  """Solution of a Hitchcock problem min sum_i cost[i, labels[i]] with column loads <= capacity.

  With leading batch dimensions [...] on the cost, every field has them too.
  labels [N] int32: the column of each row.
  row_potential [N], column_price [m]: a feasible dual, row_potential[i] - column_price[j]
    <= cost[i, j] with column_price >= 0 where a column has room; its objective
    sum(row_potential) - capacity * sum(column_price) is at most ``gap`` below the primal.
  gap: scalar, primal minus dual objective (an optimality certificate, >= 0 up to rounding).
  ``matrix``, ``f`` and ``g`` give the solution as ott-jax users know it (a transport plan with
  uniform row weights 1/N, and potentials with f_i + g_j <= cost_ij).
  ok: scalar bool, whether the solve succeeded. It fails only on a cost with NaN or Inf (or so
    large that prices overflow) under jit, where values are not checked at trace time: then
    ``labels`` are all -1 and ``gap`` is NaN. (Unjitted, such a cost raises ValueError.)
  iterations: scalar int32, the solve's sequential loop iterations (Jacobi rounds plus
    Gauss-Seidel bids, over all scaling phases): what an accelerator's latency multiplies.
  """
  labels: jnp.ndarray
  row_potential: jnp.ndarray
  column_price: jnp.ndarray
  gap: jnp.ndarray
  ok: jnp.ndarray
  iterations: jnp.ndarray

  @property
  def matrix(self) -> jnp.ndarray:
    """The transport plan [..., N, m]: 1/N where row i goes to its column (rows of mass 1/N, as ott's
    uniform ``a``); all zero for a failed solve.

    Example:
      >>> import jax.numpy as jnp
      >>> transport(jnp.array([[4.0, 1.0], [2.0, 3.0]]), 1).matrix.tolist()
      [[0.0, 0.5], [0.5, 0.0]]
    """
    n, m = self.labels.shape[-1], self.column_price.shape[-1]
    return jax.nn.one_hot(self.labels, m, dtype=self.row_potential.dtype) / n

  @property
  def f(self) -> jnp.ndarray:
    """Row potentials [..., N] in ott-jax's convention (f_i + g_j <= cost_ij): ``row_potential``.

    Example:
      >>> import jax.numpy as jnp
      >>> sol = transport(jnp.array([[4.0, 1.0], [2.0, 3.0]]), 1)
      >>> bool(jnp.all(sol.f[:, None] + sol.g[None, :] <= jnp.array([[4.0, 1.0], [2.0, 3.0]]) + 1e-6))
      True
    """
    return self.row_potential

  @property
  def g(self) -> jnp.ndarray:
    """Column potentials [..., m] in ott-jax's convention: ``-column_price`` (see ``f``)."""
    return -self.column_price


class _State(NamedTuple):
  col: jnp.ndarray  # [N'] int32 column of each row (dummies after the N real ones), -1 if free
  owner: jnp.ndarray  # [m, capacity] int32 holders; the first load[j] slots of column j are held
  bid: jnp.ndarray  # [m, capacity] price each holder entered at
  load: jnp.ndarray  # [m] int32
  floor: jnp.ndarray  # [m] entry price of a column with room
  eps: jnp.ndarray


def _entry_price(state, cols=Ellipsis):
  """Entry price of columns ``cols`` (default all, [m]): the floor while there is room, else the lowest bid held."""
  full = state.load[cols] >= state.bid.shape[1]
  return jnp.where(full, jnp.min(state.bid[cols], axis=-1), state.floor[cols])


def _rows(cost, idx):
  """Cost rows [..., m] of rows idx [...]; dummies (idx >= N) cost 0 everywhere."""
  n = cost.shape[0]
  rows = cost[jnp.minimum(idx, n - 1)]
  return jnp.where((idx < n)[..., None], rows, jnp.zeros((), cost.dtype))


def _bids(rows, price, eps):
  """Cheapest column [...] of each row of rows [..., m] at ``price`` [m] and the bid raising it to the second."""
  value = rows + price
  _, best = min_argmin(value)
  second = jnp.min(jnp.where(jnp.arange(value.shape[-1]) == best[..., None], jnp.inf, value), axis=-1)
  own = jnp.take_along_axis(rows, best[..., None], axis=-1)[..., 0]
  return best, second - own + eps


def _target_slot(state, col, rank):
  """Slot of column col taken by its rank-th bidder: an empty one while there is room, else the lowest holder's."""
  full = state.load[col] >= state.bid.shape[1]
  return jnp.where(full, min_argmin(state.bid[col])[1], state.load[col] + rank)


def _place(state, rows_idx, col, slot, bid, accept):
  """Rows rows_idx [B] take (col, slot) at ``bid`` where ``accept``; the holders they replace become free."""
  m, capacity = state.bid.shape
  n_all = state.col.shape[0]
  col_a = jnp.where(accept, col, m)  # out of range: dropped
  kicked = jnp.where(accept, state.owner[jnp.minimum(col, m - 1), jnp.minimum(slot, capacity - 1)], -1)
  rows_col = state.col.at[jnp.where(kicked >= 0, kicked, n_all)].set(-1, mode="drop")
  rows_col = rows_col.at[jnp.where(accept, rows_idx, n_all)].set(col, mode="drop")
  filled = jnp.where(kicked < 0, accept, False).astype(jnp.int32)
  return state._replace(
      col=rows_col,
      owner=state.owner.at[col_a, slot].set(rows_idx, mode="drop"),
      bid=state.bid.at[col_a, slot].set(bid, mode="drop"),
      load=state.load + jax.ops.segment_sum(filled, col_a, m + 1)[:m])


def _jacobi_round(cost, state, block):
  """Up to ``block`` free rows bid at once; each column takes as many as it has room for, or its top bidder."""
  m, capacity = state.bid.shape
  n_all = state.col.shape[0]
  idx = jnp.nonzero(state.col < 0, size=block, fill_value=n_all)[0].astype(jnp.int32)
  valid = idx < n_all
  best, bid = _bids(_rows(cost, idx), _entry_price(state), state.eps)
  seg = jnp.where(valid, best, m)
  if capacity == 1:  # only each column's top bidder (ties: lower row) can enter: no ranking needed
    top = jax.ops.segment_max(bid, seg, m + 1)[:m]
    winner = jax.ops.segment_min(jnp.where(bid == top[jnp.minimum(seg, m - 1)], idx, n_all), seg, m + 1)[:m]
    return _place(state, winner, jnp.arange(m, dtype=jnp.int32), jnp.zeros(m, jnp.int32), top, winner < n_all)
  # Rank the bidders of each column, highest bid first (ties: lower row).
  seg_s, neg_s, idx_s = jax.lax.sort((seg, -bid, idx), num_keys=3)
  pos = jnp.arange(block, dtype=jnp.int32)
  rank_s = pos - jax.ops.segment_min(pos, seg_s, m + 1)[seg_s]
  col_s = jnp.minimum(seg_s, m - 1)
  room = capacity - state.load[col_s]
  accept = (seg_s < m) & (rank_s < jnp.maximum(room, 1))
  return _place(state, idx_s, col_s, _target_slot(state, col_s, rank_s), -neg_s, accept)


def _gauss_seidel(cost, state, stack_size, finite):
  """Free rows bid one at a time (a stack of free rows) until none is left; returns the state with all
  rows held and the number of bids."""
  n = cost.shape[0]
  m, capacity = state.bid.shape
  n_all = state.col.shape[0]
  stack = jnp.nonzero(state.col < 0, size=stack_size, fill_value=n_all)[0].astype(jnp.int32)
  top = jnp.sum(state.col < 0).astype(jnp.int32)
  def body(carry):
    owner, bid, load, price, stack, top = carry
    i = stack[top - 1]
    row = jax.lax.dynamic_index_in_dim(cost, jnp.minimum(i, n - 1), keepdims=False)
    row = jnp.where(i < n, row, jnp.zeros((), cost.dtype))
    best, bid_i = _bids(row, price, state.eps)
    full = load[best] >= capacity
    slot = jnp.where(full, min_argmin(bid[best])[1], load[best])
    kicked = jnp.where(full, owner[best, slot], -1)
    owner = owner.at[best, slot].set(i)
    bid = bid.at[best, slot].set(bid_i)
    load = load.at[best].add(1 - full.astype(jnp.int32))
    price = price.at[best].set(jnp.where(load[best] >= capacity, jnp.min(bid[best]), state.floor[best]))
    stack = stack.at[top - 1].set(kicked)
    return owner, bid, load, price, stack, top - (kicked < 0).astype(jnp.int32)

  owner, bid, load, _, _, _, bids = jax.lax.while_loop(
      lambda c: finite & (c[-2] > 0), lambda c: (*body(c[:-1]), c[-1] + 1),
      (state.owner, state.bid, state.load, _entry_price(state), stack, top, jnp.int32(0)))
  col = jnp.zeros_like(state.col).at[owner.reshape(-1)].set(jnp.repeat(jnp.arange(m, dtype=jnp.int32), capacity))
  return state._replace(col=col, owner=owner, bid=bid, load=load), bids


def _normalised(price):
  """Prices less their minimum: a common shift changes no choice, and keeps prices within float resolution."""
  return price - jnp.min(price)


def _slack(cost, col, price):
  """Per row (dummies included) [N']: cost plus price of its column minus its cheapest; and the cheapest [N']."""
  n = cost.shape[0]
  dummies = col.shape[0] - n
  row_min = jnp.concatenate([jnp.min(cost + price, axis=1), jnp.full(dummies, jnp.min(price), price.dtype)])
  own = jnp.concatenate([jnp.take_along_axis(cost, col[:n, None], axis=1)[:, 0], jnp.zeros(dummies, cost.dtype)])
  return own + price[col] - row_min, row_min


def _phase(cost, state, eps, switch: int, finite):
  """One scaling phase at ``eps``: prices become floors, every row is freed, then bids until all hold a slot.

  Jacobi rounds while more than ``switch`` rows are free (blocks shrinking by 8), then Gauss-Seidel.
  Returns (state, the phase's sequential loop iterations: Jacobi rounds plus Gauss-Seidel bids).
  """
  state = _State(col=jnp.full_like(state.col, -1), owner=jnp.full_like(state.owner, -1),
                 bid=jnp.full_like(state.bid, -jnp.inf), load=jnp.zeros_like(state.load),
                 floor=_normalised(_entry_price(state)), eps=eps)
  n_all = state.col.shape[0]
  sizes = [n_all]
  while sizes[-1] // 8 > switch:
    sizes.append(sizes[-1] // 8)
  sizes = sizes[::-1]
  branches = [lambda s, b=b: _jacobi_round(cost, s, b) for b in sizes]

  def jacobi(s):
    k = jnp.searchsorted(jnp.array(sizes), jnp.sum(s.col < 0))  # smallest block holding all free rows
    return jax.lax.switch(jnp.minimum(k, len(sizes) - 1), branches, s)

  # ``finite`` guards the loops as well as the phases: under vmap a batch runs every phase body while
  # any problem needs it, and bids on a NaN cost would never settle.
  state, rounds = jax.lax.while_loop(lambda c: finite & (jnp.sum(c[0].col < 0) > switch),
                                     lambda c: (jacobi(c[0]), c[1] + 1), (state, jnp.int32(0)))
  state, bids = _gauss_seidel(cost, state, switch, finite)
  return state, rounds + bids


@jax.jit(static_argnums=(1, 3))
def _solve(cost, capacity, eps_final, switch, prices, eps_start):
  """The auction on cost [N, m] from column ``prices`` [m] (zeros: a cold start), its first phase at
  ``eps_start`` (None: the cost spread)."""
  n, m = cost.shape
  shift = jnp.min(cost, axis=1)
  cost = cost - shift[:, None]  # row shifts leave the argmin unchanged
  spread = jnp.maximum(jnp.max(cost), eps_final)
  first = spread if eps_start is None else jnp.clip(eps_start, eps_final, spread)
  n_all = capacity * m
  prices = jnp.where(jnp.isfinite(prices), prices, 0.0).astype(cost.dtype)
  state = _State(col=jnp.zeros(n_all, jnp.int32), owner=jnp.zeros((m, capacity), jnp.int32),
                 bid=jnp.zeros((m, capacity), cost.dtype), load=jnp.zeros(m, jnp.int32),
                 floor=_normalised(prices), eps=first * _THETA)  # the first phase runs at ``first``
  # A traced NaN/Inf (or prices that would overflow) never settles: skip and return -1 labels.
  finite = jnp.all(jnp.isfinite(cost)) & jnp.isfinite(spread * _THETA * n_all)
  integral = jnp.all(cost == jnp.round(cost))
  ulp = jnp.asarray(2.0 ** -jnp.finfo(cost.dtype).nmant, cost.dtype)

  def certificate(state):
    price = _normalised(_entry_price(state))  # every column is full: a common shift keeps the dual objective
    slack, row_min = _slack(cost, state.col, price)
    return price, row_min, jnp.sum(slack), jnp.sum(cost[jnp.arange(n), state.col[:n]]) + jnp.sum(shift)

  def unfinished(carry):
    state, gap, primal, phases, _ = carry
    # Done once the gap is below the float resolution of the total cost (below 1/2 for integer
    # costs: optimal exactly), at the latest after the phase at eps_final.
    target = jnp.where(integral, jnp.minimum(0.5, ulp * jnp.abs(primal)), ulp * jnp.abs(primal))
    return finite & (phases < _MAX_PHASES) & (state.eps > eps_final) & (gap > target)

  def phase(carry):
    state, iterations = _phase(cost, carry[0], jnp.maximum(carry[0].eps / _THETA, eps_final), switch, finite)
    return state, *certificate(state)[2:], carry[3] + 1, carry[4] + iterations

  state, _, _, _, iterations = jax.lax.while_loop(
      unfinished, phase, (state, jnp.array(jnp.inf, cost.dtype), jnp.zeros((), cost.dtype), jnp.int32(0), jnp.int32(0)))
  price, row_min, gap, _ = certificate(state)
  return (jnp.where(finite, state.col[:n], -1), row_min[:n] + shift, price, jnp.where(finite, gap, jnp.nan),
          finite, iterations)


def _switch(m: int, capacity: int, platform: str) -> int:
  """Free rows below which bidding turns Gauss-Seidel.

  Several slots per column: once Jacobi rounds would fill about 10 slots per column. Single
  slots: on CPUs always Gauss-Seidel (a bid is cheap there, and Jacobi bids collide); on
  accelerators Jacobi to the last row, since every Gauss-Seidel bid is one device loop
  iteration and the solve becomes bound by its latency (on an H100 Jacobi was 2-3.5x faster at
  n = 128 to 4096; the README's Benchmarks section).
  """
  if capacity == 1:
    return m if platform == "cpu" else 1
  return min(capacity * m, _SWITCH_PER_COLUMN * m)


def _resolution_epsilon(cost: jnp.ndarray, n_all: int) -> jnp.ndarray:
  """Default final epsilon: 1/(N'+1) for integer costs (exact), else the price range's float resolution."""
  spread = jnp.max(cost - jnp.min(cost, axis=1, keepdims=True))
  floor = spread * 2.0 ** (4 - jnp.finfo(cost.dtype).nmant)
  integral = jnp.all(cost == jnp.round(cost))
  exact = jnp.asarray(1.0 / (n_all + 1), cost.dtype)
  return jnp.where(integral & (exact >= 4 * floor), exact, jnp.maximum(floor, jnp.finfo(cost.dtype).tiny))


# Cost entries (N x capacity * m, the host solver's square size) up to which ``solver="auto"`` solves
# on the host on an accelerator, never on CPUs: the H100 rows of the README's benchmarks table
# (auction against POT on the host at n = 1024 and 4096) put the crossing between those sizes.
HOST_MAX_ENTRIES = 1024 * 1024
SOLVERS = ("auto", "auction", "host")


def _use_host(solver: str, n: int, slots: int, platform: str) -> bool:
  if solver not in SOLVERS:
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
  if solver == "auto":
    return platform != "cpu" and n * slots <= HOST_MAX_ENTRIES
  return solver == "host"


def transport(cost: jnp.ndarray, capacity: int, *, epsilon: float | None = None, solver: str = "auto",
              prices: jnp.ndarray | None = None, start_epsilon: float | None = None) -> Transport:
  """Solves the Hitchcock problem on cost [..., N, m]: each row to one column, <= capacity rows per column.

  ``cost`` may carry leading batch dimensions (independent problems, solved together in one
  vmapped program) or be an ott-jax geometry (its ``cost_matrix``).

  ``solver``: "auction" (the jitted auction on the device), "host" (SciPy's exact solver on the
  host through a callback, ``ltot.ot.host``: also under jit, vmap and pmap; its
  ``iterations`` are 0 and ``epsilon`` does not apply), or "auto": the host on accelerators for
  problems of at most ``HOST_MAX_ENTRIES`` (N x capacity * m) entries, where the auction is bound
  by the latency of its loop iterations, else the auction.

  Warm start (the auction): ``prices`` [..., m] are initial column prices, e.g. the
  ``column_price`` of the previous training step's solve, or ``-g`` of an ott-jax Sinkhorn
  solution; ``start_epsilon`` is the increment of the first scaling phase (default: the cost
  spread, as a cold start). The result is optimal from any start; good prices with a small
  ``start_epsilon`` skip the early phases and most bids (``iterations`` says how many were run).

  Requires N <= capacity * m. ``epsilon`` is the final auction increment (the gap is at
  most capacity * m * epsilon); by default 1 / (capacity * m + 1) for integer costs,
  which makes the result exactly optimal, else the float resolution of the cost range.
  Jittable with ``capacity`` static. A NaN/Inf cost raises ValueError when concrete; under jit
  the result has ``ok`` False and labels -1 (see ``Transport``): never index with them unchecked.

  Example:
    >>> import jax.numpy as jnp
    >>> sol = transport(jnp.array([[0.0, 4.0], [1.0, 3.0], [5.0, 0.0]]), capacity=2)
    >>> sol.labels.tolist()  # rows 0 and 1 share column 0
    [0, 0, 1]
    >>> float(jnp.array([[0.0, 4.0], [1.0, 3.0], [5.0, 0.0]])[jnp.arange(3), sol.labels].sum())  # the least total cost
    1.0
  """
  cost, capacity = check_hitchcock(cost, capacity)
  n, m = cost.shape[-2:]
  capacity = min(capacity, n)  # more room than rows changes nothing
  switch = _switch(m, capacity, jax.default_backend())
  on_host = _use_host(solver, n, capacity * m, jax.default_backend())

  def solve(c, p):
    if on_host:
      return Transport(*host.solve(c, capacity), jnp.int32(0))
    if m == 1:
      ok = jnp.all(jnp.isfinite(c))
      return Transport(jnp.where(ok, jnp.zeros(n, jnp.int32), -1), c[:, 0], jnp.zeros(1, c.dtype),
                       jnp.where(ok, 0.0, jnp.nan).astype(c.dtype), ok, jnp.int32(0))
    floor = _resolution_epsilon(c, capacity * m)
    eps = floor if epsilon is None else jnp.maximum(jnp.asarray(epsilon, c.dtype), floor)
    start = None if start_epsilon is None else jnp.asarray(start_epsilon, c.dtype)
    return Transport(*_solve(c, capacity, eps, switch, p, start))
  if prices is not None and jnp.shape(prices) != cost.shape[:-2] + (m,):
    raise ValueError(f"prices must have shape {cost.shape[:-2] + (m,)} (one per column), got {jnp.shape(prices)}")
  warm = jnp.zeros(cost.shape[:-2] + (m,), cost.dtype) if prices is None else jnp.asarray(prices, cost.dtype)
  return batched(solve, cost, warm)


def assignment(cost: jnp.ndarray, *, solver: str = "auto") -> jnp.ndarray:
  """Exact minimum-cost perfect matching of cost [..., n, n]: row i goes to column perm[i] (int32
  [..., n]); leading dimensions are independent problems (or pass an ott-jax geometry).
  ``solver``: see ``transport``.

  Under jit, a cost with NaN or Inf gives perm of all -1 (``transport(cost, 1).ok`` says so);
  unjitted it raises ValueError.

  Example:
    >>> import jax.numpy as jnp
    >>> assignment(jnp.array([[4.0, 1.0], [2.0, 3.0]])).tolist()
    [1, 0]
  """
  shape = jnp.shape(cost.cost_matrix if hasattr(cost, "cost_matrix") else cost)
  if len(shape) >= 2 and shape[-2] != shape[-1]:
    raise ValueError(f"cost must be square [..., n, n], got {shape}")
  return transport(cost, 1, solver=solver).labels


def balanced_assignment(cost: jnp.ndarray, capacity: int, *, solver: str = "auto") -> jnp.ndarray:
  """Exact solution labels [..., N] of TWAE eq. 17 on cost [..., N, m]: <= capacity rows per column,
  least total cost (leading dimensions: independent problems; or an ott-jax geometry). ``solver``:
  see ``transport``.

  Under jit, a cost with NaN or Inf gives labels of all -1 (see ``transport``); unjitted it raises ValueError.

  Example:
    >>> import jax.numpy as jnp
    >>> cost = jnp.array([[0.0, 9.0], [1.0, 9.0], [2.0, 9.0], [9.0, 0.0]])
    >>> balanced_assignment(cost, 2).tolist()  # column 0 takes at most 2 rows
    [0, 0, 1, 1]
  """
  return transport(cost, capacity, solver=solver).labels


def kantorovich_potentials(x: jnp.ndarray, y: jnp.ndarray, *, solver: str = "auto") -> tuple[jnp.ndarray, jnp.ndarray]:
  """Optimal duals (h_x [..., n], h_y [..., n]) of AE-OT eq. 14 for x, y [..., n, d], cost
  1/2 |x_i - y_j|^2, uniform weights; leading dimensions are independent problems. ``solver``:
  see ``transport``.

  Feasible, h_y[j] - h_x[i] <= c_ij, and mean(h_y) - mean(h_x) equals the primal OT cost
  mean_i c_{i, perm(i)} up to the auction's certificate. Under jit, NaN/Inf points give NaN
  potentials (unjitted: ValueError).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x, y = jax.random.normal(jax.random.key(0), (2, 8, 3))
    >>> hx, hy = kantorovich_potentials(x, y)
    >>> cost = 0.5 * jnp.sum((x[:, None] - y[None]) ** 2, -1)
    >>> bool(jnp.all(hy[None, :] - hx[:, None] <= cost + 1e-5))  # dual feasible
    True
  """
  x, y = jnp.asarray(x), jnp.asarray(y)
  if x.ndim > 2 or y.ndim > 2:
    if x.shape[:-2] != y.shape[:-2]:
      raise ValueError(f"x and y must have the same leading dimensions, got shapes {x.shape} and {y.shape}")
    return batched(lambda c, b: kantorovich_potentials(c, b, solver=solver), x, y)
  x, y = check_paired(x, y)
  cost = 0.5 * pairwise_sq_dists(x, y)
  sol = transport(cost, 1, solver=solver)
  # Row potentials u_i = min_j (c_ij + p_j): u_i - p_j <= c_ij, so h_x = -u, h_y = -p.
  nan = jnp.array(jnp.nan, cost.dtype)
  return jnp.where(sol.ok, -sol.row_potential, nan), jnp.where(sol.ok, -sol.column_price, nan)
