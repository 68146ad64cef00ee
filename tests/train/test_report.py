import numpy as np
import pytest

from ltot.train.report import latent_path


def test_linear_path():
  a, b = np.zeros((1, 3)), np.ones((1, 3))
  np.testing.assert_allclose(latent_path(a, b, 5)[0, :, 0], [0, 0.25, 0.5, 0.75, 1])


def test_near_surface_path_keeps_away_from_the_centre():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
  a *= 0.9 / np.linalg.norm(a, axis=1, keepdims=True)
  b *= 0.95 / np.linalg.norm(b, axis=1, keepdims=True)
  b[0] = -a[0] * 0.95 / 0.9  # antipodal pair: the degenerate case still gives a path of the right radii
  path = latent_path(a, b, 11, "near_surface")
  np.testing.assert_allclose(path[:, 0], a, atol=1e-12)
  np.testing.assert_allclose(path[:, -1], b, atol=1e-12)
  radii = np.linalg.norm(path, axis=-1)
  np.testing.assert_allclose(radii, np.linspace(0.9, 0.95, 11)[None].repeat(50, 0), rtol=1e-9)
  # The straight chord dips towards the origin; the curve does not.
  assert np.linalg.norm(latent_path(a, b, 11)[1:, 5], axis=-1).min() < 0.9
  # Along a great circle, consecutive directions are equally spaced in angle.
  u = path[1:] / radii[1:, :, None]
  angles = np.arccos(np.clip(np.sum(u[:, 1:] * u[:, :-1], -1), -1, 1))
  np.testing.assert_allclose(angles, angles[:, :1].repeat(10, 1), rtol=1e-6)
  with pytest.raises(ValueError, match="kind"):
    latent_path(a, b, 3, "geodesic")
