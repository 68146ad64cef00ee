import jax
import numpy as np
import pytest

from ltot import methods
from ltot.methods.twae import make_generators, regularized_gradient
from ltot.ot import lcm
from tests.train.test_engine import tiny_config


def _method(**overrides):
  return methods.build(tiny_config(method="twae", **{"model.latent_dim": 2, **overrides}), 16)


@pytest.mark.parametrize("assign", ["lcm", "exact"])
def test_regions_use_every_point_once_in_equal_batches(assign):
  method = _method(**{"twae.num_regions": 4, "twae.assign": assign})
  z = jax.random.uniform(jax.random.key(0), (40, 2), minval=-1, maxval=1)
  members = np.asarray(method.regions(z))
  assert members.shape == (4, 10)
  assert sorted(members.ravel()) == list(range(40))
  cost = ((np.asarray(z)[:, None] - np.asarray(method.generators)[None]) ** 2).sum(-1)
  if assign == "lcm":
    labels = np.asarray(lcm(cost.astype(np.float32), 10))
    for j in range(4):
      assert set(members[j]) == set(np.flatnonzero(labels == j))
  total = lambda mem: sum(cost[mem[j], j].sum() for j in range(4))  # noqa: E731
  assert total(members) <= total(np.asarray(_method(**{"twae.num_regions": 4, "twae.assign": "lcm"}).regions(z)))
  with pytest.raises(ValueError, match="equal size"):
    method.regions(z[:38])


def test_algorithm_3_on_a_quadratic_by_hand():
  # f_i(theta) = |theta - c_i|^2 / 2: grad f_S(theta_k) - grad f_S(theta_{k-1}) = theta_k - theta_{k-1}
  # for any batch S, so SGD with Algorithm 3's gradient is theta_{k+1} = theta_k - lr * ((theta_k - c_k)
  # + alpha * (theta_k - theta_{k-1})), and theta_1 = theta_0 - lr * (theta_0 - c_0) at a round's start.
  c = np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0], [0.0, 0.0]])
  s = np.array([[0.3, 0.3], [-2.0, 1.0], [5.0, 5.0], [1.0, 1.0]])  # random batches' optima
  lr, alpha = 0.3, 0.2
  grad = lambda theta, target: {"w": theta - target}  # noqa: E731
  theta, prev_theta, ours = np.array([0.5, -0.5]), None, []
  for k in range(4):
    now = grad(theta, s[k - 1]) if k else grad(theta, 0.0)
    then = grad(prev_theta, s[k - 1]) if k else grad(theta, 0.0)
    g = regularized_gradient(grad(theta, c[k]), now, then, alpha, first=k == 0)["w"]
    prev_theta, theta = theta, theta - lr * np.asarray(g)
    ours.append(theta)
  theta, prev, hand = np.array([0.5, -0.5]), None, []
  for k in range(4):
    step = theta - c[k] + (alpha * (theta - prev) if k else 0.0)
    prev, theta = theta, theta - lr * step
    hand.append(theta)
  np.testing.assert_allclose(ours, hand, rtol=1e-6)


def test_round_state_and_generators():
  method = _method()
  assert method.updates_per_batch == 2 and method.per_region == 8
  assert np.all(np.linalg.norm(np.asarray(method.generators), axis=1) <= 1)
  g = make_generators("e8", 241, 8)
  assert g.shape == (241, 8)
  with pytest.raises(ValueError, match="E8"):
    make_generators("e8", 100, 8)
  with pytest.raises(ValueError, match="tessellation"):
    make_generators("lattice", 10, 2)
  with pytest.raises(ValueError, match="multiple"):
    methods.build(tiny_config(method="twae", batch_size=15), 16)
  with pytest.raises(ValueError, match="assign"):
    _method(**{"twae.assign": "greedy"})
