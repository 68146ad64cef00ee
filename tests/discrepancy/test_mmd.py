import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot.discrepancy import mmd


def _mmd_loops(x, y, kernel, c):
  """Double-loop transcription of WAE Algorithm 2's U-statistic (float64)."""
  k = (lambda a, b: c / (c + np.sum((a - b) ** 2))) if kernel == "imq" else \
      (lambda a, b: np.exp(-np.sum((a - b) ** 2) / c))
  n, m = len(x), len(y)
  xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
  yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
  return xx + yy - 2 * xy


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_equals_double_loop(kernel, rng):
  x = rng.normal(size=(13, 4)) + 0.5
  y = rng.normal(size=(9, 4))
  np.testing.assert_allclose(mmd(x.astype(np.float32), y.astype(np.float32), kernel=kernel),
                             _mmd_loops(x, y, kernel, 2.0 * 4), rtol=1e-4, atol=1e-6)
  multi = sum(_mmd_loops(x, y, kernel, c) for c in (0.5, 3.0))
  np.testing.assert_allclose(mmd(x, y, kernel=kernel, scale=(0.5, 3.0)), multi, rtol=1e-4, atol=1e-6)


def test_float64_matches_tightly(rng):
  with jax.enable_x64(True):
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(12, 3))
    got = mmd(jnp.asarray(x), jnp.asarray(y))
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, _mmd_loops(x, y, "imq", 6.0), rtol=1e-10)


def test_unbiased_for_equal_distributions():
  keys = jax.random.split(jax.random.key(0), 400)
  draws = jax.vmap(lambda k: mmd(*jax.random.normal(k, (2, 20, 5))))(keys)
  mean, se = float(draws.mean()), float(draws.std() / np.sqrt(len(draws)))
  assert abs(mean) < 3 * se  # unbiased: mean over draws is 0 within noise
  shifted = jax.vmap(lambda k: mmd(jax.random.normal(k, (20, 5)) + 1.0,
                                   jax.random.normal(jax.random.fold_in(k, 1), (20, 5))))(keys)
  assert float(shifted.mean()) > 10 * se


def test_jit_and_grad(rng):
  x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)
  g = jax.jit(jax.grad(lambda a: mmd(a, y)))(x)
  assert g.shape == x.shape and np.all(np.isfinite(g))
  eps, d = 1e-2, np.zeros_like(x)
  d[2, 1] = eps
  fd = (mmd(x + d, y) - mmd(x - d, y)) / (2 * eps)
  np.testing.assert_allclose(g[2, 1], fd, rtol=2e-2, atol=1e-4)


def test_bad_input(rng):
  x = rng.normal(size=(5, 3))
  with pytest.raises(ValueError, match="same dimension"):
    mmd(x, rng.normal(size=(5, 4)))
  with pytest.raises(ValueError, match="shape"):
    mmd(x[0], x)
  with pytest.raises(ValueError, match="at least 2"):
    mmd(x[:1], x)
  bad = x.copy()
  bad[0, 0] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    mmd(bad, x)
  with pytest.raises(ValueError, match="kernel"):
    mmd(x, x, kernel="laplace")
