"""E8 generators (TWAE Sec. 2.5) and per-region uniform sampling."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from ltot.tessellation import (E8_SCALE, assign_regions, cvt, e8_roots, e8_tessellation, region_masses,
                               sample_ball, sample_regions)


def test_e8_roots_form_the_root_system():
  r = e8_roots()
  assert r.shape == (240, 8)
  np.testing.assert_array_equal((r * r).sum(1), 2.0)
  assert len({tuple(v) for v in r}) == 240
  assert {tuple(v) for v in r} == {tuple(-v) for v in r}  # closed under negation
  gram = r @ r.T
  assert set(np.unique(gram)) == {-2.0, -1.0, 0.0, 1.0, 2.0}
  assert np.all((gram == 1.0).sum(1) == 56)
  # Integral lattice: integer inner products, and every root is in D8 or D8 + (1/2)^8.
  assert np.all(gram == np.round(gram))


def test_e8_scale_gives_the_central_cell_one_241st_of_the_ball():
  # vol(B^8) = pi^4 / 24; the central cell is E8_SCALE * (Voronoi cell of E8, volume 1).
  assert E8_SCALE**8 == pytest.approx(math.pi**4 / 24 / 241, rel=1e-12)
  g = e8_tessellation()
  assert g.shape == (241, 8) and np.all(np.asarray(g[0]) == 0)
  # The deep holes of E8 are at distance 1 (covering radius): (1, 0^7) is one; scaled, the
  # central cell reaches exactly E8_SCALE < 1, so it lies inside the ball whole.
  hole = np.zeros(8, np.float32)
  hole[0] = 1.0
  assert np.max(np.asarray(e8_roots()) @ hole) == 1.0
  assert E8_SCALE < 1


@pytest.mark.slow
def test_e8_regions_have_equal_volume_monte_carlo():
  n = 1_200_000
  z = sample_ball(jax.random.key(0), n, 8)
  counts = np.bincount(np.asarray(assign_regions(z, e8_tessellation())), minlength=241)
  # Multinomial with equal cells: chi-square goodness of fit, and the central cell within 5 sigma.
  assert stats.chisquare(counts).pvalue > 1e-3
  sigma = math.sqrt(n * (1 / 241) * (240 / 241))
  assert abs(counts[0] - n / 241) < 5 * sigma
  assert np.all(np.abs(counts - n / 241) < 6 * sigma)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["exact", "capacity"])
def test_sample_regions_in_ball_and_deterministic(method):
  g = cvt(jax.random.key(1), 12, 3, num_samples=4000, num_iters=20).generators
  s = sample_regions(jax.random.key(2), g, 30, method=method)
  assert s.shape == (12, 30, 3)
  assert np.all(np.linalg.norm(np.asarray(s), axis=-1) <= 1 + 1e-6)
  np.testing.assert_array_equal(s, sample_regions(jax.random.key(2), g, 30, method=method))
  labels = np.asarray(assign_regions(s.reshape(-1, 3), g)).reshape(12, 30)
  own = np.mean(labels == np.arange(12)[:, None])
  if method == "exact":
    assert own == 1.0  # every sample lies in its own region
  else:
    assert 0.7 < own < 1.0  # the capacity trick moves boundary points to neighbours


def test_sample_regions_exact_is_uniform_within_a_2d_region():
  # Region 0 of two generators (+-0.5, 0) is the left half-disk: x = -|x| and, uniform there,
  # the radius has CDF r^2 and the angle is uniform on (pi/2, 3pi/2).
  g = jnp.array([[-0.5, 0.0], [0.5, 0.0]])
  s = np.asarray(sample_regions(jax.random.key(3), g, 3000))
  left = s[0]
  assert np.all(left[:, 0] <= 0)
  r = np.linalg.norm(left, axis=1)
  assert stats.kstest(r, lambda t: np.clip(t, 0, 1) ** 2).pvalue > 1e-3
  angle = np.mod(np.arctan2(left[:, 1], left[:, 0]), 2 * np.pi)
  assert stats.kstest(angle, stats.uniform(np.pi / 2, np.pi).cdf).pvalue > 1e-3


def test_sample_regions_handles_unequal_regions_and_64d():
  g = sample_ball(jax.random.key(4), 50, 64)  # random generators: very unequal regions
  s = sample_regions(jax.random.key(5), g, 4)
  labels = np.asarray(assign_regions(s.reshape(-1, 64), g)).reshape(50, 4)
  assert np.all(labels == np.arange(50)[:, None])


def test_region_masses_and_errors():
  np.testing.assert_allclose(region_masses(jnp.array([0, 0, 2, 1]), 4), [0.5, 0.25, 0.25, 0.0])
  g = jnp.zeros((3, 2))
  with pytest.raises(ValueError, match="method"):
    sample_regions(jax.random.key(0), g, 2, method="rejection")
  with pytest.raises(ValueError, match="per_region"):
    sample_regions(jax.random.key(0), g, 0)
  with pytest.raises(ValueError, match="NaN"):
    sample_regions(jax.random.key(0), g.at[0, 0].set(jnp.nan), 2)
