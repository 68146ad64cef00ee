"""Multi-host training for real on one machine: `ltot train` as two processes on loopback
(jax.distributed, CPU collectives over gloo), each with 2 forced CPU devices, against one
process with 4 devices."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import COMPILE_FLAGS, assert_same_step, run_dir_at

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "configs", "wae_mmd_mnist.py")
ARGS = [f"--config={CONFIG}", "--config.model.width=0.03125", "--config.num_fid_samples=0", "--config.eval_every=0",
        "--config.log_every=1", "--config.max_checkpoints=10"]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(args, workdir, devices, process_id=None, port=None):
  host = [] if process_id is None else [f"--coordinator_address=localhost:{port}", "--num_processes=2",
                                        f"--process_id={process_id}"]
  return subprocess.Popen([sys.executable, "-m", "ltot.cli", "train", *ARGS, *args, f"--workdir={workdir}", *host],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} {COMPILE_FLAGS}"})


def _two_processes(args, workdir):
  port = _free_port()
  return [_start(args, workdir, 2, i, port) for i in range(2)]


def _finish(procs, timeout=600):
  outs = [p.communicate(timeout=timeout) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  return [err for _, err in outs]


def _restore(workdir, config_from):
  """The newest checkpoint of ``workdir``, shaped by the config.json of run ``config_from``."""
  import ml_collections
  from ltot import methods, train
  config = ml_collections.ConfigDict(json.load(open(config_from / "config.json")))
  method = methods.build(config, steps_per_epoch=1)
  template = method.init(train.root_keys(config.seed)["init"], {"x": np.zeros((2, 28, 28, 1), np.uint8)})
  return train.restore_run(str(workdir), template)


@pytest.mark.slow
def test_two_processes_match_one_process_with_four_devices(tmp_path, small_mnist):
  import jax
  one, two = tmp_path / "one", tmp_path / "two"
  data = f"--config.dataset={small_mnist}"
  procs = ([_start(["--config.num_steps=4", "--config.checkpoint_every=1", data], one, 4)]
           + _two_processes(["--config.num_steps=4", "--config.checkpoint_every=2", data], two))
  _finish(procs)
  # The same trajectory: process 0 alone logs, the same losses, each checkpoint written once.
  logs = [[json.loads(line) for line in open(run / "metrics.jsonl")] for run in (one, two)]
  assert [r["step"] for r in logs[1]] == [r["step"] for r in logs[0]] == [1, 2, 3, 4]
  np.testing.assert_allclose([r["loss"] for r in logs[1]], [r["loss"] for r in logs[0]], rtol=1e-5)
  assert sorted(os.listdir(two / "checkpoints")) == ["2", "4"]
  # The same step, leaf by leaf: two processes resume from the one-process step-2 checkpoint
  # and take step 3. (Compared step by step, not as free-running trajectories: see
  # tests/train/test_engine.py::test_one_device_equals_four_devices.)
  resumed = run_dir_at(one, 2, tmp_path / "resumed")
  _finish(_two_processes(["--config.num_steps=3", "--config.checkpoint_every=1", data], resumed))
  (step_a, a), (step_b, b) = _restore(run_dir_at(one, 3, tmp_path / "one_3"), one), _restore(resumed, one)
  _, before = _restore(run_dir_at(one, 2, tmp_path / "one_2"), one)
  assert step_a == step_b == 3
  assert_same_step(*(jax.tree.leaves(t) for t in (before, a, b)))


@pytest.mark.slow
def test_sigterm_to_one_process_stops_both_at_one_checkpoint(tmp_path, small_mnist):
  workdir = tmp_path / "run"
  procs = _two_processes(["--config.num_steps=100000", "--config.checkpoint_every=2", f"--config.dataset={small_mnist}"],
                         workdir)
  deadline = time.time() + 300
  while time.time() < deadline and not (workdir / "checkpoints" / "2").is_dir():
    time.sleep(0.1)
  procs[1].send_signal(signal.SIGTERM)
  errs = _finish(procs)
  steps = sorted(int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit())
  assert 2 <= steps[-1] < 100000  # stopped early, by both processes at the same step (below)
  for err in errs:
    assert f"checkpoint saved at step {steps[-1]}" in err


@pytest.mark.parametrize("flags,message", [
    (["--coordinator_address=localhost:1"], "needs all of --coordinator_address, --num_processes and --process_id"),
    (["--coordinator_address=localhost:1", "--num_processes=2", "--process_id=2"], "--process_id=2 is not in [0,"),
])
@pytest.mark.slow
def test_incomplete_multihost_flags(tmp_path, flags, message):
  r = subprocess.run([sys.executable, "-m", "ltot.cli", "train", *ARGS, f"--workdir={tmp_path}", *flags],
                     capture_output=True, text=True, env={**os.environ, "XLA_FLAGS": COMPILE_FLAGS}, timeout=300)
  assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]
