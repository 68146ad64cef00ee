import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot import methods, train
from tests.conftest import assert_same_step, run_dir_at, tiny_config


@pytest.fixture(scope="module")
def images(mnist):
  return mnist["train"].images[:256]


def _run(config, images, workdir):
  method = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  return train.train(method, images, config, str(workdir), progress=False)


def _leaves(state):
  return jax.tree.leaves((state.params, state.batch_stats, state.opt_state))


def test_train_state_is_immutable(images):
  config = tiny_config()
  method = methods.build(config, 16)
  state = method.init(jax.random.key(0), {"x": images[:4]})
  with pytest.raises(dataclasses.FrozenInstanceError):
    state.step = 3
  new = state.replace(step=3)
  assert int(state.step) == 0 and int(new.step) == 3


TWAE = {"method": "twae", "model.latent_dim": 2}
TWAE_R = {**TWAE, "twae.alpha": 0.2, "twae.assign": "exact", "twae.penalty": "gw", "twae.penalty_options": {}}
TWAE_FROZEN = {**TWAE, "twae.bn_policy": "frozen_after_first_round", "twae.region_prior": "assigned"}
TWAE_ROUND = {**TWAE_R, "twae.bn_policy": "round_statistics"}


# The fast tier's 1-device = 4-devices check is OTS/FIT's (tests/methods/test_ots_fit.py).
@pytest.mark.parametrize("overrides", [{}, TWAE, {"method": "vae"}, {"wae.penalty": "gan"},
                                       {"wae.penalty": "sw", "wae.prior": "ball"}, TWAE_R, TWAE_FROZEN, TWAE_ROUND])
@pytest.mark.slow
def test_one_device_equals_four_devices(images, tmp_path, overrides):
  """One 4-device step equals the 1-device step from the same state: from init, and from the
  1-device run's step-2 checkpoint (Adam moments, BN statistics and TWAE's state under way).

  Step by step rather than along two free-running trajectories: those only differ by float
  rounding (the cross-device sums group differently), but once such a difference carries a
  pre-ReLU value across 0 the gradients differ by percents (measured: one unit of 25,088,
  1.5e-6 against -2.5e-8, gave a 2% change in the step-2 gradient and 48x the tolerance after
  3 steps), which is a property of ReLU nets, not of the data-parallel step.
  """
  assert jax.local_device_count() >= 4, "conftest forces 4 CPU devices"
  one = _run(tiny_config(num_steps=3, checkpoint_every=1, **overrides), images, tmp_path / "one")
  template = methods.build(tiny_config(**overrides), 16).init(jax.random.key(1), {"x": images[:16]})
  for start in (0, 2):
    four = _run(tiny_config(num_steps=start + 1, num_devices=4, **overrides), images,
                run_dir_at(tmp_path / "one", start, tmp_path / f"four_from_{start}")).state
    _, expected = train.Checkpointer(run_dir_at(tmp_path / "one", start + 1, tmp_path / f"one_{start + 1}")
                                     / "checkpoints").restore(template)
    before = (initial_state(tiny_config(**overrides), images) if start == 0 else train.Checkpointer(
        run_dir_at(tmp_path / "one", start, tmp_path / f"one_{start}") / "checkpoints").restore(template)[1])
    assert not np.allclose(_leaves(expected)[0], _leaves(before)[0])  # training moved the weights
    assert_same_step(_leaves(before), _leaves(expected), _leaves(four))
  assert one.step == 3


def initial_state(config, images):
  """The state a 1-device run of ``config`` starts from."""
  return methods.build(config, 16).init(train.root_keys(config.seed)["init"], {"x": images[:16]})


# TWAE with Algorithm 3 (its state carries the previous batch and gradient): resume mid-round.
@pytest.mark.parametrize("overrides,cut", [({}, 2), ({**TWAE, "twae.alpha": 0.2}, 3), (TWAE_FROZEN, 3),
                                           ({**TWAE, "twae.bn_policy": "round_statistics"}, 3)])
@pytest.mark.slow
def test_resume_is_bitwise_equal_to_uninterrupted(images, tmp_path, overrides, cut):
  full = _run(tiny_config(num_steps=5, **overrides), images, tmp_path / "full")
  assert full.step == 5
  first = _run(tiny_config(num_steps=cut, **overrides), images, tmp_path / "resumed")
  assert first.step == cut
  resumed = _run(tiny_config(num_steps=5, **overrides), images, tmp_path / "resumed")
  for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state)):
    np.testing.assert_array_equal(a, b)
  lines = [json.loads(l) for l in open(tmp_path / "resumed" / "metrics.jsonl")]
  assert [l["step"] for l in lines] == [1, 2, 3, 4, 5]


