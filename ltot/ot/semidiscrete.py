"""Semi-discrete optimal transport of the OTS/FIT paper (Chen, Telgarsky et al.), Sec. 2.1.

A continuous measure (samples x from a generator) is transported onto the uniform
measure on a dataset y [N, d]. With dual weights psi [N], the c-transform is
phi(x) = min_i c(x, y_i) - psi_i, and eq. 2.3 is the concave dual

    F(psi) = E_x[min_i (c(x, y_i) - psi_i)] + mean_i psi_i,

maximised by stochastic gradient ascent (Algorithm 1, OTS): the gradient of a
batch estimate is 1/N minus the fraction of the batch whose argmin is i. The map
T(x) = y[argmin_i c(x, y_i) - psi_i] is the Monge map of Prop. 2.5. Sec. 4's trick
of updating psi on a small subsample of the dataset in early iterations is the
``subsample`` schedule of ``ots``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ltot._checks import check_points, check_same_dim
from ltot._distances import pairwise_sq_dists
from ltot._reduce import min_argmin

__all__ = ["COSTS", "AssignmentWindow", "CTransform", "OTSResult", "c_transform", "dual_gradient", "ots", "ots_update",
           "pairwise_cost", "semidiscrete_dual", "semidiscrete_map", "window_balanced", "window_init", "window_push"]

COSTS = ("sqeuclidean", "euclidean", "l1")
_L1_CHUNK_ELEMENTS = 1 << 22  # x-batch * y-chunk * d elements per block of the l1 cost
# x-batch * y-chunk costs per block of the matrix-product costs (16 MiB in float32): all 60,000 MNIST
# images in one block at B = 64, which ran the c-transform in 45.5 ms against 69.0 ms in blocks of
# 16,384 rows (1 << 20 costs) and 47.5 ms for ott-jax's one cost matrix (2-core CPU, 2026-12-06).
_MATMUL_CHUNK_COSTS = 1 << 22


def pairwise_cost(x: jnp.ndarray, y: jnp.ndarray, cost="sqeuclidean") -> jnp.ndarray:
  """c(x_j, y_i) [B, N] for x [B, d], y [N, d]: squared Euclidean, Euclidean, or l1 (the paper's W1 on l1),
  or any ott-jax ``CostFn`` (e.g. ``ott.geometry.costs.SqEuclidean()``: its ``all_pairs``).

  Example:
    >>> import jax.numpy as jnp
    >>> x, y = jnp.array([[0.0, 0.0]]), jnp.array([[3.0, 4.0], [1.0, 1.0]])
    >>> pairwise_cost(x, y).tolist()
    [[25.0, 2.0]]
    >>> pairwise_cost(x, y, 'euclidean').round(4).tolist()
    [[5.0, 1.414199948310852]]
    >>> pairwise_cost(x, y, 'l1').tolist()
    [[7.0, 2.0]]
    >>> from ott.geometry import costs
    >>> pairwise_cost(x, y, costs.PNormP(1)).tolist()  # ott-jax's l1
    [[7.0, 2.0]]
  """
  if not isinstance(cost, str) and hasattr(cost, "all_pairs"):
    return cost.all_pairs(x, y)
  if cost not in COSTS:
    raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
  if cost in ("sqeuclidean", "euclidean"):
    sq = pairwise_sq_dists(x, y)
    return sq if cost == "sqeuclidean" else jnp.sqrt(sq)
  b, d = x.shape
  n = y.shape[0]
  chunk = max(1, min(n, _L1_CHUNK_ELEMENTS // max(1, b * d)))
  pad = (-n) % chunk
  blocks = jnp.pad(y, ((0, pad), (0, 0))).reshape(-1, chunk, d)
  out = jax.lax.map(lambda yb: jnp.sum(jnp.abs(x[:, None, :] - yb[None]), -1), blocks)  # [n_blocks, B, chunk]
  return jnp.moveaxis(out, 0, 1).reshape(b, -1)[:, :n]


class CTransform(NamedTuple):
  """phi [B]: min_i c(x_j, y_i) - psi_i; index [B] int32: the (global) i attaining it, the smallest
  on ties; target [B, d]: y[index], the image of x_j under the map of Prop. 2.5."""
  phi: jnp.ndarray
  index: jnp.ndarray
  target: jnp.ndarray


def c_transform(x: jnp.ndarray, y: jnp.ndarray, psi: jnp.ndarray, *, cost: str = "sqeuclidean",
                chunk: int | None = None, axis_name: str | None = None) -> CTransform:
  """The c-transform of psi at x [B, d] over the dataset y [N, d], in blocks of ``chunk`` rows.

  Memory is O(B * chunk) (l1: O(B * chunk * d)); the default chunk keeps a block near 4 M
  elements (l1) or 4 M costs, so the dataset can be large. With ``axis_name`` (inside ``pmap``/``shard_map`` over K devices), y [n, d] and psi [n]
  are this device's rows of a dataset of N = n * K rows laid out strided: device k holds global
  rows k, k + K, k + 2K, ...; every device gets the global result (an all_gather of each
  device's best value, index and row), equal to the 1-device result on the whole dataset.

  Example:
    >>> import jax.numpy as jnp
    >>> x, y = jnp.array([[0.0, 0.0]]), jnp.array([[3.0, 4.0], [1.0, 1.0]])
    >>> out = c_transform(x, y, jnp.array([0.0, 0.0]))
    >>> out.phi.tolist(), out.index.tolist()
    ([2.0], [1])
    >>> c_transform(x, y, jnp.array([24.0, 0.0])).index.tolist()  # a large enough psi_0 wins x over
    [0]
  """
  b, n = x.shape[0], y.shape[0]
  per_row = b * (y.shape[1] if cost == "l1" else 1)  # elements of one row's block: l1 keeps [B, rows, d]
  chunk = max(1, min(n, chunk or (_L1_CHUNK_ELEMENTS if cost == "l1" else _MATMUL_CHUNK_COSTS) // max(1, per_row)))
  full = n // chunk

  def merge(carry, start, yb, pb):
    best, where = carry
    value, arg = min_argmin(pairwise_cost(x, yb, cost) - pb[None, :])
    better = value < best  # strict: an earlier block keeps its ties
    return jnp.where(better, value, best), jnp.where(better, start + arg, where)

  def block(carry, i):  # slices of y itself: no padded or converted copy of the dataset
    start = i * chunk
    yb, pb = jax.lax.dynamic_slice_in_dim(y, start, chunk), jax.lax.dynamic_slice_in_dim(psi, start, chunk)
    return merge(carry, start, yb, pb), None

  init = (jnp.full((b,), jnp.inf, x.dtype), jnp.zeros((b,), jnp.int32))
  carry, _ = jax.lax.scan(block, init, jnp.arange(full, dtype=jnp.int32))
  if n > full * chunk:
    carry = merge(carry, full * chunk, y[full * chunk:], psi[full * chunk:])
  phi, local = carry
  target = y[local]
  if axis_name is None:
    return CTransform(phi, local, target)
  k, num = jax.lax.axis_index(axis_name), jax.lax.axis_size(axis_name)
  phis, indices, targets = jax.lax.all_gather((phi, local * num + k, target), axis_name)  # [K, B], [K, B], [K, B, d]
  best = jnp.min(phis, axis=0)
  winner = jnp.argmin(jnp.where(phis == best[None], indices, jnp.iinfo(jnp.int32).max), axis=0)  # smallest index
  pick = lambda a: jnp.take_along_axis(a, winner.reshape((1, b) + (1,) * (a.ndim - 2)), axis=0)[0]
  return CTransform(best, pick(indices), pick(targets))


def semidiscrete_dual(psi: jnp.ndarray, x: jnp.ndarray, y: jnp.ndarray, *, cost: str = "sqeuclidean") -> jnp.ndarray:
  """Batch estimate of eq. 2.3, mean_j min_i (c(x_j, y_i) - psi_i) + mean_i psi_i; concave in psi [N].

  Example:
    >>> import jax.numpy as jnp
    >>> x, y = jnp.array([[0.0], [1.0]]), jnp.array([[0.0], [2.0]])
    >>> float(semidiscrete_dual(jnp.zeros(2), x, y))  # mean of min_i |x_j - y_i|^2
    0.5
  """
  return jnp.mean(c_transform(x, y, psi, cost=cost).phi) + jnp.mean(psi)


def semidiscrete_map(x: jnp.ndarray, y: jnp.ndarray, psi: jnp.ndarray, *,
                     cost: str = "sqeuclidean") -> tuple[jnp.ndarray, jnp.ndarray]:
  """The OT map of Prop. 2.5: (indices [B] int32, T(x) = y[indices] [B, d]).

  Example:
    >>> import jax.numpy as jnp
    >>> index, target = semidiscrete_map(jnp.array([[0.2], [0.9]]), jnp.array([[0.0], [1.0]]), jnp.zeros(2))
    >>> index.tolist(), target.tolist()
    ([0, 1], [[0.0], [1.0]])
  """
  check_points("x", x)
  check_points("y", y)
  check_same_dim("x", x, "y", y)
  if psi.shape != (y.shape[0],):
    raise ValueError(f"psi must have shape [N] = ({y.shape[0]},), got {psi.shape}")
  out = c_transform(x, y, psi, cost=cost)
  return out.index, out.target


def dual_gradient(index: jnp.ndarray, num_points: int) -> jnp.ndarray:
  """The gradient of eq. 2.3's batch estimate in psi [N]: 1/N minus the fraction of the batch whose
  c-transform argmin (``index`` [B]) is i. Zero exactly when every y_i receives 1/N of the batch.

  Example:
    >>> import jax.numpy as jnp
    >>> [round(g, 4) for g in dual_gradient(jnp.array([0, 0, 1]), 2).tolist()]  # y_0 got 2/3 of the batch
    [-0.1667, 0.1667]
  """
  counts = jnp.zeros((num_points,), jnp.float32).at[index].add(1.0)
  return 1.0 / num_points - counts / index.shape[0]


def ots_update(psi: jnp.ndarray, opt_state, index: jnp.ndarray, num: int, optimizer: optax.GradientTransformation,
               *, rows: jnp.ndarray | None = None, scale=1.0):
  """One ascent step of Algorithm 1 (OTS) on psi [N] from a batch's c-transform argmins ``index`` [B].

  The batch gradient of eq. 2.3 over the ``num`` active dataset points (``dual_gradient``) is
  multiplied by ``scale * num`` (so that a rate means the same for any dataset size when ``scale``
  is 1), negated (optax descends) and handed to ``optimizer``; ``rows`` [num] are the active points'
  indices in psi (default: the first ``num``). The one OTS step of ``ots`` and of
  ``ltot.methods.ots_fit``. Returns (psi, opt_state, the gradient [num]).

  Example:
    >>> import jax.numpy as jnp, optax
    >>> sgd = optax.sgd(0.5)
    >>> psi, _, grad = ots_update(jnp.zeros(2), sgd.init(jnp.zeros(2)), jnp.array([0, 0, 0, 1]), 2, sgd)
    >>> grad.tolist(), psi.tolist()  # y_0 got 3/4 of the batch: its weight drops, y_1's rises
    ([-0.25, 0.25], [-0.25, 0.25])
  """
  grad = dual_gradient(index, num).astype(psi.dtype)
  ascent = (-(scale * num) * grad).astype(psi.dtype)
  full = jnp.zeros_like(psi).at[:num].set(ascent) if rows is None else jnp.zeros_like(psi).at[rows].set(ascent)
  updates, opt_state = optimizer.update(full, opt_state, psi)
  return optax.apply_updates(psi, updates), opt_state, grad


class AssignmentWindow(NamedTuple):
  """The assignments of the last W OTS steps: what the OTS/FIT authors' stopping rule counts, and
  the (noise, target) pairs their FIT regresses on.

  index [W, B] int32: each step's c-transform argmins (global dataset rows), -1 where empty;
  keys [W, ...]: key data of each step's noise draw (its z is regenerated from it); counts
  [bins] int32: the window's assignments per bin of consecutive dataset rows; pos: the next slot;
  filled: the slots filled.
  """
  index: jnp.ndarray
  keys: jnp.ndarray
  counts: jnp.ndarray
  pos: jnp.ndarray
  filled: jnp.ndarray


def window_init(window: int, batch_size: int, bins: int, key_shape: tuple[int, ...] = (2,)) -> AssignmentWindow:
  """An empty ``AssignmentWindow`` of ``window`` steps of ``batch_size`` assignments, ``bins`` bins.

  Example:
    >>> w = window_init(4000, 64, 1000)
    >>> w.index.shape, w.counts.shape, int(w.filled)
    ((4000, 64), (1000,), 0)
  """
  if window < 1 or batch_size < 1 or bins < 1:
    raise ValueError(f"need window, batch_size, bins >= 1, got {window}, {batch_size}, {bins}")
  return AssignmentWindow(jnp.full((window, batch_size), -1, jnp.int32), jnp.zeros((window, *key_shape), jnp.uint32),
                          jnp.zeros((bins,), jnp.int32), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def _bins(index: jnp.ndarray, num: int, bins: int) -> jnp.ndarray:
  """Bin [B] of each assignment, ``bins`` bins of ceil(num / bins) consecutive rows of the ``num``
  active points; ``bins`` (dropped) for an empty slot (-1)."""
  return jnp.where(index >= 0, index // -(-num // bins), bins).astype(jnp.int32)


def window_push(w: AssignmentWindow, index: jnp.ndarray, key_data: jnp.ndarray, num: int) -> AssignmentWindow:
  """The window after one more step with argmins ``index`` [B] over ``num`` active points; the
  oldest step leaves it once it is full.

  Example:
    >>> import jax.numpy as jnp
    >>> w = window_init(2, 3, 2)
    >>> for batch in ([0, 0, 3], [1, 2, 3], [3, 3, 3]):
    ...   w = window_push(w, jnp.array(batch), jnp.zeros(2, jnp.uint32), 4)
    >>> w.counts.tolist(), int(w.filled)  # the last two steps: rows 0-1 are bin 0, rows 2-3 bin 1
    ([1, 5], 2)
  """
  bins = w.counts.shape[0]
  out = jax.ops.segment_sum(jnp.ones_like(w.index[w.pos]), _bins(w.index[w.pos], num, bins), bins + 1)[:bins]
  add = jax.ops.segment_sum(jnp.ones_like(index), _bins(index, num, bins), bins + 1)[:bins]
  window = w.index.shape[0]
  return AssignmentWindow(w.index.at[w.pos].set(index.astype(jnp.int32)), w.keys.at[w.pos].set(key_data),
                          w.counts - out + add, (w.pos + 1) % window, jnp.minimum(w.filled + 1, window))


def window_balanced(w: AssignmentWindow, num: int, low: float, high: float) -> jnp.ndarray:
  """The OTS/FIT authors' stopping rule: the window is full and every bin of the ``num`` active
  points holds between ``low`` and ``high`` times its expected count (its share of the rows times
  the window's assignments). Their MNIST constants: 4,000 steps of 64, 1,000 bins of 60 images,
  an expected 256 per bin, and the range [200, 320], i.e. ``low`` = 0.78125, ``high`` = 1.25.

  Example:
    >>> import jax.numpy as jnp
    >>> w = window_push(window_init(1, 4, 2), jnp.array([0, 1, 2, 3]), jnp.zeros(2, jnp.uint32), 4)
    >>> bool(window_balanced(w, 4, 1.0, 1.0)), bool(window_balanced(w, 4, 1.1, 2.0))
    (True, False)
  """
  bins = w.counts.shape[0]
  size = -(-num // bins)
  rows = jnp.clip(num - jnp.arange(bins) * size, 0, size)  # rows of each bin (the last may be short; some empty)
  expected = w.index.size * rows / num
  ok = (rows == 0) | ((w.counts >= low * expected) & (w.counts <= high * expected))
  return (w.filled == w.index.shape[0]) & jnp.all(ok)


class OTSResult(NamedTuple):
  """psi [N]: the dual weights; dual [num_steps]: the batch estimate of eq. 2.3 before each step
  (on the step's subsample while one is used)."""
  psi: jnp.ndarray
  dual: jnp.ndarray


def ots(rng: jax.Array, sample: Callable[[jax.Array, int], jnp.ndarray], y: jnp.ndarray, *, num_steps: int,
        batch_size: int, learning_rate: float = 0.1, cost: str = "sqeuclidean", psi: jnp.ndarray | None = None,
        optimizer: optax.GradientTransformation | None = None,
        subsample: Sequence[tuple[int, float]] = ()) -> OTSResult:
  """Algorithm 1 (OTS): stochastic gradient ascent on eq. 2.3 over the whole dataset y [N, d].

  Args:
    rng: root key of the run.
    sample: (key, batch_size) -> x [batch_size, d], jittable; draws from the generated measure.
    y: the dataset.
    num_steps: total ascent steps, subsample stages included.
    batch_size: B, samples per step.
    learning_rate: eta of plain SGD ascent (the paper's update), unless ``optimizer`` is given.
    cost: one of COSTS.
    psi: warm start [N] (e.g. the previous OTS call's); zeros by default.
    optimizer: an optax transformation applied to the negated gradient, replacing plain SGD.
    subsample: stages (steps, fraction) run first: each step updates psi only on a block of
      ceil(fraction * N) dataset points (blocks of one random permutation per stage, in turn),
      the paper's Sec. 4 acceleration. The remaining steps use the whole dataset.

  Returns:
    OTSResult(psi, dual).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> y = jnp.array([[0.0], [1.0]])
    >>> sample = lambda key, n: jax.random.uniform(key, (n, 1), minval=-0.5, maxval=0.5)  # U[-0.5, 0.5]
    >>> res = ots(jax.random.key(0), sample, y, num_steps=2000, batch_size=64, learning_rate=0.05)
    >>> index, _ = semidiscrete_map(sample(jax.random.key(1), 4096), y, res.psi)
    >>> round(float(jnp.mean(index)), 1)  # half of the mass goes to each y_i
    0.5
  """
  check_points("y", y)
  n = y.shape[0]
  if cost not in COSTS:
    raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
  if num_steps < 1 or batch_size < 1:
    raise ValueError(f"num_steps and batch_size must be >= 1, got {num_steps} and {batch_size}")
  stages = [(int(s), float(f)) for s, f in subsample]
  if any(s < 1 or not 0.0 < f <= 1.0 for s, f in stages) or sum(s for s, _ in stages) > num_steps:
    raise ValueError(f"subsample stages must be (steps >= 1, 0 < fraction <= 1) within num_steps, got {subsample}")
  stages.append((num_steps - sum(s for s, _ in stages), 1.0))
  psi = jnp.zeros(n, y.dtype) if psi is None else jnp.asarray(psi, y.dtype)
  if psi.shape != (n,):
    raise ValueError(f"psi must have shape [N] = ({n},), got {psi.shape}")
  # Plain SGD is one fixed transformation with the rate applied to the gradient, so repeated
  # calls (one per OTS/FIT round) reuse one compilation.
  scale, optimizer = (learning_rate, _SGD) if optimizer is None else (1.0, optimizer)
  opt_state = optimizer.init(psi)
  duals = []
  for (steps, fraction), key in zip(stages, jax.random.split(rng, len(stages))):
    if steps == 0:
      continue
    block = min(n, max(1, math.ceil(fraction * n - 1e-9)))
    k_perm, k_steps = jax.random.split(key)
    blocks = jax.random.permutation(k_perm, n)[: (n // block) * block].reshape(n // block, block)
    psi, opt_state, dual = _run_stage(k_steps, blocks, y, psi, opt_state, jnp.asarray(scale, y.dtype),
                                      sample=sample, optimizer=optimizer, steps=steps, batch_size=batch_size,
                                      cost=cost)
    duals.append(dual)
  return OTSResult(psi, jnp.concatenate(duals))


_SGD = optax.sgd(1.0)


@functools.partial(jax.jit, static_argnames=("sample", "optimizer", "steps", "batch_size", "cost"))
def _run_stage(key, blocks, y, psi, opt_state, scale, *, sample, optimizer, steps, batch_size, cost):
  """``steps`` ascent steps; step t updates psi on the dataset points blocks[t % len(blocks)]."""
  block = blocks.shape[1]

  def step(carry, inputs):
    psi, opt_state = carry
    t, k = inputs
    idx = blocks[t % blocks.shape[0]]
    out = c_transform(sample(k, batch_size), y[idx], psi[idx], cost=cost)
    dual = jnp.mean(out.phi) + jnp.mean(psi[idx])
    psi, opt_state, _ = ots_update(psi, opt_state, out.index, block, optimizer, rows=idx, scale=scale / block)
    return (psi, opt_state), dual

  (psi, opt_state), dual = jax.lax.scan(step, (psi, opt_state), (jnp.arange(steps), jax.random.split(key, steps)))
  return psi, opt_state, dual
