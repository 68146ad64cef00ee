"""Faults a user meets in a run directory, through the CLI (in-process: ``ltot.cli.run``)."""

import json
import logging
import os

import numpy as np
import pytest

from ltot import cli

# Every test trains through the CLI (test_cli's fast tests cover its usage errors), on conftest's
# small_mnist unless it names its own data.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("small_mnist")]

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "configs")
TINY = ["--config.model.width=0.03125", "--config.num_fid_samples=0", "--config.eval_every=0",
        "--config.log_every=2", "--config.checkpoint_every=2", "--config.max_checkpoints=5", "--config.num_devices=1"]


def ltot(*args):
  return cli.run(["ltot", *args])


def train(workdir, *extra, config="wae_mmd_mnist.py", steps=6, dataset=None):
  dataset = dataset or os.environ["LTOT_TEST_SMALL_MNIST"]
  return ltot("train", f"--config={os.path.join(CONFIGS, config)}", f"--config.num_steps={steps}", *TINY, *extra,
              f"--config.dataset={dataset}", f"--workdir={workdir}")


def steps_logged(workdir):
  return [json.loads(line)["step"] for line in open(workdir / "metrics.jsonl") if line.strip()]


def snapshot(workdir):
  """Every file under workdir with its bytes."""
  out = {}
  for root, _, files in os.walk(workdir):
    for name in files:
      path = os.path.join(root, name)
      out[os.path.relpath(path, workdir)] = open(path, "rb").read()
  return out


