import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ltot.viz import plot_tessellation, region_image  # noqa: E402


def test_region_image_is_the_nearest_generator_inside_the_disk():
  g = np.random.default_rng(0).uniform(-0.7, 0.7, (9, 2)).astype(np.float32)
  img = region_image(g, resolution=64)
  t = (np.arange(64) + 0.5) / 64 * 2 - 1
  xx, yy = np.meshgrid(t, t[::-1])
  pts = np.stack([xx.ravel(), yy.ravel()], 1)
  nearest = ((pts[:, None] - g[None]) ** 2).sum(-1).argmin(1).reshape(64, 64)
  inside = xx**2 + yy**2 <= 1
  np.testing.assert_array_equal(img[inside], nearest[inside])
  assert np.all(img[~inside] == -1)
  with pytest.raises(ValueError, match="shape"):
    region_image(np.zeros((3, 3)))


def test_plot_tessellation_draws_and_saves(tmp_path):
  g = np.random.default_rng(1).uniform(-0.5, 0.5, (5, 2))
  samples = np.random.default_rng(2).uniform(-0.5, 0.5, (5, 3, 2))
  ax = plot_tessellation(g, samples=samples, resolution=32)
  ax.figure.savefig(tmp_path / "t.png")
  shown = ax.images[0].get_array()
  np.testing.assert_array_equal(shown.filled(-1), np.where(region_image(g, 32) >= 0, region_image(g, 32) % 20, -1))
  points, gens = ax.collections  # the 15 samples, then the 5 generators
  np.testing.assert_array_equal(points.get_offsets(), samples.reshape(-1, 2))
  np.testing.assert_array_equal(gens.get_offsets(), g)
  assert (tmp_path / "t.png").stat().st_size > 1000
