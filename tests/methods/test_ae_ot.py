import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ltot.methods import ae_ot
from ltot.nn import MLP
from ltot.ot import assignment, kantorovich_potentials


def test_dual_assignment_is_complementary_to_the_optimal_matching():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 1.0
  with jax.enable_x64(True):
    h_x, h_y = (np.asarray(h) for h in kantorovich_potentials(x, y))
    cost = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
    assert np.all(h_y[None, :] - h_x[:, None] <= cost + 1e-9)  # feasible
    perm = np.asarray(assignment(jnp.asarray(cost)))
    score = cost + h_x[:, None] - h_y[None, :]  # >= 0, and 0 on the optimal matching
    sigma = np.asarray(ae_ot.dual_assignment(x, y, h_x, h_y))
    np.testing.assert_allclose(score[np.arange(40), sigma], 0, atol=1e-9)
    np.testing.assert_allclose(score[np.arange(40), perm], 0, atol=1e-9)


def test_regression_loss_by_hand():
  # D(z) = a . z: values a . z_i, gradients a everywhere.
  a = jnp.array([1.0, 2.0])
  z = jnp.array([[1.0, 0.0], [0.0, 1.0]])
  h = jnp.array([0.0, 0.0])
  matched = jnp.array([[4.0, 4.0], [0.0, 1.0]])  # displacements of norm 5 and 0
  loss, parts = ae_ot.potential_regression_loss(lambda v: a @ v, z, h, matched, lam=0.5)
  assert float(parts["fit"]) == pytest.approx((1 + 4) / 2)
  g = np.sqrt(5.0)
  assert float(parts["gradient"]) == pytest.approx(((g - 5) ** 2 + g ** 2) / 2)
  assert float(loss) == pytest.approx(2.5 + 0.5 * float(parts["gradient"]))
  np.testing.assert_allclose(ae_ot.transport_map(lambda v: a @ v, z), z + a, atol=1e-6)


@pytest.mark.slow
def test_regression_without_the_gradient_term_has_the_fit_term_gradient():
  # lam = 0 (the papers' setting) reports the gradient term but must not change the update.
  net = MLP((16, 16), 1, "relu")
  params = net.init(jax.random.key(0), jnp.zeros((1, 3)))
  z, matched = jax.random.normal(jax.random.key(1), (2, 20, 3))
  h = jax.random.normal(jax.random.key(2), (20,))
  potential = lambda p: (lambda v: net.apply(p, v)[0])  # noqa: E731
  got = jax.grad(lambda p: ae_ot.potential_regression_loss(potential(p), z, h, matched, 0.0)[0])(params)
  want = jax.grad(lambda p: jnp.mean((net.apply(p, z)[:, 0] - h) ** 2))(params)
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  assert float(ae_ot.potential_regression_loss(potential(params), z, h, matched, 0.0)[1]["gradient"]) > 0


@pytest.mark.slow
def test_fitted_potential_moves_points_to_their_targets():
  # Two-point target (+-3, 0), source N(0, I) in 2-D. Each step draws a fresh batch, solves eq. 14
  # and regresses D with eq. 18 (lambda 1) onto the duals, targets from the primal matching.
  # The semi-discrete Brenier map sends x to the target on its side, so z + grad D(z) must too.
  targets = jnp.array([[-3.0, 0.0], [3.0, 0.0]])
  z_y = jnp.repeat(targets, 32, axis=0)
  net = MLP((64, 64), 1)
  params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
  potential = lambda p: (lambda v: net.apply(p, v)[0])  # noqa: E731
  tx = optax.adam(3e-3)
  opt = tx.init(params)

  @jax.jit
  def step(params, opt, key):
    z_x = jax.random.normal(key, (64, 2))
    h_x, h_y = kantorovich_potentials(z_x, z_y)
    h_x = h_x - jnp.mean(h_y)  # duals are defined up to a common shift: fix it per batch
    matched = z_y[assignment(0.5 * jnp.sum((z_x[:, None] - z_y[None]) ** 2, -1))]
    loss_fn = lambda p: ae_ot.potential_regression_loss(potential(p), z_x, h_x, matched, 1.0)[0]  # noqa: E731
    updates, opt = tx.update(jax.grad(loss_fn)(params), opt)
    return optax.apply_updates(params, updates), opt

  for i in range(400):
    params, opt = step(params, opt, jax.random.PRNGKey(i + 1))
  z = jax.random.normal(jax.random.PRNGKey(10_000), (200, 2))
  moved = np.asarray(ae_ot.transport_map(potential(params), z))
  want = np.where(np.asarray(z[:, :1]) < 0, -3.0, 3.0)
  far_from_boundary = np.abs(np.asarray(z[:, 0])) > 0.5
  err = np.linalg.norm(moved - np.c_[want, np.zeros(200)], axis=1)[far_from_boundary]
  assert np.median(err) < 0.5, np.median(err)
  before = np.linalg.norm(np.asarray(z) - np.c_[want, np.zeros(200)], axis=1)[far_from_boundary]
  assert np.mean(err) < 0.3 * np.mean(before)
