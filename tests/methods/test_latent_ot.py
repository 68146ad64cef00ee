"""The trainable latent generators (OTGen, OTTrans, AEOT) through the generic loop."""

import json
import shutil

import jax
import ml_collections
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from ltot import data, methods, train
from ltot.methods.latent import load_autoencoder
from ltot.metrics import wasserstein
from tests.conftest import tiny_config


def toy_config(method, **overrides):
  c = ml_collections.ConfigDict(dict(
      method=method, dataset="moons", seed=0, num_devices=1, batch_size=32, num_steps=3, log_every=1,
      eval_every=0, num_eval_examples=64, checkpoint_every=100, max_checkpoints=2,
      ot_gen=dict(variant="otgen", lam=0.5, noise="uniform", noise_dim=2, code_dim=2, hidden=(32, 32),
                  activation="leaky_relu", lr=1e-3, b1=0.9, b2=0.999, autoencoder="", num_pairs=0, solver="auto"),
      ae_ot=dict(lam=0.5, code_dim=2, hidden=(32, 32), activation="relu", lr=1e-3, b1=0.5, b2=0.999,
                 autoencoder="", solver="auto")))
  c.update_from_flattened_dict(overrides)
  return c


def _points(n=128, seed=0):
  return {"x": data.moons(np.random.default_rng(seed), n)}


def _train(config, arrays, workdir):
  return train.train(methods.build(config, 1), arrays, config, str(workdir), progress=False)


@pytest.mark.parametrize("method,overrides", [("ot_gen", {}), ("ot_gen", {"ot_gen.variant": "ottrans"}), ("ae_ot", {})])
@pytest.mark.slow
def test_one_device_equals_four_devices(tmp_path, method, overrides):
  one = _train(toy_config(method, **overrides), _points(), tmp_path / "one").state
  four = _train(toy_config(method, num_devices=4, **overrides), _points(), tmp_path / "four").state
  init = methods.build(toy_config(method, **overrides), 1).init(train.root_keys(0)["init"], {})
  assert not np.allclose(jax.tree.leaves(one.params)[0], jax.tree.leaves(init.params)[0])
  for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("method", ["ot_gen", "ae_ot"])
