import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest
import scipy.linalg

from ltot.discrepancy import gaussian_w2


def _closed_form(x, y):
  """TWAE eq. 4 with scipy.linalg.sqrtm and unbiased covariances (float64)."""
  m1, m2 = x.mean(0), y.mean(0)
  s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  r2 = scipy.linalg.sqrtm(s2)
  cross = scipy.linalg.sqrtm(r2 @ s1 @ r2)
  return np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(cross))


@pytest.mark.parametrize("n,m,d", [(200, 150, 5), (30, 30, 8), (20, 25, 40)])
def test_equals_closed_form_and_pot(rng, n, m, d):
  x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 1.0
  y = rng.normal(size=(m, d))
  with jax.enable_x64(True):
    got = float(gaussian_w2(jnp.asarray(x), jnp.asarray(y)))
  s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  if n > d and m > d:  # sqrtm (and POT) need full-rank covariances; POT returns NaN otherwise
    np.testing.assert_allclose(got, _closed_form(x, y), rtol=1e-7)
    pot = ot.gaussian.bures_wasserstein_distance(x.mean(0), y.mean(0), s1, s2)
    np.testing.assert_allclose(got, pot ** 2, rtol=1e-5)
  # tr (S2^1/2 S1 S2^1/2)^1/2 = sum sqrt(eig(S1 S2)), valid at any rank.
  cross = np.sum(np.sqrt(np.clip(np.real(np.linalg.eigvals(s1 @ s2)), 0, None)))
  ref = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross
  np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.slow
def test_float32_and_rank_deficient_gradients(rng):
  # n < d: both covariances are singular (rank n - 1); value and gradient stay finite.
  x = jnp.asarray(rng.normal(size=(16, 64)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(16, 64)), jnp.float32)
  val, g = jax.jit(jax.value_and_grad(gaussian_w2))(x, y)
  assert np.isfinite(float(val)) and bool(jnp.all(jnp.isfinite(g)))
  with jax.enable_x64(True):
    ref = float(gaussian_w2(jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(y), jnp.float64)))
  np.testing.assert_allclose(float(val), ref, rtol=1e-4)
  # The gradient is a true derivative here: check one coordinate by central differences (float64).
  with jax.enable_x64(True):
    x64, y64 = jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(y), jnp.float64)
    g64 = jax.grad(gaussian_w2)(x64, y64)
    e = jnp.zeros_like(x64).at[3, 7].set(1e-6)
    fd = (gaussian_w2(x64 + e, y64) - gaussian_w2(x64 - e, y64)) / 2e-6
    np.testing.assert_allclose(g64[3, 7], fd, rtol=1e-4)


def test_zero_for_identical_and_bad_input(rng):
  x = rng.normal(size=(40, 3))
  assert float(gaussian_w2(x, x)) == pytest.approx(0.0, abs=1e-4)
  with pytest.raises(ValueError, match="same dimension"):
    gaussian_w2(x, x[:, :2])
  with pytest.raises(ValueError, match="at least 2"):
    gaussian_w2(x[:1], x)
