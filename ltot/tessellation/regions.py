"""Uniform samples of each region of a tessellation of the unit ball, and region statistics."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ltot._checks import check_points
from ltot._distances import pairwise_sq_dists
from ltot.ot import balanced_assignment, lcm
from ltot.tessellation.cvt import assign_regions, sample_ball

__all__ = ["SAMPLERS", "region_masses", "sample_regions"]

SAMPLERS = ("exact", "capacity")


def region_masses(labels: jnp.ndarray, num_regions: int) -> jnp.ndarray:
  """Fraction [m] of the labels [n] in each region.

  Example:
    >>> import jax.numpy as jnp
    >>> region_masses(jnp.array([0, 2, 2, 2]), 3).tolist()
    [0.25, 0.0, 0.75]
  """
  return jnp.bincount(labels, length=num_regions) / labels.shape[0]


@functools.partial(jax.jit, static_argnames=("per_region", "draw"))
def _exact(rng, generators, per_region, draw):
  """Fills [m, per_region] slots with uniform ball points, ``draw`` per round, each into its own region."""
  m, d = generators.shape

  def round_(carry):
    key, out, count = carry
    key, sub = jax.random.split(key)
    z = sample_ball(sub, draw, d)
    labels = assign_regions(z, generators)
    order = jnp.argsort(labels, stable=True)
    sorted_labels = labels[order]
    pos = jnp.arange(draw, dtype=jnp.int32)
    slot = count[sorted_labels] + pos - jax.ops.segment_min(pos, sorted_labels, m)[sorted_labels]
    keep = slot < per_region
    out = out.at[jnp.where(keep, sorted_labels, m), jnp.where(keep, slot, 0)].set(z[order], mode="drop")
    return key, out, jnp.minimum(count + jnp.bincount(labels, length=m), per_region)

  init = (rng, jnp.zeros((m, per_region, d), generators.dtype), jnp.zeros(m, jnp.int32))
  return jax.lax.while_loop(lambda c: jnp.any(c[2] < per_region), round_, init)[1]


def _by_capacity(rng, generators, per_region, assign):
  m, d = generators.shape
  z = sample_ball(rng, m * per_region, d).astype(generators.dtype)
  solve = balanced_assignment if assign == "exact" else lcm
  labels = solve(pairwise_sq_dists(z, generators), per_region)  # every region receives exactly per_region points
  return z[jnp.argsort(labels, stable=True)].reshape(m, per_region, d)


def sample_regions(rng: jax.Array, generators: jnp.ndarray, per_region: int, *, method: str = "exact",
                   oversample: float = 1.5, assign: str = "exact") -> jnp.ndarray:
  """Uniform samples [m, per_region, d] of each Voronoi region of generators [m, d] inside the unit ball.

  method="exact": draws uniform ball points in rounds of ``oversample * m * per_region`` and
    keeps, per region, the first ``per_region`` that fall in it: i.i.d. uniform on each region
    (a uniform point conditioned on its region is uniform there). There is no per-region
    rejection, so in any dimension the expected number of points drawn is about
    per_region / (smallest region mass), i.e. ~1x to 2x m * per_region for CVT or E8 cells.
  method="capacity": the TWAE authors' trick: m * per_region uniform ball points split into
    regions of exactly ``per_region`` by a capacity-constrained assignment to the generators on
    squared distances: ``assign="exact"`` (``ltot.ot.balanced_assignment``) or ``"lcm"`` (TWAE's
    least cost method, ``ltot.ot.lcm``: what the authors' code does). All points together are
    exactly uniform on the ball, but points near a boundary can be moved to a neighbouring
    region, so each region's batch is only approximately uniform on that region.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> gens = jnp.array([[-0.5, 0.0], [0.5, 0.0]])
    >>> s = sample_regions(jax.random.key(0), gens, 100)
    >>> s.shape, bool(jnp.all(s[0, :, 0] <= 0.0)), bool(jnp.all(s[1, :, 0] >= 0.0))  # each in its half-disk
    ((2, 100, 2), True, True)
  """
  generators = jnp.asarray(generators)
  check_points("generators", generators)
  if method not in SAMPLERS:
    raise ValueError(f"method must be one of {SAMPLERS}, got {method!r}")
  if int(per_region) != per_region or per_region < 1:
    raise ValueError(f"per_region must be a positive integer, got {per_region}")
  if not oversample > 0:
    raise ValueError(f"oversample must be > 0, got {oversample}")
  if assign not in ("exact", "lcm"):
    raise ValueError(f"assign must be 'exact' or 'lcm', got {assign!r}")
  if method == "capacity":
    return _by_capacity(rng, generators, int(per_region), assign)
  draw = max(1, int(oversample * generators.shape[0] * per_region))
  return _exact(rng, generators, int(per_region), draw)
