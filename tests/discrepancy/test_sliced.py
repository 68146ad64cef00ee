import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest

from ltot import discrepancy as D
from tests.conftest import COMPILE_FLAGS


def _sw_numpy(x, y, theta, p):
  """Sort-based reference: mean over directions of mean_i |sort(x.t)_i - sort(y.t)_i|^p."""
  return np.mean([np.mean(np.abs(np.sort(x @ t) - np.sort(y @ t)) ** p) for t in theta])


@pytest.fixture
def xy(rng):
  return rng.normal(size=(50, 6)), rng.normal(size=(50, 6)) * 1.5 + 0.3


@pytest.mark.parametrize("p", [1, 2, 3])
def test_sliced_equals_numpy_and_pot(xy, rng, p):
  x, y = xy
  theta = rng.normal(size=(40, 6))
  theta /= np.linalg.norm(theta, axis=1, keepdims=True)
  got = D.sliced_wasserstein(x, y, projections=theta, p=p)
  np.testing.assert_allclose(got, _sw_numpy(x, y, theta, p), rtol=1e-4)
  pot = ot.sliced_wasserstein_distance(x, y, projections=theta.T, p=p)  # (mean W_p^p)^(1/p)
  np.testing.assert_allclose(got, pot ** p, rtol=1e-4)


def test_random_directions_are_uniform_unit_vectors():
  t = D.random_directions(jax.random.key(0), 20000, 3)
  np.testing.assert_allclose(jnp.linalg.norm(t, axis=1), 1.0, rtol=1e-5)
  np.testing.assert_allclose(jnp.mean(t, 0), 0.0, atol=0.02)
  np.testing.assert_allclose(jnp.mean(t[:, 0] ** 2), 1 / 3, atol=0.01)


def test_generalized_circular_equals_numpy(xy, rng):
  x, y = xy
  theta = rng.normal(size=(30, 6))
  theta /= np.linalg.norm(theta, axis=1, keepdims=True)
  r = 2.0

  def g(z):
    return np.linalg.norm(z[:, None] - r * theta[None], axis=-1)

  ref = np.mean(np.mean((np.sort(g(x), 0) - np.sort(g(y), 0)) ** 2, 0))
  np.testing.assert_allclose(D.generalized_sliced_wasserstein(x, y, projections=theta, r=r), ref, rtol=1e-4)


def test_max_sliced_finds_the_separating_direction(rng):
  x = rng.normal(size=(200, 5))
  y = rng.normal(size=(200, 5))
  y[:, 2] += 3.0  # the two samples differ only along e_2
  e2 = np.eye(5)[2:3]
  along = float(D.sliced_wasserstein(x, y, projections=e2))
  got = float(D.max_sliced_wasserstein(x, y, rng=jax.random.key(0), num_projections=20, num_iters=30))
  mean_sw = float(D.sliced_wasserstein(x, y, rng=jax.random.key(1)))
  assert got >= 0.97 * along and got > 2.5 * mean_sw


@pytest.mark.slow
def test_distributional_between_mean_and_max(rng):
  x = rng.normal(size=(200, 5))
  y = rng.normal(size=(200, 5))
  y[:, 2] += 3.0
  key = jax.random.key(0)
  sw = float(D.sliced_wasserstein(x, y, rng=key, num_projections=2000))
  dsw = float(D.distributional_sliced_wasserstein(x, y, rng=key, num_iters=50, lr=0.5, diversity=0.1))
  msw = float(D.max_sliced_wasserstein(x, y, rng=key, num_iters=30))
  assert sw * 1.2 < dsw <= msw * 1.01  # directions concentrate toward e_2, but stay spread
  no_steps = float(D.distributional_sliced_wasserstein(x, y, rng=key, num_iters=0))
  assert no_steps == pytest.approx(sw, rel=0.25)  # A = I is plain SW (fewer directions)


@pytest.mark.parametrize("fn", [D.sliced_wasserstein, D.max_sliced_wasserstein,
                                D.distributional_sliced_wasserstein, D.generalized_sliced_wasserstein])
@pytest.mark.slow
def test_zero_on_identical_finite_grads_and_jit(fn, xy):
  x, _ = xy
  x = jnp.asarray(x, jnp.float32)
  key = jax.random.key(3)
  assert float(fn(x, x, rng=key)) == pytest.approx(0.0, abs=1e-6)
  y = x + 0.5
  g = jax.jit(jax.grad(lambda a: fn(a, y, rng=key)))(x)
  assert g.shape == x.shape and bool(jnp.all(jnp.isfinite(g))) and float(jnp.abs(g).sum()) > 0


