"""ltot.ot.assignment / balanced_assignment / kantorovich_potentials against SciPy and POT."""

import jax
import jax.numpy as jnp
import numpy as np
import ot as pot
import pytest
from scipy.optimize import linear_sum_assignment

from ltot.ot import assignment, auction, balanced_assignment, kantorovich_potentials, lcm, transport


def _optimal_cost(cost):
  rows, cols = linear_sum_assignment(cost)
  return cost[rows, cols].sum()


def _cost_of(cost, labels):
  labels = np.asarray(labels)
  return np.asarray(cost, np.float64)[np.arange(len(labels)), labels].sum()


def _sq_euclidean(rng, n, m, d):
  x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
  return ((x[:, None] - y[None]) ** 2).sum(-1)


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 257])
def test_assignment_float64_equals_scipy(n):
  rng = np.random.default_rng(n)
  cost = rng.random((n, n))
  with jax.enable_x64(True):
    sol = transport(cost, 1)
  perm = np.asarray(sol.labels)
  assert sorted(perm) == list(range(n))
  opt = _optimal_cost(cost)
  np.testing.assert_allclose(_cost_of(cost, perm), opt, rtol=1e-12, atol=1e-12)
  assert -1e-9 <= float(sol.gap) <= 1e-9 * max(1.0, opt)


