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

__all__ = ["COSTS", "CTransform", "OTSResult", "c_transform", "dual_gradient", "ots", "pairwise_cost", "semidiscrete_dual", "semidiscrete_map"]

COSTS = ("sqeuclidean", "euclidean", "l1")
_L1_CHUNK_ELEMENTS = 1 << 22  # x-batch * y-chunk * d elements per block of the l1 cost


def pairwise_cost(x: jnp.ndarray, y: jnp.ndarray, cost: str = "sqeuclidean") -> jnp.ndarray:
  """c(x_j, y_i) [B, N] for x [B, d], y [N, d]: squared Euclidean, Euclidean, or l1 (the paper's W1 on l1).

  Example:
    >>> import jax.numpy as jnp
    >>> x, y = jnp.array([[0.0, 0.0]]), jnp.array([[3.0, 4.0], [1.0, 1.0]])
    >>> pairwise_cost(x, y).tolist()
    [[25.0, 2.0]]
    >>> pairwise_cost(x, y, 'euclidean').round(4).tolist()
    [[5.0, 1.414199948310852]]
    >>> pairwise_cost(x, y, 'l1').tolist()
    [[7.0, 2.0]]
  """
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
  elements (l1) or 1 M costs, so the dataset can be large. With ``axis_name`` (inside ``pmap``/``shard_map`` over K devices), y [n, d] and psi [n]
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
  chunk = max(1, min(n, chunk or (_L1_CHUNK_ELEMENTS if cost == "l1" else 1 << 20) // max(1, per_row)))
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


def _dual_gradient(psi, x, y, cost):
  """(F estimate, dF/dpsi [N]) on the batch x."""
  out = c_transform(x, y, psi, cost=cost)
  return jnp.mean(out.phi) + jnp.mean(psi), dual_gradient(out.index, psi.shape[0]).astype(psi.dtype)


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

  def step(carry, inputs):
    psi, opt_state = carry
    t, k = inputs
    idx = blocks[t % blocks.shape[0]]
    dual, grad = _dual_gradient(psi[idx], sample(k, batch_size), y[idx], cost)
    updates, opt_state = optimizer.update(-scale * jnp.zeros_like(psi).at[idx].set(grad), opt_state, psi)
    return (optax.apply_updates(psi, updates), opt_state), dual

  (psi, opt_state), dual = jax.lax.scan(step, (psi, opt_state), (jnp.arange(steps), jax.random.split(key, steps)))
  return psi, opt_state, dual