def test_checkpoint_roundtrip_and_corrupt_latest_falls_back(images, tmp_path):
  config = tiny_config(num_steps=4)
  state = _run(config, images, tmp_path).state
  ckpt = train.Checkpointer(tmp_path / "checkpoints")
  template = methods.build(config, 16).init(jax.random.key(1), {"x": images[:16]})
  step, restored = ckpt.restore(template)
  assert step == 4
  for a, b in zip(_leaves(state), _leaves(restored)):
    np.testing.assert_array_equal(a, b)
  # Truncate every data file of the latest checkpoint: restore falls back to step 2.
  for root, _, files in os.walk(tmp_path / "checkpoints" / "4"):
    for name in files:
      with open(os.path.join(root, name), "r+b") as f:
        f.truncate(0)
  step, _ = train.Checkpointer(tmp_path / "checkpoints").restore(template)
  assert step == 2


@pytest.mark.slow
def test_mismatched_checkpoint_is_a_clear_error(images, tmp_path):
  _run(tiny_config(num_steps=2), images, tmp_path)
  other = methods.build(tiny_config(**{"model.latent_dim": 4}), 16)
  template = other.init(jax.random.key(0), {"x": images[:16]})
  with pytest.raises(ValueError, match=r"does the config match.*params/encoder/Dense_0/kernel: saved \(128, 8\), this config \(128, 4\)"):
    train.Checkpointer(tmp_path / "checkpoints").restore(template)


def test_adam_schedule_piecewise():
  # WAE MNIST: 1e-3, x0.5 after epoch 30, x0.1 (absolute) after epoch 50. With a constant
  # gradient, Adam's bias-corrected step is exactly -lr(step) (up to eps).
  tx = train.adam_with_schedule(1e-3, 0.5, 0.999, steps_per_epoch=10, decay_epochs={30: 0.5, 50: 0.1})
  params = jnp.zeros(())
  opt_state = tx.init(params)
  sizes = []
  for _ in range(520):
    updates, opt_state = tx.update(jnp.ones(()), opt_state, params)
    sizes.append(-float(updates))
  assert [sizes[s] for s in (0, 299, 300, 499, 500, 519)] == pytest.approx(
      [1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4], rel=1e-5)
  with pytest.raises(ValueError, match="learning rate"):
    train.adam_with_schedule(0.0, 0.5, 0.999, 10)


@pytest.mark.slow
def test_divergence_stops_and_keeps_only_finite_checkpoints(images, tmp_path):
  config = tiny_config(num_steps=40, log_every=7, checkpoint_every=1, **{"optim.lr": 1e36})
  with pytest.raises(FloatingPointError, match="non-finite .* by step"):
    _run(config, images, tmp_path)
  ckpt = train.Checkpointer(tmp_path / "checkpoints", max_to_keep=5)
  template = methods.build(config, 16).init(jax.random.key(0), {"x": images[:16]})
  step, state = ckpt.restore(template)
  assert step >= 1 and all(np.all(np.isfinite(x)) for x in _leaves(state))


@pytest.mark.slow
def test_nonfinite_skip_undoes_bad_steps_and_goes_on(images, tmp_path):
  config = tiny_config(num_steps=12, log_every=4, checkpoint_every=4, num_devices=4, nonfinite="skip",
                       **{"optim.lr": 1e36})
  result = _run(config, images, tmp_path)
  assert result.step == 12 and all(np.all(np.isfinite(x)) for x in _leaves(result.state))
  skipped = [json.loads(line)["skipped_steps"] for line in open(tmp_path / "metrics.jsonl")]
  assert skipped == sorted(skipped) and 0 < skipped[-1] <= 12  # the huge rate makes steps diverge
  assert int(result.state.step) == 12 - skipped[-1]  # an undone step leaves the state as it was
  with pytest.raises(ValueError, match="config.nonfinite='ignore' is not one of"):
    _run(tiny_config(nonfinite="ignore"), images, tmp_path / "bad")


@pytest.mark.slow
def test_callbacks_see_every_log_line(images, tmp_path):
  seen = []
  config = tiny_config(num_steps=4, log_every=2, eval_every=2, num_eval_examples=32)
  method = methods.build(config, 16)
  train.train(method, images, config, str(tmp_path), eval_images=images[:32], progress=False,
              callbacks=[lambda step, split, values: seen.append({"step": step, "split": split, **values})])
  logged = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert seen == logged and [(e["step"], e["split"]) for e in seen] == [(2, "train"), (2, "eval"), (4, "train"),
                                                                        (4, "eval")]