def test_float64(xy):
  with jax.enable_x64(True):
    x, y = map(jnp.asarray, xy)
    theta = np.eye(6)
    out = D.sliced_wasserstein(x, y, projections=theta)
    assert out.dtype == jnp.float64
    np.testing.assert_allclose(out, _sw_numpy(np.asarray(x), np.asarray(y), theta, 2), rtol=1e-12)


def test_bad_input(xy):
  x, y = xy
  with pytest.raises(ValueError, match="same number of points"):
    D.sliced_wasserstein(x, y[:10], rng=jax.random.key(0))
  with pytest.raises(ValueError, match="rng"):
    D.sliced_wasserstein(x, y)
  with pytest.raises(ValueError, match=r"projections must have shape \[k, 6\]"):
    D.sliced_wasserstein(x, y, projections=np.ones((3, 5)))
  with pytest.raises(ValueError, match="NaN"):
    D.sliced_wasserstein(np.full_like(x, np.nan), y, rng=jax.random.key(0))
  with pytest.raises(ValueError, match="p must be"):
    D.sliced_wasserstein(x, y, rng=jax.random.key(0), p=0.5)
  with pytest.raises(ValueError, match="shape"):
    D.sliced_wasserstein(x[:, 0], y[:, 0], rng=jax.random.key(0))


# Run in a fresh process with a given number of CPU devices: the NumPy path is taken with one
# device only, and a data-parallel step through it must finish (with the callback under several
# devices it hung). Large enough for the NumPy path, and without ties (where the gradient's
# routing is arbitrary).
_SORT_CHECK = """
import jax, jax.numpy as jnp, numpy as np
from ltot import discrepancy as D
rng = np.random.default_rng(0)
a = jnp.asarray(rng.permutation(7 * 20000).reshape(7, 20000) / 1024.0, jnp.float32)
callback = "pure_callback" in str(jax.make_jaxpr(D.sort_last_axis)(a))
assert callback == (jax.local_device_count() == 1), (callback, jax.local_device_count())
np.testing.assert_array_equal(D.sort_last_axis(a), jnp.sort(a, axis=-1))
w = jnp.asarray(rng.normal(size=(7, 20000)), jnp.float32)
g = jax.grad(lambda a: jnp.sum(w * D.sort_last_axis(a) ** 2))(a)
g_ref = jax.grad(lambda a: jnp.sum(w * jnp.sort(a, axis=-1) ** 2))(a)
np.testing.assert_allclose(g, g_ref, rtol=1e-6)
batched = jax.vmap(D.sort_last_axis)(jnp.stack([a, -a]))
np.testing.assert_array_equal(batched[1], jnp.sort(-a, axis=-1))
n = jax.local_device_count()
step = jax.pmap(lambda x: jax.lax.psum(D.sort_last_axis(x)[:, -1], "i"), axis_name="i")
for _ in range(3):
  out = step(jnp.stack([a + i for i in range(n)])).block_until_ready()
np.testing.assert_allclose(out[0], sum(jnp.max(a + i, axis=-1) for i in range(n)), rtol=1e-6)
"""


def test_sort_last_axis_without_a_cpu_backend(monkeypatch, rng):
  # A process started with JAX_PLATFORMS=cuda has no CPU backend: asking for its devices raises.
  from ltot import _sorting

  def no_cpu(backend=None):
    raise RuntimeError(f"Unknown backend {backend}. Available backends are ['cuda']")

  monkeypatch.setattr(_sorting.jax, "local_devices", no_cpu)
  a = jnp.asarray(rng.normal(size=(2, _sorting._MIN_CALLBACK_SIZE)), jnp.float32)
  np.testing.assert_array_equal(D.sort_last_axis(a), jnp.sort(a, axis=-1))


@pytest.mark.slow
@pytest.mark.parametrize("devices", [1, 2])
def test_sort_last_axis_matches_xla_sort_values_grads_vmap_pmap(devices):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} {COMPILE_FLAGS}"}
  r = subprocess.run([sys.executable, "-c", _SORT_CHECK], env=env, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-3000:]


def test_cpu_sort_callback_sorts_with_numpy(monkeypatch, rng):
  # JAX hands callbacks jax.Arrays; np.argsort of one calls its argsort method, a JAX sort
  # dispatched from inside the callback (about 9 ms of overhead per call, two calls per TWAE region
  # step of 1,000 directions). The callback must sort in NumPy.
  from ltot import _sorting
  a = jnp.asarray(rng.normal(size=(3, 50)), jnp.float32)

  def no_jax_sort(*args, **kwargs):
    raise AssertionError("the callback ran a JAX sort")

  monkeypatch.setattr(type(a), "argsort", no_jax_sort)
  perm = _sorting._numpy_argsort(a)
  assert type(perm) is np.ndarray and perm.dtype == np.int32
  np.testing.assert_array_equal(perm, np.argsort(np.asarray(a), axis=-1))