def data_files(step_dir):
  """The array data files of an orbax checkpoint folder, largest first."""
  found = [os.path.join(root, f) for root, _, files in os.walk(step_dir) for f in files
           if os.sep + "d" + os.sep in os.path.join(root, f) + os.sep or root.endswith(os.sep + "d")]
  return sorted(found, key=os.path.getsize, reverse=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished 6-step run (checkpoints 2, 4, 6), copied by the tests that damage it."""
  workdir = tmp_path_factory.mktemp("finished") / "run"
  assert train(workdir) == 0
  events = os.listdir(workdir / "tensorboard")  # the CLI also writes TensorBoard events by default
  assert len(events) == 1 and events[0].startswith("events.out.tfevents")
  assert os.path.getsize(workdir / "tensorboard" / events[0]) > 100
  return workdir


def copy_run(run, tmp_path):
  import shutil
  target = tmp_path / "run"
  shutil.copytree(run, target)
  return target


def test_damaged_newest_checkpoint_is_moved_aside_and_training_finishes(finished, tmp_path, capsys, caplog):
  run = copy_run(finished, tmp_path)
  for path in data_files(run / "checkpoints" / "6"):
    with open(path, "r+b") as f:
      f.truncate(os.path.getsize(path) // 2)
  with caplog.at_level(logging.WARNING):
    assert train(run) == 0  # falls back to step 4, retrains steps 5-6, saves step 6 again
  assert "checkpoints/6 is unreadable" in caplog.text and "moved it to" in caplog.text
  assert "resumed from step 4" in capsys.readouterr().err
  assert os.path.isdir(str(run / "checkpoints") + ".unreadable/6")
  assert sorted(os.listdir(run / "checkpoints")) == ["2", "4", "6"]
  assert steps_logged(run) == [2, 4, 6]  # no duplicated lines for the steps run again
  assert json.load(open(run / "metrics.json"))["step"] == 6
  assert train(run) == 0  # and once more: nothing left to trip over
  assert steps_logged(run) == [2, 4, 6]


def test_random_bytes_over_a_checkpoint_are_detected(finished, tmp_path, caplog):
  """Same size, other contents: orbax reads it back as garbage; the digests written at save time catch it."""
  import jax
  from ltot import methods, train as engine
  run = copy_run(finished, tmp_path)
  target = data_files(run / "checkpoints" / "6")[0]
  size = os.path.getsize(target)
  with open(target, "r+b") as f:
    f.seek(max(0, size // 2 - 2048))
    f.write(np.random.default_rng(0).bytes(min(4096, size)))
  assert os.path.getsize(target) == size
  config = engine.read_run_config(str(run))
  method = methods.build(config, steps_per_epoch=1)
  template = method.init(jax.random.key(0), {"x": np.zeros((2, 28, 28, 1), np.uint8)})
  with caplog.at_level(logging.WARNING):
    step, _ = engine.restore_run(str(run), template)
  assert step == 4 and "checkpoints/6 is unreadable" in caplog.text
  assert ltot("eval", f"--workdir={run}", "--num_samples=0") == 0  # eval falls back too and scores step 4
  assert json.load(open(run / "eval" / "metrics.json"))["step"] == 4


def test_another_config_is_refused_and_nothing_is_touched(finished, tmp_path, capsys):
  run = copy_run(finished, tmp_path)
  before = snapshot(run)
  assert train(run, config="vae_mnist.py") == 2
  err = capsys.readouterr().err
  assert "holds a run of another config" in err and "method: 'wae' -> 'vae'" in err and "Traceback" not in err
  assert len(err.strip().splitlines()) < 30
  assert train(run, "--config.optim.lr=0.01") == 2
  assert "optim.lr: 0.001 -> 0.01" in capsys.readouterr().err
  assert snapshot(run) == before
  # Longer training is not another config: num_steps (and logging keys) may change.
  assert train(run, steps=8) == 0
  assert steps_logged(run) == [2, 4, 6, 8]
  history = [json.loads(line) for line in open(run / "config_history.jsonl")]
  assert history[-1]["changes"] == {"num_steps": {"old": 6, "new": 8}}
  # Explicitly resuming under a changed hyper-parameter records it.
  assert train(run, "--config.optim.lr=0.01", "--resume_with_changes", steps=10) == 0
  history = [json.loads(line) for line in open(run / "config_history.jsonl")]
  assert history[-1]["changes"]["optim.lr"] == {"old": 0.001, "new": 0.01}
  assert history[-1]["latest_checkpoint"] == 8
  assert json.load(open(run / "config.json"))["optim"]["lr"] == 0.01


def test_rerun_and_resume_say_so_and_eval_keeps_the_training_report(finished, tmp_path, capsys):
  run = copy_run(finished, tmp_path)
  trained = open(run / "metrics.json").read()
  capsys.readouterr()
  assert train(run) == 0
  assert "already at step 6; re-scoring" in capsys.readouterr().err
  assert ltot("eval", f"--workdir={run}", "--num_samples=0") == 0
  assert open(run / "metrics.json").read() == trained  # the training-time report is kept
  assert json.load(open(run / "eval" / "metrics.json"))["step"] == 6
  assert {"samples.png", "reconstructions.png"} <= set(os.listdir(run / "eval"))
  out = tmp_path / "elsewhere"
  assert ltot("eval", f"--workdir={run}", "--num_samples=0", f"--out_dir={out}") == 0
  assert (out / "metrics.json").is_file()
  lines = [json.loads(line) for line in open(run / "metrics.jsonl")]
  assert all("steps_per_second" in l for l in lines[1:])  # timed from the first step on, compile excluded


def test_sample_seed_and_bad_output_paths(finished, tmp_path, capsys):
  a, b, c = (tmp_path / f"{k}.npy" for k in "abc")
  assert ltot("sample", f"--workdir={finished}", "--num=4", f"--out={a}", "--seed=1") == 0
  assert ltot("sample", f"--workdir={finished}", "--num=4", f"--out={b}", "--seed=1") == 0
  assert ltot("sample", f"--workdir={finished}", "--num=4", f"--out={c}", "--seed=2") == 0
  np.testing.assert_array_equal(np.load(a), np.load(b))
  assert not np.array_equal(np.load(a), np.load(c))
  path = tmp_path / "path.npy"
  assert ltot("sample", f"--workdir={finished}", "--between=3,7", "--num=5", f"--out={path}") == 0
  from ltot import data, methods, train as engine
  config = engine.read_run_config(str(finished))
  method = methods.build(config, 1)
  _, state = engine.restore_run(str(finished), method.init(engine.root_keys(0)["init"], {"x": np.zeros((2, 28, 28, 1))}))
  test = data.load("mnist", "test", limit=8).images  # the run's test split is MNIST's first 200 images
  ends = np.asarray(method.reconstruct(state, test[np.array([3, 7])]))
  got = np.load(path)
  assert got.shape == (5, 28, 28, 1)
  np.testing.assert_allclose(got[[0, -1]], ends, atol=1e-5)  # the path runs from image 3's code to image 7's
  assert ltot("sample", f"--workdir={finished}", "--between=3", f"--out={path}") == 2
  capsys.readouterr()
  locked = tmp_path / "locked"
  locked.mkdir()
  os.chmod(locked, 0o500)
  try:
    if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file instead
      bad = tmp_path / "a.npy" / "x.npy"
    else:
      bad = locked / "x.npy"
    assert ltot("sample", f"--workdir={finished}", f"--out={bad}") == 2
  finally:
    os.chmod(locked, 0o700)
  err = capsys.readouterr().err
  assert err.startswith("ltot: error:") and "--out" in err and len(err.strip().splitlines()) == 1


def test_your_own_images_from_a_folder_train_evaluate_and_sample(tmp_path, capsys):
  """folder:DIR of 32 x 32 RGB PNGs (train/ and test/ splits) through the MNIST conv preset: the
  architecture takes the data's shape, and eval and sample work on the run."""
  from PIL import Image
  rng = np.random.default_rng(0)
  for split, n in (("train", 64), ("test", 16)):
    (tmp_path / "faces" / split / "a").mkdir(parents=True)
    for i in range(n):
      Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "faces" / split / "a" / f"{i}.png")
  run = tmp_path / "run"
  assert train(run, "--config.batch_size=16", steps=2, dataset=f"folder:{tmp_path / 'faces'}") == 0
  assert json.load(open(run / "config.json"))["model"]["image_shape"] == [32, 32, 3]
  assert ltot("eval", f"--workdir={run}", "--num_samples=0") == 0
  assert ltot("sample", f"--workdir={run}", "--num=3", f"--out={tmp_path / 's.npy'}") == 0
  assert np.load(tmp_path / "s.npy").shape == (3, 32, 32, 3)
  # Mixed sizes: one clear line naming the sizes, exit 1, nothing trained.
  Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(tmp_path / "faces" / "train" / "a" / "odd.png")
  capsys.readouterr()
  assert train(tmp_path / "run2", "--config.batch_size=16", dataset=f"folder:{tmp_path / 'faces'}") == 1
  err = capsys.readouterr().err
  assert "differ in size or channels" in err and "30x30x3" in err and "32x32x3" in err
  # A size the architecture cannot take: its rule, as a usage error.
  np.save(tmp_path / "odd.npy", np.zeros((32, 30, 30, 1), np.uint8))
  assert train(tmp_path / "run3", "--config.batch_size=16", dataset=f"npy:{tmp_path / 'odd.npy'}") == 2
  assert "H and W divisible by 4" in capsys.readouterr().err
