import numpy as np
import scipy.stats
import pytest

from ltot.data import toy


def test_eight_gaussians_modes(rng):
  x = toy.eight_gaussians(rng, 8 * 4000)
  assert x.shape == (32000, 2) and x.dtype == np.float32
  angles = 2 * np.pi * np.arange(8) / 8
  centres = 10 * np.stack([np.cos(angles), np.sin(angles)], 1)
  nearest = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), 1)
  assert np.all(np.bincount(nearest) > 3900)
  resid = x - centres[np.arange(len(x)) % 8]
  np.testing.assert_allclose(resid.var(0), [1.0, 1.0], rtol=0.05)  # sigma^2 = 1


def test_moons_and_circles_geometry(rng):
  m = toy.moons(rng, 2000, noise=0.0)
  assert m.shape == (2000, 2)
  r_outer = np.linalg.norm(m, axis=1)
  r_inner = np.linalg.norm(m - [1.0, 0.5], axis=1)
  assert np.all(np.isclose(r_outer, 1, atol=1e-5) | np.isclose(r_inner, 1, atol=1e-5))
  assert 900 < np.sum(np.isclose(r_outer, 1, atol=1e-5)) < 1100  # each half circle with probability 1/2
  c = toy.circles(rng, 2000, noise=0.0, factor=0.5)
  r = np.linalg.norm(c, axis=1)
  on_outer, on_inner = np.isclose(r, 1, atol=1e-5), np.isclose(r, 0.5, atol=1e-5)
  assert np.all(on_outer | on_inner) and 900 < on_outer.sum() < 1100
  # i.i.d. uniform angles (not an even grid): Kolmogorov-Smirnov against U(0, 2 pi).
  angles = np.arctan2(c[:, 1], c[:, 0]) % (2 * np.pi)
  assert scipy.stats.kstest(angles / (2 * np.pi), "uniform").pvalue > 0.01
  assert not np.allclose(np.sort(angles), np.sort(np.arctan2(*toy.circles(rng, 2000, noise=0.0)[:, ::-1].T) % (2 * np.pi)))


def test_ring_and_segment(rng):
  r = np.linalg.norm(toy.ring(rng, 5000, radius=1.0, width=0.05), axis=1)
  assert r.min() >= 0.95 and r.max() <= 1.05
  s = toy.line_segment(rng, 100)
  assert np.all(s[:, 1] == 0) and np.abs(s[:, 0]).max() <= 0.5


def test_bad_arguments(rng):
  with pytest.raises(ValueError, match="num"):
    toy.moons(rng, 0)
  with pytest.raises(ValueError, match="factor"):
    toy.circles(rng, 10, factor=1.5)
