"""The `ltot` command: run as a real subprocess the way users run it where the process matters (a
training run's outputs, signals, `python -m`), and in this process (``cli.run``) for argument and
error handling, which does not depend on it (each subprocess pays seconds of imports)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import COMPILE_FLAGS

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "configs", "wae_mmd_mnist.py")


def ltot(*args, env=None):
  return subprocess.run([sys.executable, "-m", "ltot.cli", *args], capture_output=True, text=True,
                        env={**os.environ, "XLA_FLAGS": COMPILE_FLAGS, **(env or {})}, timeout=600)


@pytest.mark.parametrize("override,message", [
    ("--config.batch_size=0", "config.batch_size must be a positive integer"),
    ("--config.method=wea", "config.method='wea' is not one of"),
    ("--config.dataset=mnsit", "config.dataset='mnsit' is not one of"),
    ("--config.wae.kernel=laplace", "kernel must be 'imq' or 'rbf'"),
    ("--config.model.arch=resnet", "unknown architecture 'resnet'"),
])
@pytest.mark.slow
def test_bad_config_values_fail_fast(tmp_path, override, message, capsys):
  assert in_process("train", f"--config={CONFIG}", override, f"--workdir={tmp_path}") != 0
  err = capsys.readouterr().err
  assert message in err and "Traceback" not in err, err[-2000:]
  assert not (tmp_path / "checkpoints").exists()


def test_unknown_or_mistyped_keys(tmp_path, capsys):
  assert in_process("train", f"--config={CONFIG}", "--config.batch_sise=10", f"--workdir={tmp_path}") == 2
  assert "batch_sise" in capsys.readouterr().err
  assert in_process("train", f"--config={CONFIG}", "--config.batch_size=ten", f"--workdir={tmp_path}") == 2
  assert "batch_size" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
  assert in_process() == 2
  assert in_process("train", f"--config={CONFIG}") == 2
  assert "needs --workdir" in capsys.readouterr().err
  assert in_process("eval", f"--workdir={tmp_path}") == 2
  assert "no config.json" in capsys.readouterr().err


def in_process(*args):
  from ltot import cli
  return cli.run(["ltot", *args])


@pytest.mark.parametrize("command,own,foreign", [
    ("train", ["--config", "--workdir", "--resume_with_changes", "--show_config", "--config.KEY"], ["--num_samples"]),
    ("eval", ["--workdir", "--num_samples", "--out_dir"], ["--config", "--seed"]),
    ("sample", ["--workdir", "--num", "--out", "--seed"], ["--config", "--num_samples"]),
    ("report", ["--out"], ["--workdir"]),
])
@pytest.mark.parametrize("how", ["--help", "-h", "--helpfull"])
def test_each_command_lists_its_own_flags(command, own, foreign, how, capsys):
  assert in_process(command, how) == 0
  out = capsys.readouterr().out
  assert out.startswith(f"usage: ltot {command}")
  assert all(f"  {flag}" in out for flag in own), out
  assert not any(f"  {flag}:" in out for flag in foreign), out


@pytest.mark.slow
def test_top_level_help_python_m_and_show_config(capsys):
  r = subprocess.run([sys.executable, "-m", "ltot", "--help"], capture_output=True, text=True, timeout=120)
  assert r.returncode == 0 and "ltot train" in r.stdout and "ltot eval" in r.stdout
  r = subprocess.run([sys.executable, "-m", "ltot", "frobnicate"], capture_output=True, text=True, timeout=120)
  assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
  assert in_process("train", f"--config={CONFIG}:cpu", "--config.seed=7", "--show_config") == 0
  out = capsys.readouterr().out
  assert "seed: 7" in out and "batch_size: 100" in out and "wae:" in out


@pytest.mark.parametrize("args,message", [
    (["train", "--config=nowhere.py", "--workdir=W"], "config file nowhere.py not found"),
    (["train", f"--config={CONFIG}:huge", "--workdir=W"], "cannot load the config"),
    (["train", f"--config={os.path.join(os.path.dirname(CONFIG), 'twae_mnist.py')}:cpu-xx", "--workdir=W"],
     "preset must be SIZE-PENALTY"),
    (["report", "/nonexistent/run", "--out=r.md"], "run directory /nonexistent/run does not exist"),
    (["eval", "--workdir=/nonexistent/run"], "--workdir /nonexistent/run does not exist"),
    (["eval", "--workdir=W", "--num=5"], "`ltot eval` takes no --num"),
    (["sample", "--workdir=W", "--out=x.gif"], "sample needs --out FILE.png or FILE.npy"),
    (["train", f"--config={CONFIG}", "--config.nosuchkey=1", "--workdir=W"], "nosuchkey"),
])
def test_usage_errors_are_one_line_with_status_2(args, message, capsys, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert in_process(*args) == 2
  err = capsys.readouterr().err
  assert message in err and "Traceback" not in err, err
  assert len(err.strip().splitlines()) == 1, err
  assert not os.path.exists(tmp_path / "W" / "checkpoints")


def test_library_bugs_keep_their_traceback(monkeypatch, tmp_path):
  """A bug inside ltot is not a usage error: it propagates (the interpreter prints its traceback)."""
  from ltot import train
  def broken(*args, **kwargs):
    raise RuntimeError("a bug in the loop")
  monkeypatch.setattr(train, "train", broken)
  with pytest.raises(RuntimeError, match="a bug in the loop"):
    in_process("train", f"--config={CONFIG}", "--config.num_steps=1", f"--workdir={tmp_path}")


@pytest.mark.slow
def test_train_eval_sample_end_to_end(tmp_path, capsys):
  workdir = tmp_path / "run"
  r = ltot("train", f"--config={CONFIG}", "--config.num_steps=30", "--config.log_every=10",
           "--config.checkpoint_every=20", "--config.eval_every=20", "--config.num_eval_examples=200",
           "--config.model.width=0.03125", "--config.num_fid_samples=100", f"--workdir={workdir}")
  assert r.returncode == 0, r.stderr[-3000:]
  metrics = json.load(open(workdir / "metrics.json"))
  assert metrics["step"] == 30 and 0 < metrics["recon_mse"] < 0.2
  assert metrics["num_samples"] == 100 and metrics["fid"] > 0 and 1 <= metrics["inception_score"] <= 10
  for name in ("samples.png", "reconstructions.png", "interpolations.png"):
    assert Image.open(workdir / name).size[0] > 100
  lines = [json.loads(l) for l in open(workdir / "metrics.jsonl")]
  assert [l["step"] for l in lines if l["split"] == "train"] == [10, 20, 30]
  assert [l["step"] for l in lines if l["split"] == "eval"] == [20]
  assert sorted(os.listdir(workdir / "checkpoints")) == ["20", "30"]

  capsys.readouterr()
  assert in_process("eval", f"--workdir={workdir}", "--num-samples=500") == 0
  evaluated = json.loads(capsys.readouterr().out)
  assert evaluated["step"] == 30 and evaluated["num_samples"] == 500
  # 30 steps of a tiny net: far from the data under the classifier, but a valid score.
  assert evaluated["fid"] > 1 and evaluated["real_inception_score"] > 9 and evaluated["w1_l1"] > 0
  assert evaluated["recon_mse"] == pytest.approx(metrics["recon_mse"], rel=1e-5)

  assert in_process("report", str(workdir), f"--out={tmp_path / 'report' / 'runs.md'}") == 0
  table = (tmp_path / "report" / "runs.md").read_text()
  header = table.splitlines()[0].split(" | ")
  assert "fid" in header and "recon_mse" in header
  assert str(workdir) in table
  assert (tmp_path / "report" / "runs_train_loss.png").is_file()
  assert (tmp_path / "report" / "runs_eval_recon_mse.png").is_file()
  capsys.readouterr()
  assert in_process("report", str(tmp_path / "nowhere"), f"--out={tmp_path / 'x.md'}") == 2
  assert "does not exist" in capsys.readouterr().err
  (tmp_path / "empty").mkdir()
  assert in_process("report", str(tmp_path / "empty"), f"--out={tmp_path / 'x.md'}") == 2
  assert "no metrics.json" in capsys.readouterr().err

  assert in_process("sample", f"--workdir={workdir}", "--num=7", f"--out={tmp_path / 's.npy'}") == 0
  samples = np.load(tmp_path / "s.npy")
  assert samples.shape == (7, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1
  assert in_process("sample", f"--workdir={workdir}", "--num=7", f"--out={tmp_path / 's.txt'}") == 2
  assert "--out" in capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_checkpoints_and_exits_zero(tmp_path, small_mnist):
  import signal
  import time
  workdir = tmp_path / "run"
  proc = subprocess.Popen(
      [sys.executable, "-m", "ltot.cli", "train", f"--config={CONFIG}", "--config.num_steps=100000",
       "--config.log_every=5", "--config.checkpoint_every=100000", "--config.model.width=0.03125",
       f"--config.dataset={small_mnist}", f"--workdir={workdir}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env={**os.environ, "XLA_FLAGS": COMPILE_FLAGS})
  deadline = time.time() + 300
  while time.time() < deadline and not (workdir / "metrics.jsonl").is_file():
    time.sleep(0.5)
  while time.time() < deadline and (workdir / "metrics.jsonl").stat().st_size == 0:
    time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 0, err[-3000:]
  steps = [int(s) for s in os.listdir(workdir / "checkpoints")]
  assert len(steps) == 1 and 5 <= steps[0] < 100000
  assert f"checkpoint saved at step {steps[0]}" in err


@pytest.mark.slow
def test_sigkill_then_rerun_resumes_bitwise(tmp_path, small_mnist):
  # An uninterrupted run, and the same run killed with SIGKILL once a mid-run checkpoint exists, then
  # started again with the same workdir: the final parameters must be bitwise equal.
  import signal
  import time

  import jax
  import ml_collections
  from ltot import methods, train
  args = [f"--config={CONFIG}", "--config.num_steps=60", "--config.checkpoint_every=10", "--config.log_every=5",
          "--config.model.width=0.03125", "--config.num_fid_samples=0", "--config.eval_every=0",
          "--config.max_checkpoints=10", "--config.num_devices=1", f"--config.dataset={small_mnist}"]
  full = ltot("train", *args, f"--workdir={tmp_path / 'full'}")
  assert full.returncode == 0, full.stderr[-2000:]
  killed = tmp_path / "killed"
  proc = subprocess.Popen([sys.executable, "-m", "ltot.cli", "train", *args, f"--workdir={killed}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "XLA_FLAGS": COMPILE_FLAGS})
  deadline = time.time() + 300
  while time.time() < deadline and not (killed / "checkpoints" / "20").is_dir():
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait(timeout=60)
  assert proc.returncode == -signal.SIGKILL
  steps = sorted(int(s) for s in os.listdir(killed / "checkpoints") if s.isdigit())
  assert 20 <= steps[-1] < 60, steps  # killed mid-run
  again = ltot("train", *args, f"--workdir={killed}")
  assert again.returncode == 0, again.stderr[-2000:]
  config = ml_collections.ConfigDict(json.load(open(tmp_path / "full" / "config.json")))
  method = methods.build(config, steps_per_epoch=1)
  template = method.init(train.root_keys(config.seed)["init"], {"x": np.zeros((2, 28, 28, 1), np.uint8)})
  (step_a, a), (step_b, b) = train.restore_run(str(tmp_path / "full"), template), train.restore_run(str(killed), template)
  assert step_a == step_b == 60
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