def test_the_host_solver_in_a_four_device_step_matches_the_auction(tmp_path, monkeypatch, method):
  """solver="host" (SciPy through a host callback, one call per device) inside the data-parallel step:
  OTgen's regression depends on the matching alone, so its parameters equal the auction's; AE-OT's
  duals are not unique, so its step agrees on the matching's cost."""
  from ltot.ot import host
  calls, solve_numpy = [], host.solve_numpy
  monkeypatch.setattr(host, "solve_numpy", lambda *a: calls.append(1) or solve_numpy(*a))
  runs = {}
  for s in ("host", "auction"):
    before = len(calls)
    runs[s] = _train(toy_config(method, num_devices=4, num_steps=2, **{f"{method}.solver": s}), _points(), tmp_path / s)
    assert (len(calls) - before >= 8) == (s == "host")  # 2 steps x 4 devices on the host; none for the auction
  if method == "ot_gen":
    for a, b in zip(jax.tree.leaves(runs["host"].state.params), jax.tree.leaves(runs["auction"].state.params)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  else:
    costs = {s: [json.loads(line)["transport_cost"] for line in open(tmp_path / s / "metrics.jsonl")
                 if '"transport_cost"' in line] for s in runs}
    assert len(costs["host"]) == 2 and costs["host"] == pytest.approx(costs["auction"], rel=1e-5)
  with pytest.raises(ValueError, match="solver must be one of"):
    methods.build(toy_config(method, **{f"{method}.solver": "simplex"}), 1)


def test_ottrans_pairs_are_an_optimal_matching_of_the_codes():
  method = methods.build(toy_config("ot_gen", **{"ot_gen.variant": "ottrans"}), 1)
  points = _points(40)["x"]
  pairs = method.training_data(None, jax.random.key(3), {"x": points})
  noise, matched = pairs["noise"], pairs["x"]
  assert noise.shape == matched.shape == (40, 2) and np.all(np.abs(noise) <= 1)
  # Every code used once: the matched codes are a permutation of the points.
  np.testing.assert_array_equal(np.sort(matched.view("f4,f4"), axis=0), np.sort(points.view("f4,f4"), axis=0))
  cost = ((noise[:, None] - points[None]) ** 2).sum(-1)
  rows, cols = linear_sum_assignment(cost)
  assert ((noise - matched) ** 2).sum() == pytest.approx(cost[rows, cols].sum(), rel=1e-5)


def test_ottrans_subsamples_num_pairs_and_checks_dimensions():
  method = methods.build(toy_config("ot_gen", **{"ot_gen.variant": "ottrans", "ot_gen.num_pairs": 16}), 1)
  assert method.training_data(None, jax.random.key(0), _points(40))["x"].shape == (16, 2)
  with pytest.raises(ValueError, match="num_pairs=16 exceeds"):
    method.training_data(None, jax.random.key(0), _points(10))
  with pytest.raises(ValueError, match="noise_dim .3. must equal code_dim .2."):
    methods.build(toy_config("ot_gen", **{"ot_gen.variant": "ottrans", "ot_gen.noise_dim": 3}), 1)
  with pytest.raises(ValueError, match="dimension 3, expected code_dim=2"):
    method.training_data(None, jax.random.key(0), {"x": np.zeros((20, 3), np.float32)})
  with pytest.raises(ValueError, match="NaN"):
    method.training_data(None, jax.random.key(0), {"x": np.full((20, 2), np.nan, np.float32)})


# AE-OT learns the map only through the gradient of a regressed potential and converges more
# slowly (its paper trains 10k steps); at this budget it must halve W1 but need not near the floor.
# The toy_ot_generators table measures every method's quality at the papers' budgets.
@pytest.mark.parametrize("method,overrides,floor_factor", [("ot_gen", {"ot_gen.lam": 0.0}, 4),
                                                           ("ot_gen", {"ot_gen.variant": "ottrans"}, 4),
                                                           ("ae_ot", {"ae_ot.lam": 0.0, "ae_ot.lr": 1e-2}, None)])
@pytest.mark.slow
def test_training_moves_samples_toward_the_data(tmp_path, method, overrides, floor_factor):
  # Moons, 400 steps of batch 64: the exact W1 between 256 samples and 256 fresh data points must
  # fall to under half the untrained generator's, and (OTgen, OTtrans) within 4x the data-vs-data W1.
  config = toy_config(method, num_steps=400, batch_size=64, **{f"{method}.hidden": (64, 64)}, **overrides)
  m = methods.build(config, 1)
  fresh = _points(256, seed=1)["x"]
  before = wasserstein(np.asarray(m.sample(m.init(jax.random.key(0), {}), jax.random.key(9), 256)), fresh)
  state = _train(config, _points(1024), tmp_path).state
  after = wasserstein(np.asarray(m.sample(state, jax.random.key(9), 256)), fresh)
  floor = wasserstein(_points(256, seed=2)["x"], fresh)
  assert after < 0.5 * before, (before, after)
  if floor_factor:
    assert after < floor_factor * floor, (after, floor)


@pytest.fixture(scope="module")
def autoencoder_run(mnist, tmp_path_factory):
  """A tiny WAE-MMD trained for 2 steps on real MNIST: the frozen first stage."""
  workdir = tmp_path_factory.mktemp("ae")
  config = tiny_config(num_steps=2, **{"model.latent_dim": 2})
  (workdir / "config.json").write_text(config.to_json())
  train.train(methods.build(config, 1), mnist["train"].images[:64], config, str(workdir), progress=False)
  return str(workdir)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ot_gen", "ae_ot"])
def test_on_a_frozen_autoencoder(mnist, tmp_path, autoencoder_run, method):
  config = methods.prepare_config(toy_config(method, dataset="mnist", batch_size=16, num_steps=2,
                                             **{f"{method}.autoencoder": autoencoder_run}))
  m = methods.build(config, 1)
  images = mnist["train"].images[:64]
  placeholder = m.init(jax.random.key(0), {})
  assert all(np.all(np.isnan(leaf)) for leaf in jax.tree.leaves(placeholder.autoencoder))  # until prepare
  prepared = m.prepare(placeholder)
  ae = load_autoencoder(autoencoder_run)
  for a, b in zip(jax.tree.leaves(prepared.autoencoder), jax.tree.leaves((ae.state.params, ae.state.batch_stats))):
    np.testing.assert_array_equal(a, b)
  codes = m.training_data(prepared, jax.random.key(0), {"x": images})["x"]
  np.testing.assert_allclose(codes, np.asarray(ae.method.encode(ae.state, images)), atol=1e-5)
  state = _train(config, images, tmp_path).state
  samples = np.asarray(m.sample(state, jax.random.key(1), 5))
  assert samples.shape == (5, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1
  np.testing.assert_array_equal(samples, np.asarray(ae.decode(m.sample_codes(state, jax.random.key(1), 5))))
  paths = np.asarray(m.noise_paths(state, jax.random.key(3), 2, 5))
  assert paths.shape == (10, 28, 28, 1)
  train.write_images(m, state, mnist["test"].images[:48], jax.random.key(4), str(tmp_path))
  assert (tmp_path / "samples.png").is_file() and (tmp_path / "interpolations.png").is_file()
  metrics = m.evaluate(state, {"x": mnist["test"].images[:32]}, jax.random.key(2))
  assert set(metrics) >= {"latent_sw", "recon_mse"} and all(np.isfinite(float(v)) for v in metrics.values())


@pytest.mark.slow
def test_a_latent_run_directory_alone_defines_its_model(mnist, tmp_path, autoencoder_run):
  """The first stage's config and parameters live in the run's config.json and checkpoints: with the
  first stage's directory gone, the run restores and samples exactly what it trained."""
  first = tmp_path / "first"
  shutil.copytree(autoencoder_run, first)
  config = methods.prepare_config(toy_config("ot_gen", dataset="mnist", batch_size=16, num_steps=2,
                                             **{"ot_gen.autoencoder": str(first)}))
  m = methods.build(config, 1)
  state = _train(config, mnist["train"].images[:64], tmp_path / "run").state
  shutil.rmtree(first)
  recorded = train.read_run_config(str(tmp_path / "run"))
  assert recorded.ot_gen.first_stage.method == "wae"
  again = methods.build(recorded, 1)
  _, restored = train.restore_run(str(tmp_path / "run"), jax.eval_shape(again.init, jax.random.key(0), {}))
  np.testing.assert_array_equal(np.asarray(again.sample(restored, jax.random.key(1), 4)),
                                np.asarray(m.sample(state, jax.random.key(1), 4)))


def test_first_stage_config_is_required_and_checked(tmp_path):
  config = toy_config("ot_gen", dataset="mnist", **{"ot_gen.autoencoder": str(tmp_path)})
  with pytest.raises(ValueError, match="config is not recorded: pass the config through ltot.methods.prepare_config"):
    methods.build(config, 1)
  (tmp_path / "config.json").write_text(toy_config("ae_ot").to_json())
  with pytest.raises(ValueError, match="is a 'ae_ot' run, not an autoencoder"):
    methods.prepare_config(toy_config("ot_gen", dataset="mnist", **{"ot_gen.autoencoder": str(tmp_path)}))
  with pytest.raises(FileNotFoundError, match="no config.json"):
    methods.prepare_config(toy_config("ot_gen", dataset="mnist", **{"ot_gen.autoencoder": str(tmp_path / "nope")}))


def test_load_autoencoder_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="no config.json"):
    load_autoencoder(str(tmp_path))
  (tmp_path / "config.json").write_text(tiny_config(**{"model.latent_dim": 2}).to_json())
  with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
    load_autoencoder(str(tmp_path))
  toy = toy_config("ot_gen")
  (tmp_path / "config.json").write_text(toy.to_json())
  with pytest.raises(ValueError, match="not an autoencoder"):
    load_autoencoder(str(tmp_path))


@pytest.mark.slow
def test_code_dim_must_equal_the_autoencoders_latent_dim(autoencoder_run):
  with pytest.raises(ValueError, match="code_dim=3 but the autoencoder's latent dimension is 2"):
    from ltot.methods.ot_gen import OTGen
    OTGen(net=None, tx=None, noise_dim=3, code_dim=3, autoencoder=load_autoencoder(autoencoder_run).method)


@pytest.mark.parametrize("method", ["ot_gen", "ae_ot"])
def test_an_image_dataset_without_a_first_stage_is_refused(method):
  config = toy_config(method, dataset="mnist")
  with pytest.raises(ValueError, match=f"{method}.autoencoder is empty, but dataset 'mnist' holds images"):
    methods.build(config, 1)
