"""OTS/FIT (ltot.methods.ots_fit) through the generic loop: phases, 1 vs 4 devices, resume, errors."""

import json

import jax
import ml_collections
import numpy as np
import optax
import pytest

from ltot import data, methods, train
from ltot.methods.ots_fit import OTSFIT, fit_cost
from ltot.nn import LineStart
from ltot.metrics import wasserstein
from ltot.ot import semidiscrete_dual


def ring_config(**overrides):
  c = ml_collections.ConfigDict(dict(
      method="ots_fit", dataset="ring", seed=0, num_devices=1, batch_size=32, num_steps=30, log_every=1,
      eval_every=0, num_eval_examples=1, checkpoint_every=1000, max_checkpoints=2, model=dict(width=1.0),
      ots_fit=dict(generator="line", hidden=(32, 32), out_dim=2, activation="relu", noise="uniform", noise_dim=2,
                   cost="sqeuclidean", psi_optimizer="sgd", psi_lr=0.002, ots_steps=6, fit_steps=4, ots_tol=0.0,
                   alternate=True, subsample=(), lr=1e-3, b1=0.9, b2=0.999, chunk=0, output="sigmoid",
                   image_shape=(28, 28, 1), stop_window=0, stop_bins=1000, stop_range=(0.78125, 1.25),
                   fit_pairs="fresh")))
  c.update_from_flattened_dict(overrides)
  return c


def _ring(n=64, seed=0):
  return {"x": data.ring(np.random.default_rng(seed), n)}


def _train(config, workdir, arrays=None):
  return train.train(methods.build(config, 1), arrays or _ring(), config, str(workdir), progress=False)


def _log(workdir):
  return [json.loads(line) for line in open(workdir / "metrics.jsonl")]


def test_fit_cost_by_hand():
  a, b = np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[3.0, 4.0], [1.0, 0.0]])
  np.testing.assert_allclose(fit_cost(a, b, "l1"), [7.0, 2.0])
  np.testing.assert_allclose(fit_cost(a, b, "sqeuclidean"), [25.0, 4.0])
  np.testing.assert_allclose(fit_cost(a, b, "euclidean"), [5.0, 2.0])


def test_line_start_is_the_segment_at_init():
  net = LineStart((16,), 2, half_length=0.5)
  z = jax.random.uniform(jax.random.key(0), (100, 2), minval=-1, maxval=1)
  out = net.apply(net.init(jax.random.key(1), z), z)
  np.testing.assert_allclose(out[:, 0], 0.5 * z[:, 0], atol=1e-7)
  np.testing.assert_allclose(out[:, 1], 0.0, atol=1e-7)


@pytest.mark.slow
def test_phases_alternate_and_the_ablation_never_returns_to_ots(tmp_path):
  # ots_steps 6, fit_steps 4: steps 1-6 OTS (round 0), 7-10 FIT, 11-16 OTS (round 1), ...
  _train(ring_config(), tmp_path / "alt")
  log = _log(tmp_path / "alt")
  assert [e["ots"] for e in log[:12]] == [1.0] * 6 + [0.0] * 4 + [1.0] * 2
  assert [e["round"] for e in log[:12]] == [0.0] * 10 + [1.0] * 2
  _train(ring_config(**{"ots_fit.alternate": False}), tmp_path / "once")
  log = _log(tmp_path / "once")
  assert [e["ots"] for e in log] == [1.0] * 6 + [0.0] * 24 and {e["round"] for e in log} == {0.0}


@pytest.mark.slow
def test_ots_raises_the_dual_and_fit_lowers_the_transport_cost(tmp_path):
  # One round on the ring: within the OTS phase the dual of eq. 2.3 (estimated on many fresh samples
  # of the frozen generator) rises; after the FIT phase, the generator's cost to the dataset under
  # the new OTS is lower than the previous round's.
  config = ring_config(num_steps=900, log_every=50, batch_size=128,
                       **{"ots_fit.ots_steps": 300, "ots_fit.fit_steps": 150})
  method = methods.build(config, 1)
  points = _ring(500)
  y = points["x"]
  start = method.init(train.root_keys(0)["init"], points)
  after_ots = _train(ring_config(num_steps=300, batch_size=128, **{"ots_fit.ots_steps": 300,
                                                                     "ots_fit.fit_steps": 150}),
                     tmp_path / "ots", points).state
  assert bool(after_ots.in_ots) is False  # the phase just ended; the generator is still the initial one
  x = method.generate(start, start.gen.params, method.sample_noise(jax.random.key(5), 8192))
  order = np.asarray(method.training_data(None, jax.random.fold_in(train.root_keys(0)["init"], 1), points)["x"])
  assert semidiscrete_dual(after_ots.psi, x, order) > semidiscrete_dual(start.psi, x, y) + 0.01
  _train(config, tmp_path / "rounds", points)
  log = _log(tmp_path / "rounds")
  first, second = ([e["transport"] for e in log if e["round"] == r and e["ots"] == 1.0][-1] for r in (0, 1))
  assert second < 0.7 * first, (first, second)


