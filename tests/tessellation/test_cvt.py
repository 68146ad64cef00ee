import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from ltot import tessellation as T


@pytest.mark.parametrize("dim", [2, 8, 64])
def test_sample_ball_is_uniform(dim):
  x = np.asarray(T.sample_ball(jax.random.key(dim), 20000, dim, radius=2.0), np.float64)
  r = np.linalg.norm(x, axis=1) / 2.0
  assert r.max() <= 1.0 + 1e-6
  # |x|/R has CDF r^d for the uniform ball, so (|x|/R)^d is uniform on [0, 1].
  assert scipy.stats.kstest(r ** dim, "uniform").pvalue > 1e-3
  # Isotropic: mean 0, covariance R^2 / (d + 2) * I.
  np.testing.assert_allclose(x.mean(0), 0.0, atol=5 * 2.0 / np.sqrt(20000))
  cov = np.cov(x, rowvar=False)
  np.testing.assert_allclose(np.diag(cov), 4.0 / (dim + 2), rtol=0.1)
  assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.05 * 4.0 / (dim + 2) * 4


def test_assign_regions_equals_brute_force_in_any_chunking(rng):
  z, g = rng.normal(size=(1001, 5)).astype(np.float32), rng.normal(size=(37, 5)).astype(np.float32)
  brute = np.argmin(((z[:, None] - g[None]) ** 2).sum(-1), axis=1)
  for chunk in (1001, 64, 7):
    np.testing.assert_array_equal(T.assign_regions(z, g, chunk=chunk), brute)
  with pytest.raises(ValueError, match="dimension"):
    T.assign_regions(z, g[:, :4])
  with pytest.raises(ValueError, match="NaN"):
    T.assign_regions(np.full((2, 5), np.nan), g)


def test_block_rows_per_platform_and_the_energy_in_one_block_equals_the_chunked(rng):
  from ltot.tessellation.cvt import _CHUNK, _block_rows, _nearest_chunked
  assert _block_rows(400, "cpu") == _CHUNK
  assert _block_rows(400, "gpu") * 400 <= 1 << 26 and _block_rows(400, "gpu") >= 100_000  # the H100 row: one block
  assert _block_rows(1 << 20, "tpu") == _CHUNK  # never fewer rows than on CPUs
  z, g = rng.normal(size=(5000, 6)).astype(np.float32), rng.normal(size=(40, 6)).astype(np.float32)
  one_block, chunked = _nearest_chunked(z, g, 5000), _nearest_chunked(z, g)
  np.testing.assert_array_equal(one_block[0], chunked[0])
  np.testing.assert_allclose(one_block[1], chunked[1], rtol=1e-6)
  np.testing.assert_allclose(one_block[1], ((z - g[one_block[0]]) ** 2).sum(-1), rtol=1e-4, atol=1e-5)


def test_lloyd_energy_decreases_and_converges_to_centroids():
  t = T.cvt(jax.random.key(0), 16, 2, num_samples=20000, num_iters=400)
  e = np.asarray(t.energy)
  assert np.all(np.diff(e) <= 1e-7)  # monotone on the fixed sample set
  # At convergence each generator is the mean of its region's samples (the same samples cvt drew).
  samples = T.sample_ball(jax.random.split(jax.random.key(0), 3)[0], 20000, 2)
  labels = np.asarray(T.assign_regions(samples, t.generators))
  centroids = np.stack([np.asarray(samples)[labels == i].mean(0) for i in range(16)])
  np.testing.assert_allclose(centroids, t.generators, atol=1e-4)


def test_cvt_regions_have_near_equal_mass_in_2d():
  t = T.cvt(jax.random.key(1), 16, 2, num_samples=20000, num_iters=50)
  fresh = T.sample_ball(jax.random.key(99), 100000, 2)
  mass = np.bincount(np.asarray(T.assign_regions(fresh, t.generators)), minlength=16) / 100000
  assert np.all(np.abs(mass * 16 - 1) < 0.25), mass * 16


@pytest.mark.slow
def test_deterministic_and_variants():
  a = T.cvt(jax.random.key(5), 8, 3, num_samples=2000, num_iters=5)
  b = T.cvt(jax.random.key(5), 8, 3, num_samples=2000, num_iters=5)
  np.testing.assert_array_equal(a.generators, b.generators)
  for kw in ({"method": "macqueen"}, {"init": "kmeans++"}):
    t = T.cvt(jax.random.key(5), 8, 3, num_samples=2000, num_iters=8, **kw)
    assert t.generators.shape == (8, 3) and float(t.energy[-1]) < float(t.energy[0])
    assert bool(jnp.all(jnp.linalg.norm(t.generators, axis=1) <= 1.0 + 1e-6))  # centroids stay in the ball


def test_bad_arguments():
  with pytest.raises(ValueError, match="method"):
    T.cvt(jax.random.key(0), 4, 2, num_samples=10, num_iters=1, method="kmeans")
  with pytest.raises(ValueError, match="num_samples"):
    T.cvt(jax.random.key(0), 40, 2, num_samples=10, num_iters=1)
  with pytest.raises(ValueError, match="radius"):
    T.sample_ball(jax.random.key(0), 4, 2, radius=0.0)
