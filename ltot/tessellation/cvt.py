"""Uniform unit-ball prior, its Voronoi tessellations by Lloyd / MacQueen (TWAE Sec. 2.4)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import tqdm
from flax import struct

from ltot._checks import check_points, is_concrete
from ltot._reduce import min_argmin

__all__ = ["Tessellation", "sample_ball", "assign_regions", "cvt", "quantization_energy"]


@struct.dataclass
class Tessellation:
  """Generators [m, d] and the clustering energy (TWAE eq. 14) before each iteration [num_iters]."""

  generators: jnp.ndarray
  energy: jnp.ndarray


def sample_ball(rng: jax.Array, num: int, dim: int, radius: float = 1.0) -> jnp.ndarray:
  """[num, dim] points uniform in the ball of ``radius``: uniform direction, radius r * U^(1/dim).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> z = sample_ball(jax.random.key(0), 1000, 3)
    >>> z.shape, bool(jnp.all(jnp.linalg.norm(z, axis=1) <= 1.0))
    ((1000, 3), True)
  """
  if num < 0 or dim < 1 or not radius > 0:
    raise ValueError(f"need num >= 0, dim >= 1, radius > 0; got num={num}, dim={dim}, radius={radius}")
  k_dir, k_rad = jax.random.split(rng)
  v = jax.random.normal(k_dir, (num, dim))
  v = v / jnp.linalg.norm(v, axis=1, keepdims=True)
  return v * (radius * jax.random.uniform(k_rad, (num, 1)) ** (1.0 / dim))


def _nearest(z: jnp.ndarray, generators: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(labels [n], squared distance [n]) to the nearest generator, matmul form."""
  half = 0.5 * jnp.sum(generators * generators, -1)[None] - z @ generators.T  # |g|^2/2 - <z, g>
  low, labels = min_argmin(half)
  return labels, jnp.maximum(jnp.sum(z * z, -1) + 2.0 * low, 0.0)


_CHUNK = 2048  # rows of z per block on CPUs: a [chunk, m] block of distances stays in cache
_ACCELERATOR_BLOCK = 1 << 26  # distances per block elsewhere (256 MiB in float32)


def _block_rows(m: int, platform: str) -> int:
  """Rows of z per [rows, m] block of distances. CPUs: ``_CHUNK`` (cache-sized blocks measured faster than
  one pass). Accelerators: as many rows as ``_ACCELERATOR_BLOCK`` distances allow, because the blocks run
  one after another and each costs a few microseconds of launch: 49 blocks of 2048 rows took 37 ms of 50
  Lloyd iterations on an H100 (100k points, m = 400) where ott-jax's one pass took 13 ms."""
  return _CHUNK if platform == "cpu" else max(_CHUNK, _ACCELERATOR_BLOCK // max(m, 1))


def _nearest_chunked(z, generators, chunk=None):
  """``_nearest`` over blocks of ``chunk`` rows of z (None: ``_block_rows`` for the default backend), in
  O(chunk * m) memory."""
  n, d = z.shape
  chunk = min(chunk or _block_rows(generators.shape[0], jax.default_backend()), n)
  pad = (-n) % chunk
  blocks = jnp.pad(z, ((0, pad), (0, 0))).reshape(-1, chunk, d)
  labels, sq = jax.lax.map(lambda b: _nearest(b, generators), blocks)
  return labels.reshape(-1)[:n], sq.reshape(-1)[:n]


_assign_chunked = jax.jit(lambda z, g, chunk: _nearest_chunked(z, g, chunk)[0], static_argnums=2)


def assign_regions(z: jnp.ndarray, generators: jnp.ndarray, *, chunk: int = 8192) -> jnp.ndarray:
  """Index [n] int32 of the nearest generator of each z [n, d] (generators [m, d]).

  Works through z in chunks of ``chunk`` rows, so memory is O(chunk * m), not O(n * m).

  Example:
    >>> import jax.numpy as jnp
    >>> assign_regions(jnp.array([[0.9, 0.0], [-0.2, 0.1]]), jnp.array([[0.0, 0.0], [1.0, 0.0]])).tolist()
    [1, 0]
  """
  z, generators = jnp.asarray(z), jnp.asarray(generators)
  check_points("z", z)
  check_points("generators", generators)
  if z.shape[1] != generators.shape[1]:
    raise ValueError(f"z has dimension {z.shape[1]} but generators have {generators.shape[1]}")
  return _assign_chunked(z, generators, int(min(chunk, z.shape[0])))


def quantization_energy(samples: jnp.ndarray, generators: jnp.ndarray) -> jnp.ndarray:
  """Monte-Carlo estimate of eq. 14 for the uniform density: mean_x min_i |x - z_i|^2.

  samples [n, d] drawn from the density, generators [m, d] -> scalar.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> z = sample_ball(jax.random.key(0), 100_000, 2)
    >>> round(float(quantization_energy(z, jnp.zeros((1, 2)))), 2)  # E|z|^2 = 1/2 in the disk
    0.5
  """
  return jnp.mean(_nearest_chunked(samples, generators)[1])


# The progress bar of the cvt() call running in this process (a Lloyd iteration ticks it from inside
# the compiled loop through jax.debug.callback); None when no bar was asked for.
_BAR: list = [None]


def _tick() -> None:
  if _BAR[0] is not None:
    _BAR[0].update(1)


def _lloyd(samples, init, num_iters, report):
  m = init.shape[0]

  def step(g, _):
    if report:
      jax.debug.callback(_tick, ordered=True)
    labels, sq = _nearest_chunked(samples, g)
    sums = jax.ops.segment_sum(samples, labels, m)
    counts = jax.ops.segment_sum(jnp.ones_like(labels, samples.dtype), labels, m)
    new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1)[:, None], g)  # empty: keep
    return new, jnp.mean(sq)

  return jax.lax.scan(step, init, None, length=num_iters)


