import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot.methods import ot_gen


def test_matched_targets_is_the_optimal_permutation():
  rng = np.random.default_rng(0)
  for _ in range(5):
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    best = min(itertools.permutations(range(6)), key=lambda p: cost[np.arange(6), list(p)].sum())
    got = np.asarray(ot_gen.matched_targets(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)))
    np.testing.assert_allclose(got, y[list(best)], rtol=1e-6)
    # A permutation of y: every code used exactly once.
    assert sorted(map(tuple, got.round(6))) == sorted(map(tuple, y.astype(np.float32).round(6)))


@pytest.mark.slow
def test_otgen_loss_by_hand():
  # p0 = (0,0), p1 = (2,0); z0 = (2,1), z1 = (0,1). Optimal: p0 -> z1, p1 -> z0, each squared cost 1.
  p = jnp.array([[0.0, 0.0], [2.0, 0.0]])
  z = jnp.array([[2.0, 1.0], [0.0, 1.0]])
  loss, parts = ot_gen.otgen_loss(p, z, lam=1.0)
  assert float(parts["transport"]) == pytest.approx(1.0)
  # Mean pairwise distances over 4 ordered pairs: (0 + 2 + 2 + 0) / 4 = 1 for both sets.
  assert float(parts["diversity"]) == pytest.approx(0.0, abs=1e-7)
  assert float(loss) == pytest.approx(1.0)
  # Gradient of the transport term: 2 (p - sigma(p)) / k, the matching held fixed.
  g = jax.grad(lambda q: ot_gen.otgen_loss(q, z)[0])(p)
  np.testing.assert_allclose(g, 2 * (p - z[jnp.array([1, 0])]) / 2, atol=1e-6)


@pytest.mark.slow
def test_diversity_by_hand_and_finite_gradient_at_coincident_points():
  p = jnp.zeros((3, 2))  # collapsed predictions
  z = jnp.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # pairwise distances 3, 4, 5
  assert float(ot_gen.diversity(p, z)) == pytest.approx(2 * (3 + 4 + 5) / 9)
  g = jax.grad(lambda q: ot_gen.otgen_loss(q, z, lam=1.0)[0])(p)
  assert np.all(np.isfinite(g))


def test_ottrans_loss_by_hand_and_errors():
  pred, target = jnp.array([[1.0, 2.0], [0.0, 0.0]]), jnp.array([[1.0, 0.0], [3.0, 4.0]])
  assert float(ot_gen.ottrans_loss(pred, target)) == pytest.approx((4 + 25) / 2)
  with pytest.raises(ValueError, match="same number of points"):
    ot_gen.matched_targets(jnp.zeros((3, 2)), jnp.zeros((4, 2)))
