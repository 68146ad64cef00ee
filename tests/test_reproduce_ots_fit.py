"""experiments/reproduce/ots_fit.py end to end at a tiny budget (the table's code path)."""

import json

import pytest

from experiments import results_io
from experiments.reproduce import ots_fit


@pytest.mark.slow
def test_ots_fit_table_smoke(tmp_path, monkeypatch):
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  argv = ["--seeds", "0", "1", "--runs-dir", str(tmp_path / "runs"), "--num-eval", "100", "--parts", "ring",
          "--override", "num_train=200", "--override", "ots_fit.ots_steps=5", "--override", "ots_fit.fit_steps=5",
          "--override", "num_steps=20", "--table", "ots_smoke"]
  assert ots_fit.main(argv) == 0
  table = json.load(open(tmp_path / "results" / "ots_smoke.json"))
  assert {(r["method"], r["dataset"], r["metric"]) for r in table["rows"]} == {
      ("ots_fit", "ring", "w2_l2"), ("ots_fit_nonalternating", "ring", "w2_l2")}
  for r in table["rows"]:
    assert r["seeds"] == 2 and r["value"] > 0 and r["reference_value"] > 0 and "overrides" in r["notes"]
  result = json.load(open(tmp_path / "runs" / "ring" / "ots_fit_s0" / "result.json"))
  assert len(result["w2_per_round"]) == 3  # the initial segment, then after each of 2 rounds
  assert (tmp_path / "results" / "ots_smoke_ring.png").is_file()
  # Finished runs are reused: a second call trains nothing and gives the same numbers.
  assert ots_fit.main(argv) == 0
  again = json.load(open(tmp_path / "results" / "ots_smoke.json"))
  assert [r["value"] for r in again["rows"]] == [r["value"] for r in table["rows"]]