def _macqueen(rng, init, num_iters, num_samples, dim, report):
  """Probabilistic Lloyd: one fresh uniform point at a time moves its nearest generator (TWAE Sec. 2.4)."""
  m = init.shape[0]

  def one_point(carry, y):
    g, j = carry
    i = min_argmin(jnp.sum((g - y) ** 2, -1))[1]
    g = g.at[i].set((j[i] * g[i] + y) / (j[i] + 1))
    return (g, j.at[i].add(1)), None

  def sweep(carry, key):
    if report:
      jax.debug.callback(_tick, ordered=True)
    points = sample_ball(key, num_samples, dim)
    energy = quantization_energy(points, carry[0])
    return jax.lax.scan(one_point, carry, points)[0], energy

  (g, _), energy = jax.lax.scan(sweep, (init, jnp.ones((m,), init.dtype)), jax.random.split(rng, num_iters))
  return g, energy


def _kmeans_pp(rng, samples, m):
  """k-means++ seeding on the samples (D^2 sampling)."""
  keys = jax.random.split(rng, m)
  first = samples[jax.random.randint(keys[0], (), 0, samples.shape[0])]
  g = jnp.zeros((m, samples.shape[1]), samples.dtype).at[0].set(first)
  d2 = jnp.sum((samples - first) ** 2, -1)

  def pick(i, carry):
    g, d2 = carry
    c = samples[jax.random.choice(keys[i], samples.shape[0], p=d2 / jnp.sum(d2))]
    return g.at[i].set(c), jnp.minimum(d2, jnp.sum((samples - c) ** 2, -1))

  return jax.lax.fori_loop(1, m, pick, (g, d2))[0]


@functools.partial(jax.jit, static_argnames=("num_regions", "dim", "num_samples", "num_iters", "method", "init", "report"))
def _cvt(rng, num_regions, dim, num_samples, num_iters, method, init, report):
  k_samples, k_init, k_run = jax.random.split(rng, 3)
  samples = sample_ball(k_samples, num_samples, dim)
  if init == "monte_carlo":
    start = sample_ball(k_init, num_regions, dim)
  else:
    start = _kmeans_pp(k_init, samples, num_regions)
  if method == "lloyd":
    g, energy = _lloyd(samples, start, num_iters, report)
  else:
    g, energy = _macqueen(k_run, start, num_iters, num_samples, dim, report)
  return Tessellation(generators=g, energy=energy)


def cvt(rng: jax.Array, num_regions: int, dim: int, *, num_samples: int, num_iters: int,
        method: str = "lloyd", init: str = "monte_carlo", progress: bool | None = False) -> Tessellation:
  """An approximate centroidal Voronoi tessellation of the uniform unit ball.

  Args:
    rng: the only source of randomness (same key, same result).
    num_regions: m generators.
    dim: d.
    num_samples: Monte-Carlo points of the ball per estimate (Lloyd: one fixed set
      whose region means are the centroids; MacQueen: fresh points each sweep).
    num_iters: Lloyd iterations, or MacQueen sweeps over ``num_samples`` points.
    method: "lloyd" (TWAE Sec. 2.4 steps 0-3) or "macqueen" (the "K-means
      method": each point moves its nearest generator to the running mean).
    init: "monte_carlo" (m uniform points of the ball, the paper) or "kmeans++".
    progress: a tqdm bar of the iterations on stderr (None: only where stderr is a terminal).
      Not under an outer jit (the bar is ticked by ``jax.debug.callback``).

  Returns:
    ``Tessellation`` with generators [m, d] and ``energy[t]``, the eq. 14 estimate
    at the generators before iteration t.

  Example:
    >>> import jax
    >>> tess = cvt(jax.random.key(0), 10, 2, num_samples=10_000, num_iters=20)
    >>> tess.generators.shape, bool(tess.energy[-1] < tess.energy[0])  # Lloyd lowers the energy
    ((10, 2), True)
  """
  if method not in ("lloyd", "macqueen"):
    raise ValueError(f"method must be 'lloyd' or 'macqueen', got {method!r}")
  if init not in ("monte_carlo", "kmeans++"):
    raise ValueError(f"init must be 'monte_carlo' or 'kmeans++', got {init!r}")
  if num_regions < 1 or dim < 1 or num_iters < 1:
    raise ValueError(f"need num_regions, dim, num_iters >= 1; got {num_regions}, {dim}, {num_iters}")
  if num_samples < num_regions:
    raise ValueError(f"num_samples={num_samples} must be at least num_regions={num_regions}")
  bar = tqdm.tqdm(total=num_iters, desc=f"CVT: {method}, {num_regions} regions of the {dim}-ball", disable=progress
                  if progress is None else not progress, mininterval=1.0, leave=False)
  if bar.disable or not is_concrete(rng):  # no bar under an outer transformation (jit, eval_shape)
    bar.close()
    return _cvt(rng, num_regions, dim, num_samples, num_iters, method, init, False)
  _BAR[0] = bar
  try:
    return jax.block_until_ready(_cvt(rng, num_regions, dim, num_samples, num_iters, method, init, True))
  finally:
    jax.effects_barrier()  # every tick has run
    _BAR[0] = None
    bar.close()
