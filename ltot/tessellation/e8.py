"""The E8 tessellation of the unit ball in R^8 (TWAE Sec. 2.5).

Generators: the origin and the 240 roots of E8 scaled by lambda. The origin's
Voronoi cell is lambda * V, where V = {z : <z, r> <= 1 for every root r} is the
Voronoi cell of the E8 lattice (its Voronoi-relevant vectors are the roots). The
lattice is unimodular, so vol(V) = 1, and its covering radius is 1, so V lies in
the unit ball. Hence for lambda <= 1 the central region is lambda * V whole, of
volume lambda^8, and equal volumes need lambda^8 = vol(B^8) / 241 = pi^4 / (24 * 241)
exactly. The Weyl group of E8 permutes the roots transitively and fixes the
ball, so the 240 outer regions are congruent and share the rest equally.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np

__all__ = ["E8_SCALE", "e8_roots", "e8_tessellation"]

E8_SCALE = (math.pi**4 / 24 / 241) ** (1 / 8)  # lambda, ~0.6006; pi^4 / 24 is the volume of the unit 8-ball


def e8_roots() -> np.ndarray:
  """The 240 roots of E8 [240, 8] float64: (+-1, +-1, 0^6) in all positions, and (+-1/2)^8 with an
  even number of minus signs.

  Example:
    >>> import numpy as np
    >>> r = e8_roots()
    >>> r.shape, set(np.round(np.linalg.norm(r, axis=1) ** 2, 6).tolist())  # 240 roots of norm^2 2
    ((240, 8), {2.0})
  """
  integer = []
  for i, j in itertools.combinations(range(8), 2):
    for si, sj in itertools.product((1.0, -1.0), repeat=2):
      r = np.zeros(8)
      r[i], r[j] = si, sj
      integer.append(r)
  half = [np.array(s) * 0.5 for s in itertools.product((1.0, -1.0), repeat=8) if s.count(-1.0) % 2 == 0]
  return np.array(integer + half)


def e8_tessellation(dtype=jnp.float32) -> jnp.ndarray:
  """Generators [241, 8]: the origin, then E8_SCALE * the 240 roots; all 241 regions of the unit ball have equal volume.

  Example:
    >>> g = e8_tessellation()
    >>> g.shape, g[0].tolist() == [0.0] * 8
    ((241, 8), True)
  """
  return jnp.asarray(np.vstack([np.zeros((1, 8)), E8_SCALE * e8_roots()]), dtype)