AUTHORS = {"ots_fit.stop_window": 3, "ots_fit.stop_bins": 8, "ots_fit.stop_range": (0.0, 100.0),
           "ots_fit.fit_pairs": "stored", "ots_fit.psi_optimizer": "adam", "ots_fit.psi_lr": 0.01}


@pytest.mark.parametrize("extra", [{}, pytest.param(AUTHORS, marks=pytest.mark.slow)])
def test_one_device_equals_four_devices(tmp_path, extra):
  # Phase switches, a subsample stage and FIT steps, on 1 and on 4 devices; with the authors' window
  # stop and stored-pair FIT too (the targets come from every device's share of the dataset).
  overrides = {"ots_fit.subsample": ((1, 0.25),), **extra}
  one = _train(ring_config(**overrides), tmp_path / "one").state
  four = _train(ring_config(num_devices=4, **overrides), tmp_path / "four").state
  init = methods.build(ring_config(), 1).init(train.root_keys(0)["init"], _ring())
  assert not np.allclose(one.psi, init.psi) and int(one.round) == (3 if not extra else 4)
  np.testing.assert_allclose(one.psi, four.psi, rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree.leaves(one.gen.params), jax.tree.leaves(four.gen.params)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_subsample_stage_touches_only_its_fraction(tmp_path):
  # Round 0 on a quarter of the 64 points: only 16 entries of psi move (the first 16 of the
  # method's random order); the rest of psi stays at zero until the whole dataset is used.
  state = _train(ring_config(num_steps=6, **{"ots_fit.subsample": ((1, 0.25),)}), tmp_path).state
  moved = np.flatnonzero(np.asarray(state.psi))
  assert len(moved) > 0 and moved.max() < 16


@pytest.mark.slow
@pytest.mark.parametrize("extra", [{}, AUTHORS])
def test_resume_mid_phase_is_bitwise_equal(tmp_path, extra):
  full = _train(ring_config(num_steps=13, **extra), tmp_path / "full").state
  _train(ring_config(num_steps=8, checkpoint_every=8, **extra), tmp_path / "cut")  # stops inside round 0's FIT
  resumed = _train(ring_config(num_steps=13, **extra), tmp_path / "cut").state
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(a, b)


def test_ots_tol_ends_the_phase_early(tmp_path):
  # A tolerance of 1 (any histogram is within TV 1 of uniform) ends OTS after the moving
  # average's warm-up: ceil(1 / (1 - 0.5)) = 2 steps instead of 6.
  method = OTSFIT(net=LineStart((8,), 2), tx=optax.adam(1e-3), psi_tx=optax.sgd(0.01), noise_dim=2, batch_size=16,
                  cost="sqeuclidean", ots_steps=6, fit_steps=3, ots_tol=1.0, hist_decay=0.5, noise="uniform")
  config = ring_config(num_steps=5, batch_size=16)
  train.train(method, _ring(), config, str(tmp_path), progress=False)
  assert [e["ots"] for e in _log(tmp_path)] == [1.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.slow
def test_training_approaches_the_ring(tmp_path):
  # 6 rounds on 512 ring points: the exact W2 from 512 samples to 512 fresh ring points falls
  # below half of the initial segment's.
  config = ring_config(num_steps=3000, batch_size=128, log_every=500,
                       **{"ots_fit.ots_steps": 250, "ots_fit.fit_steps": 250, "ots_fit.hidden": (64, 64)})
  points = _ring(512)
  method = methods.build(config, 1)
  fresh = data.ring(np.random.default_rng(9), 512)
  start = method.init(train.root_keys(0)["init"], points)
  before = float(wasserstein(method.sample(start, jax.random.key(1), 512), fresh, p=2))
  state = _train(config, tmp_path, points).state
  after = float(wasserstein(method.sample(state, jax.random.key(1), 512), fresh, p=2))
  assert after < 0.5 * before, (before, after)


def test_errors(tmp_path):
  with pytest.raises(ValueError, match="cost must be one of"):
    methods.build(ring_config(**{"ots_fit.cost": "linf"}), 1)
  with pytest.raises(ValueError, match="psi_optimizer"):
    methods.build(ring_config(**{"ots_fit.psi_optimizer": "rmsprop"}), 1)
  with pytest.raises(ValueError, match="subsample stages"):
    methods.build(ring_config(**{"ots_fit.subsample": ((1, 0.0),)}), 1)
  with pytest.raises(ValueError, match="must divide evenly over 4 devices"):
    _train(ring_config(num_devices=4), tmp_path / "a", _ring(66))
  with pytest.raises(ValueError, match="batch_size=30 must divide over the 4 devices"):
    _train(ring_config(num_devices=4, batch_size=30), tmp_path / "b")
  with pytest.raises(ValueError, match="examples of shape 28x28x1, but this method takes 2"):
    _train(ring_config(), tmp_path / "c", {"x": np.zeros((8, 28, 28, 1), np.uint8)})
  with pytest.raises(ValueError, match="fit_pairs='stored'"):
    methods.build(ring_config(**{"ots_fit.fit_pairs": "stored"}), 1)
  with pytest.raises(ValueError, match="output must be"):
    methods.build(ring_config(**{"ots_fit.output": "relu"}), 1)
  with pytest.raises(ValueError, match="NaN"):
    _train(ring_config(), tmp_path / "d", {"x": np.full((64, 2), np.nan, np.float32)})


@pytest.mark.slow
def test_the_authors_window_rule_ends_ots_once_the_window_is_full_and_balanced(tmp_path):
  # A range that any count satisfies: OTS ends as soon as the window of 3 steps is full (steps 1-3),
  # then 4 FIT steps; the next round starts with an empty window.
  _train(ring_config(num_steps=12, **{"ots_fit.stop_window": 3, "ots_fit.stop_bins": 8,
                                      "ots_fit.stop_range": (0.0, 100.0)}), tmp_path / "a")
  assert [e["ots"] for e in _log(tmp_path / "a")] == [1.0] * 3 + [0.0] * 4 + [1.0] * 3 + [0.0] * 2
  # A range nothing satisfies: the phase runs its ots_steps (6).
  _train(ring_config(num_steps=8, **{"ots_fit.stop_window": 3, "ots_fit.stop_bins": 8,
                                     "ots_fit.stop_range": (2.0, 3.0)}), tmp_path / "b")
  log = _log(tmp_path / "b")
  assert [e["ots"] for e in log] == [1.0] * 6 + [0.0] * 2
  assert all(e["window_max"] >= e["window_min"] >= 0 for e in log[:6])


@pytest.mark.slow
def test_stored_pair_fit_regresses_on_the_ots_steps_own_noise_and_targets():
  config = ring_config(**AUTHORS)
  method = methods.build(config, 1)
  points = method.training_data(None, jax.random.key(0), _ring())
  state = method.init(jax.random.key(1), points)
  step = jax.pmap(method.train_step, axis_name="devices", devices=jax.local_devices()[:1], in_axes=(0, 0, None))
  rstate = jax.tree.map(lambda x: np.asarray(x)[None], state)
  batch = {"x": points["x"][None]}
  for i in range(3):  # the OTS phase: the window fills and the phase ends
    rstate, _ = step(rstate, batch, jax.random.key(10 + i))
  ots_state = jax.tree.map(lambda x: np.asarray(x)[0], rstate)
  assert not bool(ots_state.in_ots) and int(ots_state.window.filled) == 3
  rng = jax.random.key(99)
  _, metrics = step(rstate, batch, rng)
  w = ots_state.window
  slot = int(jax.random.randint(jax.random.fold_in(rng, 1), (), 0, 3))
  z = method.sample_noise(jax.random.wrap_key_data(w.keys[slot]), config.batch_size)
  target = points["x"][np.asarray(w.index[slot])]
  expected = np.mean(np.asarray(fit_cost(method.generate(ots_state, ots_state.gen.params, z), target, "sqeuclidean")))
  np.testing.assert_allclose(np.asarray(metrics["fit_loss"])[0], expected, rtol=1e-5)
  # The stored noise is each OTS step's own: key 10 made the first step's batch.
  np.testing.assert_array_equal(w.keys[0], jax.random.key_data(jax.random.key(10)))


def test_tanh_output_maps_the_generator_to_unit_pixels():
  config = ring_config(**{"ots_fit.generator": "mlp_images", "ots_fit.hidden": (16,), "ots_fit.output": "tanh",
                          "ots_fit.noise": "gaussian", "ots_fit.noise_dim": 5, "ots_fit.cost": "l1"})
  config.ots_fit.image_shape = (4, 4, 1)
  method = methods.build(config, 1)
  assert method.data_shapes == ((4, 4, 1),)
  state = method.init(jax.random.key(0), {"x": np.zeros((8, 4, 4, 1), np.float32)})
  z = method.sample_noise(jax.random.key(1), 6)
  logits = method.net.apply({"params": state.gen.params}, z)
  np.testing.assert_allclose(method.sample(state, jax.random.key(1), 6), 0.5 * (np.tanh(logits) + 1), atol=1e-6)


def test_presets_alternate_except_the_ablations():
  from ltot import configs
  for method in configs.OTS_FIT_METHODS:
    for dataset in configs.OTS_FIT_DATASETS:
      if dataset == "ring" and "authors" in method:
        continue
      c = configs.ots_fit(f"{method}-{dataset}")
      assert c.ots_fit.alternate == (not method.endswith("_nonalternating")), (method, dataset)
