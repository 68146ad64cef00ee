"""Leading batch dimensions and ott-jax inputs of the exact solvers: the same answers as one by one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ott.geometry import costs, pointcloud
from scipy.optimize import linear_sum_assignment

from ltot.ot import assignment, balanced_assignment, kantorovich_potentials, lcm, pairwise_cost, transport


def _costs(shape, seed=0):
  return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("jit", [False, True])
def test_batched_assignment_equals_each_problem_and_scipy(jit):
  cost = _costs((2, 3, 12, 12))
  solve = jax.jit(assignment) if jit else assignment
  perm = np.asarray(solve(cost))
  assert perm.shape == (2, 3, 12)
  for i in range(2):
    for j in range(3):
      np.testing.assert_array_equal(perm[i, j], np.asarray(assignment(cost[i, j])))
      rows, cols = linear_sum_assignment(cost[i, j])
      assert cost[i, j][np.arange(12), perm[i, j]].sum() == pytest.approx(cost[i, j][rows, cols].sum(), rel=1e-5)
  np.testing.assert_array_equal(np.asarray(jax.vmap(assignment)(cost[0])), perm[0])  # vmap over it too


@pytest.mark.slow
def test_batched_transport_lcm_and_balanced_assignment():
  cost = _costs((4, 30, 5), seed=1)
  sol = transport(cost, 6)
  assert sol.labels.shape == (4, 30) and sol.column_price.shape == (4, 5) and sol.ok.shape == (4,)
  for b in range(4):
    one = transport(cost[b], 6)
    np.testing.assert_array_equal(sol.labels[b], one.labels)
    np.testing.assert_allclose(sol.row_potential[b], one.row_potential, rtol=1e-6)
    np.testing.assert_array_equal(lcm(cost, 6)[b], lcm(cost[b], 6))
  np.testing.assert_array_equal(balanced_assignment(cost, 6), sol.labels)
  assert bool(jnp.all(sol.ok))
  # One problem with a NaN fails alone (under jit, where values are not checked up front).
  bad = cost.copy()
  bad[2, 0, 0] = np.nan
  out = jax.jit(transport, static_argnums=1)(bad, 6)
  assert out.ok.tolist() == [True, True, False, True] and np.all(np.asarray(out.labels[2]) == -1)
  np.testing.assert_array_equal(out.labels[0], sol.labels[0])


@pytest.mark.slow
def test_batched_kantorovich_potentials():
  x, y = np.random.default_rng(2).normal(size=(2, 3, 10, 4)).astype(np.float32)
  hx, hy = kantorovich_potentials(x, y)
  assert hx.shape == (3, 10)
  for b in range(3):
    ex, ey = kantorovich_potentials(x[b], y[b])
    np.testing.assert_allclose(hx[b], ex, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hy[b], ey, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="leading dimensions"):
    kantorovich_potentials(x, y[:2])


def test_ott_geometries_costs_and_outputs():
  rng = np.random.default_rng(3)
  x, y = rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 3)).astype(np.float32)
  geom = pointcloud.PointCloud(jnp.asarray(x), jnp.asarray(y), cost_fn=costs.SqEuclidean())
  np.testing.assert_array_equal(assignment(geom), assignment(pairwise_cost(x, y)))
  l1 = pointcloud.PointCloud(jnp.asarray(x), jnp.asarray(y), cost_fn=costs.PNormP(1))
  np.testing.assert_array_equal(assignment(l1), assignment(pairwise_cost(x, y, "l1")))
  np.testing.assert_allclose(pairwise_cost(x, y, costs.Euclidean()), pairwise_cost(x, y, "euclidean"), rtol=1e-5)
  sol = transport(geom, 1)
  plan = np.asarray(sol.matrix)
  np.testing.assert_allclose(plan.sum(1), 1 / 16, rtol=1e-6)  # ott's uniform marginals
  np.testing.assert_allclose(plan.sum(0), 1 / 16, rtol=1e-6)
  c = np.asarray(geom.cost_matrix)
  assert np.all(np.asarray(sol.f)[:, None] + np.asarray(sol.g)[None, :] <= c + 1e-5)  # ott's dual feasibility
  # Strong duality in ott's normalisation: <P, C> = mean(f) + mean(g) up to the certificate.
  assert (plan * c).sum() == pytest.approx(float(np.mean(sol.f) + np.mean(sol.g)), abs=float(sol.gap) / 16 + 1e-5)


def test_iteration_counts_grow_with_the_problem_and_are_per_problem_in_a_batch():
  small, large = (transport(_costs((n, n), seed=4), 1) for n in (16, 128))
  assert 0 < int(small.iterations) < int(large.iterations)
  both = transport(np.stack([_costs((16, 16), seed=4), _costs((16, 16), seed=5)]), 1)
  assert int(both.iterations[0]) == int(small.iterations) and both.iterations.shape == (2,)