@pytest.mark.slow
def test_assignment_float32_within_certificate_n2048():
  rng = np.random.default_rng(0)
  cost = _sq_euclidean(rng, 2048, 2048, 32).astype(np.float32)
  sol = transport(cost, 1)
  got, opt = _cost_of(cost, sol.labels), _optimal_cost(cost.astype(np.float64))
  assert sorted(np.asarray(sol.labels)) == list(range(2048))
  assert got - opt <= float(sol.gap) + 1e-6 * opt  # the certificate bounds the suboptimality
  np.testing.assert_allclose(got, opt, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_assignment_integer_costs_with_ties_exact(seed):
  rng = np.random.default_rng(seed)
  n = int(rng.integers(5, 150))
  cost = rng.integers(0, 4, (n, n)).astype(np.float32)  # a huge number of optimal matchings
  assert _cost_of(cost, assignment(cost)) == _optimal_cost(cost)


def test_assignment_adversarial_machol_wien():
  # c_ij = i * j: the classic hard instance for Hungarian methods; the optimum is the anti-diagonal.
  n = 96
  cost = np.outer(np.arange(n), np.arange(n)).astype(np.float32)
  assert _cost_of(cost, assignment(cost)) == _optimal_cost(cost)


def test_assignment_wide_dynamic_range_float64():
  rng = np.random.default_rng(5)
  cost = 10.0 ** rng.uniform(-3, 3, (80, 80))
  with jax.enable_x64(True):
    perm = assignment(cost)
  np.testing.assert_allclose(_cost_of(cost, perm), _optimal_cost(cost), rtol=1e-12)


def test_rectangular_problem_embedded_in_square():
  rng = np.random.default_rng(6)
  rect = rng.random((30, 50))
  padded = np.vstack([rect, np.zeros((20, 50))])  # dummy rows cost nothing anywhere
  with jax.enable_x64(True):
    perm = np.asarray(assignment(padded))
  np.testing.assert_allclose(_cost_of(rect, perm[:30]), _optimal_cost(rect), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["cpu", "gpu"])
def test_single_slot_bidding_of_each_platform_is_optimal(platform, monkeypatch):
  # CPUs bid row by row (Gauss-Seidel), accelerators in Jacobi rounds to the last row: both exact.
  switch = auction._switch
  monkeypatch.setattr(auction, "_switch", lambda m, capacity, _: switch(m, capacity, platform))
  rng = np.random.default_rng(7)
  cost = rng.random((193, 193))
  with jax.enable_x64(True):
    sol = transport(cost, 1)
  assert sorted(np.asarray(sol.labels)) == list(range(193))
  np.testing.assert_allclose(_cost_of(cost, sol.labels), _optimal_cost(cost), rtol=1e-12)
  ties = rng.integers(0, 4, (120, 120)).astype(np.float32)
  assert _cost_of(ties, assignment(ties)) == _optimal_cost(ties)
  machol_wien = np.outer(np.arange(64), np.arange(64)).astype(np.float32)
  assert _cost_of(machol_wien, assignment(machol_wien)) == _optimal_cost(machol_wien)


def test_assignment_jit_and_errors():
  cost = np.random.default_rng(1).random((16, 16)).astype(np.float32)
  np.testing.assert_array_equal(jax.jit(assignment)(cost), assignment(cost))
  with pytest.raises(ValueError, match="square"):
    assignment(cost[:, :5])
  with pytest.raises(ValueError, match="NaN"):
    assignment(np.where(np.eye(16) > 0, np.nan, cost))
  with pytest.raises(ValueError, match="shape"):
    assignment(np.zeros((0, 0)))
  # Traced NaN cannot raise: the solver returns -1 labels instead of looping forever.
  assert np.all(np.asarray(jax.jit(assignment)(np.full((4, 4), np.nan, np.float32))) == -1)


def _pot_transport_cost(cost, capacity):
  """POT network simplex on the same Hitchcock problem; a zero-cost dummy row absorbs spare capacity."""
  n, m = cost.shape
  spare = capacity * m - n
  a, c = np.ones(n), cost
  if spare:
    a, c = np.append(a, spare), np.vstack([cost, np.zeros((1, m))])
  plan = pot.emd(a, np.full(m, float(capacity)), c, numItermax=10**7)
  return (plan[:n] * cost).sum()


@pytest.mark.slow
@pytest.mark.parametrize("n,m,capacity", [(200, 10, 20), (157, 12, 15), (500, 25, 20), (40, 7, 40)])
def test_balanced_assignment_equals_pot_and_beats_lcm(n, m, capacity):
  rng = np.random.default_rng(n + m)
  cost = _sq_euclidean(rng, n, m, 8)
  with jax.enable_x64(True):
    labels = np.asarray(balanced_assignment(cost, capacity))
  assert labels.min() >= 0 and np.bincount(labels, minlength=m).max() <= capacity
  got = _cost_of(cost, labels)
  np.testing.assert_allclose(got, _pot_transport_cost(cost, capacity), rtol=1e-10)
  assert got <= _cost_of(cost, lcm(cost.astype(np.float32), capacity)) + 1e-9


@pytest.mark.slow
def test_balanced_assignment_integer_costs_exact_and_float32():
  rng = np.random.default_rng(11)
  cost = rng.integers(0, 5, (300, 12)).astype(np.float32)
  labels = balanced_assignment(cost, 25)
  assert _cost_of(cost, labels) == pytest.approx(_pot_transport_cost(cost.astype(np.float64), 25), abs=0)
  cost = _sq_euclidean(rng, 1000, 20, 16).astype(np.float32)
  sol = transport(cost, 50)
  got, opt = _cost_of(cost, sol.labels), _pot_transport_cost(cost.astype(np.float64), 50)
  assert got - opt <= float(sol.gap) + 1e-6 * opt
  np.testing.assert_allclose(got, opt, rtol=1e-5)


def test_balanced_assignment_errors():
  cost = np.zeros((10, 3), np.float32)
  with pytest.raises(ValueError, match="do not fit"):
    balanced_assignment(cost, 3)
  with pytest.raises(ValueError, match="capacity"):
    balanced_assignment(cost, 0)
  with pytest.raises(ValueError, match="capacity"):
    balanced_assignment(cost, 2.5)


def test_transport_dual_is_feasible_with_the_certified_gap():
  rng = np.random.default_rng(2)
  cost = _sq_euclidean(rng, 120, 9, 4)
  with jax.enable_x64(True):
    sol = transport(cost, 15)
  u, v = np.asarray(sol.row_potential), np.asarray(sol.column_price)
  assert np.all(u[:, None] - v[None, :] <= cost + 1e-12)  # dual feasible
  assert np.all(v >= 0)
  primal = _cost_of(cost, sol.labels)
  dual = u.sum() - 15 * v.sum()
  np.testing.assert_allclose(primal - dual, float(sol.gap), atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("n,d", [(1, 3), (50, 2), (300, 16)])
def test_kantorovich_potentials_feasible_and_optimal(n, d):
  rng = np.random.default_rng(n)
  x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 1.0
  with jax.enable_x64(True):
    h_x, h_y = map(np.asarray, kantorovich_potentials(jnp.asarray(x), jnp.asarray(y)))
  cost = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
  assert np.all(h_y[None, :] - h_x[:, None] <= cost + 1e-10)  # AE-OT eq. 14 constraints
  primal = pot.emd2(np.full(n, 1 / n), np.full(n, 1 / n), cost)
  np.testing.assert_allclose(h_y.mean() - h_x.mean(), primal, rtol=1e-10, atol=1e-12)


def test_kantorovich_potentials_errors():
  x = np.zeros((5, 2), np.float32)
  with pytest.raises(ValueError, match="same number"):
    kantorovich_potentials(x, np.zeros((4, 2), np.float32))
  with pytest.raises(ValueError, match="dimension"):
    kantorovich_potentials(x, np.zeros((5, 3), np.float32))
  with pytest.raises(ValueError, match="NaN"):
    kantorovich_potentials(x, np.full((5, 2), np.nan, np.float32))
