"""The public functions of ltot.ot, ltot.discrepancy, ltot.tessellation and ltot.metrics under jit
and without it (chex variants), each against an independent NumPy/SciPy/POT reference, so a
failure that only shows under jit (or only eagerly) is caught."""

import chex
import jax
import numpy as np
import ot as pot
from absl.testing import parameterized
from scipy import stats
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ltot import discrepancy, metrics, ot, tessellation

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(2, 24, 3)).astype(np.float32)
COST = cdist(X, Y, "sqeuclidean").astype(np.float32)


class JitVariantsTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters("auction", "host")
  def test_assignment_is_scipys_optimum(self, solver):
    perm = np.asarray(self.variant(lambda c: ot.assignment(c, solver=solver))(COST))
    rows, cols = linear_sum_assignment(COST.astype(np.float64))
    np.testing.assert_allclose(COST[np.arange(24), perm].sum(), COST[rows, cols].sum(), rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_balanced_assignment_and_transport_are_pots_optimum(self):
    cost = COST[:, :6]  # 24 rows into 6 columns of 4
    labels = np.asarray(self.variant(ot.balanced_assignment, static_argnums=1)(cost, 4))
    sol = self.variant(ot.transport, static_argnums=1)(cost, 4)
    optimum = pot.emd2(np.ones(24), np.full(6, 4.0), cost.astype(np.float64))
    for got in (labels, np.asarray(sol.labels)):
      assert np.bincount(got, minlength=6).max() == 4
      np.testing.assert_allclose(cost[np.arange(24), got].sum(), optimum, rtol=1e-5)
    assert bool(sol.ok) and float(sol.gap) <= 1e-4 * optimum

  @chex.variants(with_jit=True, without_jit=True)
  def test_lcm_fills_every_column_and_takes_the_cheapest_entry_first(self):
    cost = COST[:, :6]
    labels = np.asarray(self.variant(ot.lcm, static_argnums=1)(cost, 4))
    np.testing.assert_array_equal(np.bincount(labels, minlength=6), 4)
    i, j = np.unravel_index(np.argmin(cost), cost.shape)  # Algorithm 2 assigns the global minimum first
    assert labels[i] == j

  @chex.variants(with_jit=True, without_jit=True)
  def test_kantorovich_potentials_are_a_dual_optimum(self):
    hx, hy = map(np.asarray, self.variant(ot.kantorovich_potentials)(X, Y))
    half = 0.5 * COST.astype(np.float64)
    assert np.all(hy[None, :] - hx[:, None] <= half + 1e-5)
    np.testing.assert_allclose(hy.mean() - hx.mean(), pot.emd2(np.full(24, 1 / 24), np.full(24, 1 / 24), half),
                               rtol=1e-4)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters("sqeuclidean", "euclidean", "l1")
  def test_pairwise_cost_and_c_transform(self, cost):
    metric = {"sqeuclidean": "sqeuclidean", "euclidean": "euclidean", "l1": "cityblock"}[cost]
    reference = cdist(X, Y, metric)
    np.testing.assert_allclose(self.variant(lambda a, b: ot.pairwise_cost(a, b, cost))(X, Y), reference,
                               rtol=1e-4, atol=1e-4)
    psi = RNG.random(24).astype(np.float32)
    out = self.variant(lambda a, b, p: ot.c_transform(a, b, p, cost=cost, chunk=7))(X, Y, psi)
    np.testing.assert_allclose(out.phi, (reference - psi).min(1), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(out.index, (reference - psi).argmin(1))

  @chex.variants(with_jit=True, without_jit=True)
  def test_sliced_wasserstein_with_given_directions(self):
    directions = RNG.normal(size=(5, 3)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    got = self.variant(lambda a, b: discrepancy.sliced_wasserstein(a, b, projections=directions))(X, Y)
    px, py = np.sort(X @ directions.T, axis=0), np.sort(Y @ directions.T, axis=0)
    np.testing.assert_allclose(got, np.mean((px - py) ** 2), rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_mmd_is_the_unbiased_imq_statistic(self):
    k = lambda a, b: 6.0 / (6.0 + cdist(a, b, "sqeuclidean"))
    n = len(X)
    off = lambda g: (g.sum() - np.trace(g)) / (n * (n - 1))
    reference = off(k(X, X)) + off(k(Y, Y)) - 2 * k(X, Y).mean()
    np.testing.assert_allclose(self.variant(lambda a, b: discrepancy.mmd(a, b, scale=6.0))(X, Y), reference,
                               rtol=1e-4, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_assign_regions_and_sample_ball(self):
    labels = self.variant(lambda z, g: tessellation.assign_regions(z, g, chunk=5))(X, Y[:7])
    np.testing.assert_array_equal(labels, cdist(X, Y[:7], "sqeuclidean").argmin(1))
    points = np.asarray(self.variant(tessellation.sample_ball, static_argnums=(1, 2))(jax.random.key(0), 2000, 3))
    radius = np.linalg.norm(points, axis=1)
    assert points.shape == (2000, 3) and np.all(radius <= 1 + 1e-6)
    assert stats.kstest(radius ** 3, "uniform").pvalue > 1e-3  # uniform in the ball: the radius' CDF is r^3

  @chex.variants(with_jit=True, without_jit=True)
  def test_exact_wasserstein_is_pots(self):
    got = self.variant(lambda a, b: metrics.wasserstein(a, b, ground="l1"))(X, Y)
    np.testing.assert_allclose(got, pot.emd2(np.full(24, 1 / 24), np.full(24, 1 / 24), cdist(X, Y, "cityblock")),
                               rtol=1e-5)
