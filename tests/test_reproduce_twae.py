"""experiments/reproduce/mnist_twae.py: the table is collected from the archive of finished runs."""

import json

import pytest

from experiments import results_io
from experiments.reproduce import mnist_twae


def _finished_run(archive, method, dataset, seed, fid, config):
  run = archive / f"{method}_{dataset}_s{seed}"
  run.mkdir(parents=True)
  metrics = {"step": 6000, "fid": fid, "fid_recon": fid / 2, "recon_mse": 0.02, "outside_ball": 0.1,
             "latent_sw": 0.01, "latent_gw": 0.02, "device": "cpu", "machine": "test machine"}
  (run / "metrics.json").write_text(json.dumps(metrics))
  (run / "config.json").write_text(json.dumps(config))


def test_collect_only_writes_rows_with_per_seed_values_and_leaves_out_unfinished_ones(tmp_path, monkeypatch):
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  archive = tmp_path / "archive"
  twae = {"method": "twae", "twae": {"bn_policy": "frozen_after_first_round"}}
  for seed, fid in enumerate((100.0, 110.0, 120.0)):
    _finished_run(archive, "twae_sw", "mnist-m100", seed, fid, twae)
    _finished_run(archive, "wae_sw", "mnist-m100", seed, fid + 30, {"method": "wae"})
  _finished_run(archive, "twae_gw", "mnist-m100", 0, 90.0, twae)  # one seed of three: left out
  argv = ["--parts", "m100", "--collect-only", "--archive", str(archive), "--table", "twae_smoke"]
  assert mnist_twae.main(argv) == 1  # not every row is complete
  rows = {(r["method"], r["metric"]): r for r in json.load(open(tmp_path / "results" / "twae_smoke.json"))["rows"]}
  assert {m for m, _ in rows} == {"twae_sw", "wae_sw"}
  fid = rows["twae_sw", "fid"]
  assert fid["value"] == pytest.approx(110.0) and fid["std"] == pytest.approx(10.0) and fid["seeds"] == 3
  assert fid["paper_value"] == 20.4 and "per seed 100, 110, 120" in fid["notes"]
  assert "BN frozen_after_first_round" in fid["notes"] and "BN train mode (WAE)" in rows["wae_sw", "fid"]["notes"]
  assert rows["twae_sw", "fid_recon"]["value"] == pytest.approx(55.0) and rows["twae_sw", "fid_recon"]["paper_value"] is None
  assert fid["machine"] == "test machine" and fid["device"] == "cpu"
