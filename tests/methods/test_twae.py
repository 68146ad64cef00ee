import jax
import numpy as np
import pytest

from ltot import methods
from ltot.methods.twae import make_generators, regularized_gradient
from ltot.ot import lcm
from tests.conftest import tiny_config


def _method(**overrides):
  return methods.build(tiny_config(method="twae", **{"model.latent_dim": 2, **overrides}), 16)


@pytest.mark.slow
@pytest.mark.parametrize("assign", ["lcm", "exact"])
def test_regions_use_every_point_once_in_equal_batches(assign):
  method = _method(**{"twae.num_regions": 4, "twae.assign": assign})
  state = method.init(jax.random.key(1), {"x": np.zeros((8, 28, 28, 1), np.uint8)})
  z = jax.random.uniform(jax.random.key(0), (40, 2), minval=-1, maxval=1)
  members = np.asarray(method.regions(state, z))
  assert members.shape == (4, 10)
  assert sorted(members.ravel()) == list(range(40))
  cost = ((np.asarray(z)[:, None] - np.asarray(state.generators)[None]) ** 2).sum(-1)
  if assign == "lcm":
    labels = np.asarray(lcm(cost.astype(np.float32), 10))
    for j in range(4):
      assert set(members[j]) == set(np.flatnonzero(labels == j))
  total = lambda mem: sum(cost[mem[j], j].sum() for j in range(4))  # noqa: E731
  assert total(members) <= total(np.asarray(_method(**{"twae.num_regions": 4, "twae.assign": "lcm"}).regions(state, z)))
  with pytest.raises(ValueError, match="equal size"):
    method.regions(state, z[:38])


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
  state = method.init(jax.random.key(0), {"x": np.zeros((8, 28, 28, 1), np.uint8)})
  assert state.generators.shape == (2, 2) and np.all(np.linalg.norm(np.asarray(state.generators), axis=1) <= 1)
  np.testing.assert_array_equal(state.generators, make_generators("cvt", 2, 2, num_samples=200, num_iters=3))
  # A restore template fits nothing: the CVT runs only when a state is made for real.
  abstract = jax.eval_shape(method.init, jax.random.key(0), {"x": np.zeros((8, 28, 28, 1), np.uint8)})
  assert abstract.generators.shape == (2, 2) and not isinstance(abstract.generators, jax.Array)
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


def _steps(method, state, batch, num):
  """``num`` 1-device steps of ``method`` from ``state`` on the same batch (rounds of m steps); the states after each."""
  step = jax.pmap(method.train_step, axis_name="devices", devices=jax.local_devices()[:1], in_axes=(0, 0, None))
  rstate = jax.tree.map(lambda x: np.asarray(x)[None], state)
  out = []
  for i in range(num):
    rstate, _ = step(rstate, {"x": batch[None]}, jax.random.key(i))
    out.append(jax.tree.map(lambda x: np.asarray(x)[0], rstate))
  return out


def _stats_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a.batch_stats), jax.tree.leaves(b.batch_stats)))


@pytest.fixture(scope="module")
def batch(mnist):
  return mnist["train"].images[:16]


@pytest.mark.slow
def test_bn_frozen_after_first_round_keeps_the_statistics_from_round_two(batch):
  method = _method(**{"twae.bn_policy": "frozen_after_first_round"})  # m = 2 regions of 8
  state = method.init(jax.random.key(0), {"x": batch[:8]})
  s = _steps(method, state, batch, 5)
  assert not _stats_equal(state, s[0]) and not _stats_equal(s[0], s[1])  # round 1: train mode
  assert _stats_equal(s[1], s[2]) and _stats_equal(s[1], s[4])  # from round 2 on: frozen
  assert not np.array_equal(s[2].params["encoder"]["Dense_0"]["kernel"], s[4].params["encoder"]["Dense_0"]["kernel"])
  train = _steps(_method(), state, batch, 3)  # "train": every region step moves them
  assert not _stats_equal(train[1], train[2])


@pytest.mark.slow
def test_bn_round_statistics_are_the_exact_statistics_of_the_rounds_images(batch):
  import ltot.data
  method = _method(**{"twae.bn_policy": "round_statistics"})
  state = method.init(jax.random.key(0), {"x": batch[:8]})
  s = _steps(method, state, batch, 3)
  assert _stats_equal(s[0], s[1]) and not _stats_equal(s[1], s[2])  # fixed within a round, new each round
  # The first BatchNorm's mean and variance are those of the first conv's outputs over all 16 images,
  # computed at the round's starting parameters.
  x = ltot.data.to_unit_float(batch)
  variables = {"params": state.params["encoder"], "batch_stats": state.batch_stats["encoder"]}
  encoder = method.autoencoder.encoder.clone(axis_name=None)  # one device: no pmap axis to average over
  _, captured = encoder.apply(variables, x, train=True, mutable=["batch_stats", "intermediates"],
                              capture_intermediates=True)
  conv = np.asarray(captured["intermediates"]["Conv_0"]["__call__"][0])
  bn = s[0].batch_stats["encoder"]["BatchNorm_0"]
  np.testing.assert_allclose(bn["mean"], conv.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(bn["var"], conv.var((0, 1, 2)), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_authors_region_priors_split_ball_points_by_the_assignment():
  from ltot import tessellation
  generators = make_generators("cvt", 4, 2, num_samples=2_000, num_iters=10)
  priors = np.asarray(tessellation.sample_regions(jax.random.key(0), generators, 50, method="capacity", assign="lcm"))
  assert priors.shape == (4, 50, 2) and np.all(np.linalg.norm(priors, axis=-1) <= 1)
  points = priors.reshape(-1, 2)
  labels = np.asarray(lcm(((points[:, None] - np.asarray(generators)[None]) ** 2).sum(-1), 50))
  assert all(np.all(labels[j * 50:(j + 1) * 50] == j) for j in range(4))  # region j holds what LCM gave it
  method = _method(**{"twae.region_prior": "assigned"})
  assert method.region_prior == "assigned"
  with pytest.raises(ValueError, match="region_prior"):
    _method(**{"twae.region_prior": "lattice"})
  with pytest.raises(ValueError, match="bn_policy"):
    _method(**{"twae.bn_policy": "eval"})
