"""Semi-discrete OT (OTS/FIT eq. 2.3, Algorithm 1, the map of Prop. 2.5)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ltot.ot import c_transform, dual_gradient, ots, pairwise_cost, semidiscrete_dual, semidiscrete_map


@pytest.mark.parametrize("cost,metric", [("sqeuclidean", "sqeuclidean"), ("euclidean", "euclidean"),
                                         ("l1", "cityblock")])
def test_pairwise_cost_equals_scipy(cost, metric):
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(7, 5)), rng.normal(size=(300, 5))
  got = pairwise_cost(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), cost)
  np.testing.assert_allclose(got, cdist(x, y, metric), rtol=1e-5, atol=1e-5)


def test_dual_gradient_equals_autodiff():
  from ltot.ot import c_transform, dual_gradient
  rng = np.random.default_rng(1)
  x, y = jnp.asarray(rng.normal(size=(64, 3)), jnp.float32), jnp.asarray(rng.normal(size=(20, 3)), jnp.float32)
  psi = jnp.asarray(rng.normal(size=20) * 0.1, jnp.float32)
  out = c_transform(x, y, psi, cost="l1")
  np.testing.assert_allclose(jnp.mean(out.phi) + jnp.mean(psi), semidiscrete_dual(psi, x, y, cost="l1"), rtol=1e-6)
  np.testing.assert_allclose(dual_gradient(out.index, 20), jax.grad(semidiscrete_dual)(psi, x, y, cost="l1"), atol=1e-7)


def test_ots_update_is_optax_on_n_times_the_ascent_direction():
  from ltot.ot import ots_update
  index = jnp.array([0, 0, 0, 2, 2, 1])  # fractions 1/2, 1/6, 1/3 of 3 points (gradient 1/3 - fraction)
  adam = optax.adam(0.1)
  psi, _, grad = ots_update(jnp.zeros(5), adam.init(jnp.zeros(5)), index, 3, adam, rows=jnp.array([4, 1, 2]))
  np.testing.assert_allclose(grad, [1 / 3 - 1 / 2, 1 / 3 - 1 / 6, 0.0], atol=1e-7)
  # Adam's first step moves each coordinate by lr times the sign of its ascent; untouched rows stay.
  np.testing.assert_allclose(psi, [0.0, 0.1, 0.0, 0.0, -0.1], atol=1e-6)


def test_assignment_window_counts_the_last_steps_and_the_authors_rule():
  from ltot.ot import window_balanced, window_init, window_push
  rng = np.random.default_rng(0)
  w, history = window_init(5, 8, 4), []
  for t in range(12):
    index = jnp.asarray(rng.integers(0, 10, 8))
    w = window_push(w, index, jnp.full(2, t, jnp.uint32), 10)
    history.append(np.asarray(index))
  last = np.concatenate(history[-5:])
  np.testing.assert_array_equal(w.counts, np.bincount(last // 3, minlength=4))  # bins of 3 rows
  assert sorted(np.asarray(w.keys)[:, 0].tolist()) == [7, 8, 9, 10, 11] and int(w.filled) == 5
  # 40 assignments of 10 rows in bins of 3, 3, 3, 1 rows: expected 12, 12, 12, 4.
  expected = np.array([12, 12, 12, 4])
  ratios = np.asarray(w.counts) / expected
  assert bool(window_balanced(w, 10, ratios.min(), ratios.max()))
  assert not bool(window_balanced(w, 10, ratios.min() + 0.01, 10.0))
  assert not bool(window_balanced(w, 10, 0.0, ratios.max() - 0.01))
  assert not bool(window_balanced(window_init(5, 8, 4), 10, 0.0, 10.0))  # not full yet
  # Fewer active rows than bins (a subsample stage): bins of one row each, the rest empty and ignored.
  few = window_push(window_init(1, 6, 10), jnp.array([0, 1, 2, 0, 1, 2]), jnp.zeros(2, jnp.uint32), 3)
  assert bool(window_balanced(few, 3, 1.0, 1.0))


def test_map_with_zero_weights_is_nearest_neighbour():
  rng = np.random.default_rng(2)
  x, y = rng.normal(size=(50, 4)).astype(np.float32), rng.normal(size=(30, 4)).astype(np.float32)
  idx, t = semidiscrete_map(x, y, jnp.zeros(30), cost="euclidean")
  np.testing.assert_array_equal(idx, cdist(x, y).argmin(1))
  np.testing.assert_array_equal(t, y[np.asarray(idx)])
  with pytest.raises(ValueError, match="psi"):
    semidiscrete_map(x, y, jnp.zeros(29))


def _uniform(key, b):
  return jax.random.uniform(key, (b, 1))


def test_ots_recovers_the_1d_quantile_map():
  # U[0, 1] onto N points: the optimal map sends [i/N, (i+1)/N) to the i-th smallest point,
  # and the optimal dual value is the transport cost, computable in closed form.
  n = 10
  y = jnp.asarray(np.sort(np.random.default_rng(3).uniform(size=(n, 1)), axis=0), jnp.float32)
  res = ots(jax.random.key(0), _uniform, y, num_steps=4000, batch_size=1024,
            optimizer=optax.sgd(optax.linear_schedule(0.1, 1e-3, 4000)))  # plain SGD ascent, decaying rate
  grid = (np.arange(20000)[:, None] + 0.5) / 20000
  idx, _ = semidiscrete_map(jnp.asarray(grid, jnp.float32), y, res.psi)
  mismatch = np.mean(np.asarray(idx) != np.floor(grid[:, 0] * n))
  assert mismatch < 0.02, mismatch  # only slivers at the cell boundaries
  yn = np.asarray(y[:, 0], np.float64)
  lo, hi = np.arange(n) / n, np.arange(1, n + 1) / n
  w2 = np.sum(((hi - yn) ** 3 - (lo - yn) ** 3) / 3)
  dual = float(semidiscrete_dual(res.psi, jnp.asarray(grid, jnp.float32), y))
  assert dual <= w2 + 1e-4  # weak duality: any psi is a lower bound
  np.testing.assert_allclose(dual, w2, rtol=0.02)


def test_ots_on_a_discrete_source_reaches_the_assignment_cost():
  # A source uniform on N points makes eq. 2.3 a discrete dual LP: its maximum is the optimal
  # assignment cost (SciPy), and every psi lies below it.
  rng = np.random.default_rng(4)
  n = 16
  z = jnp.asarray(rng.normal(size=(n, 2)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(n, 2)) + 1.0, jnp.float32)

  def sample(key, b):
    return z[jax.random.randint(key, (b,), 0, n)]

  res = ots(jax.random.key(1), sample, y, num_steps=3000, batch_size=128, learning_rate=0.2, cost="euclidean")
  c = cdist(np.asarray(z), np.asarray(y))
  r, col = linear_sum_assignment(c)
  optimum = c[r, col].mean()
  dual = float(semidiscrete_dual(res.psi, z, y, cost="euclidean"))
  assert optimum - 0.02 * optimum <= dual <= optimum + 1e-5


@pytest.mark.slow
def test_subsample_stages_deterministic_and_errors():
  y = jnp.asarray(np.random.default_rng(5).normal(size=(200, 2)), jnp.float32)

  def sample(key, b):
    return jax.random.normal(key, (b, 2))

  kwargs = dict(num_steps=300, batch_size=64, subsample=((100, 0.05), (100, 0.25)))
  a = ots(jax.random.key(2), sample, y, **kwargs)
  b = ots(jax.random.key(2), sample, y, **kwargs)
  np.testing.assert_array_equal(a.psi, b.psi)
  assert a.dual.shape == (300,)
  full = ots(jax.random.key(2), sample, y, num_steps=300, batch_size=64)
  x = sample(jax.random.key(9), 4096)
  assert semidiscrete_dual(a.psi, x, y) > semidiscrete_dual(jnp.zeros(200), x, y)  # progress on every stage
  assert semidiscrete_dual(full.psi, x, y) > semidiscrete_dual(jnp.zeros(200), x, y)
  with pytest.raises(ValueError, match="subsample"):
    ots(jax.random.key(0), sample, y, num_steps=10, batch_size=8, subsample=((20, 0.1),))
  with pytest.raises(ValueError, match="subsample"):
    ots(jax.random.key(0), sample, y, num_steps=10, batch_size=8, subsample=((5, 0.0),))
  with pytest.raises(ValueError, match="cost"):
    ots(jax.random.key(0), sample, y, num_steps=10, batch_size=8, cost="linf")
  with pytest.raises(ValueError, match="NaN"):
    ots(jax.random.key(0), sample, y.at[0, 0].set(jnp.nan), num_steps=10, batch_size=8)


def test_dual_objective_equals_numpy():
  rng = np.random.default_rng(6)
  x, y, psi = rng.normal(size=(33, 4)), rng.normal(size=(50, 4)), rng.normal(size=50) * 0.3
  for cost, metric, power in (("sqeuclidean", "euclidean", 2), ("euclidean", "euclidean", 1), ("l1", "cityblock", 1)):
    expected = np.mean(np.min(cdist(x, y, metric) ** power - psi[None], axis=1)) + np.mean(psi)
    got = semidiscrete_dual(jnp.asarray(psi, jnp.float32), jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                            cost=cost)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def _tied_problem():
  """x [24, 3], y [40, 3] with repeated rows (exact ties, broken toward the smallest index), psi [40]."""
  rng = np.random.default_rng(7)
  base = rng.integers(0, 3, size=(10, 3)).astype(np.float32)
  y = base[rng.integers(0, 10, 40)]
  x = rng.integers(0, 3, size=(24, 3)).astype(np.float32)
  psi = np.round(rng.normal(size=40), 1).astype(np.float32)
  psi[y[:, 0] == 1] = 0.5  # equal weights on equal rows: ties in c - psi
  return x, y, psi


@pytest.mark.parametrize("cost", ["sqeuclidean", "l1"])
@pytest.mark.parametrize("chunk", [None, 7])
def test_c_transform_is_brute_force_with_first_index_ties(cost, chunk):
  x, y, psi = _tied_problem()
  values = cdist(x, y, {"sqeuclidean": "sqeuclidean", "l1": "cityblock"}[cost]) - psi[None]
  out = c_transform(jnp.asarray(x), jnp.asarray(y), jnp.asarray(psi), cost=cost, chunk=chunk)
  np.testing.assert_allclose(out.phi, values.min(1), atol=1e-5)
  np.testing.assert_array_equal(out.index, values.argmin(1))  # NumPy: the first index of the min
  np.testing.assert_array_equal(out.target, y[values.argmin(1)])


@pytest.mark.parametrize("chunk", [None, 3])
def test_sharded_c_transform_on_four_devices_equals_one(chunk):
  # The dataset strided over 4 devices (device k holds rows k, k + 4, ...): every device must get
  # the 1-device result, ties included.
  x, y, psi = _tied_problem()
  one = c_transform(jnp.asarray(x), jnp.asarray(y), jnp.asarray(psi), cost="l1")
  shard = lambda a: np.stack([a[k::4] for k in range(4)])
  four = jax.pmap(lambda ys, ps: c_transform(jnp.asarray(x), ys, ps, cost="l1", chunk=chunk, axis_name="d"),
                  axis_name="d", devices=jax.local_devices()[:4])(shard(y), shard(psi))
  for k in range(4):
    np.testing.assert_array_equal(four.phi[k], one.phi)
    np.testing.assert_array_equal(four.index[k], one.index)
    np.testing.assert_array_equal(four.target[k], one.target)


def test_dual_gradient_is_uniform_minus_batch_fractions():
  grad = dual_gradient(jnp.array([0, 2, 2, 3], jnp.int32), 5)
  np.testing.assert_allclose(grad, [0.2 - 0.25, 0.2, 0.2 - 0.5, 0.2 - 0.25, 0.2], atol=1e-7)
