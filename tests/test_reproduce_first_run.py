"""experiments/reproduce/first_run.py end to end at a tiny budget: the README's two commands per seed,
timed, scored and tabled, and a finished seed reused."""

import json

import pytest

from experiments import results_io
from experiments.reproduce import first_run


@pytest.mark.slow
def test_first_run_table_smoke(mnist, tmp_path, monkeypatch):
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  argv = ["--seeds", "0", "--runs-dir", str(tmp_path / "runs"), "--override=--config.num_steps=3",
          "--override=--config.num_fid_samples=200", "--table", "first_smoke"]
  assert first_run.main(argv) == 0
  rows = {r["metric"]: r for r in json.load(open(tmp_path / "results" / "first_smoke.json"))["rows"]}
  assert set(rows) == {"score", "fid", "wall_seconds"}
  assert 1 <= rows["score"]["value"] <= 10 and rows["score"]["reference_value"] > 9.5 and rows["wall_seconds"]["value"] > 0
  otgen = json.load(open(tmp_path / "runs" / "s0" / "otgen" / "config.json"))
  assert otgen["ot_gen"]["autoencoder"].endswith("autoencoder") and otgen["ot_gen"]["first_stage"]["num_steps"] == 3
  kept = json.load(open(tmp_path / "runs" / "s0" / "first_run.json"))
  assert first_run.main(argv) == 0  # reused: the same wall time comes back
  assert json.load(open(tmp_path / "results" / "first_smoke.json"))["rows"][-1]["value"] == pytest.approx(kept["wall"])
