"""experiments/reproduce/toy_ot_generators.py end to end at a tiny budget (the table's code path)."""

import json

import pytest

from experiments import results_io
from experiments.reproduce import toy_ot_generators


@pytest.mark.slow
def test_toy_table_smoke(tmp_path, monkeypatch):
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  argv = ["--seeds", "0", "1", "--runs-dir", str(tmp_path / "runs"), "--num-eval", "100",
          "--override", "num_steps=5", "--override", "num_train=300", "--table", "toy_smoke",
          "--only", "otgen-moons", "ottrans-circles", "kmeans8-moons", "ae_ot-eight_gaussians"]
  assert toy_ot_generators.main(argv) == 0
  table = json.load(open(tmp_path / "results" / "toy_smoke.json"))
  rows = {(r["method"], r["dataset"], r["metric"]): r for r in table["rows"]}
  assert set(rows) == {(m, d, k) for m, d in [("otgen", "moons"), ("ottrans", "circles"), ("kmeans8", "moons")]
                       for k in ("w1_l2", "w1_l1")} | {("ae_ot", "eight_gaussians", k)
                                                      for k in ("w1_l2", "w1_l1", "mode_coverage")}
  for r in table["rows"]:
    assert r["seeds"] == 2 and r["value"] >= 0 and "overrides" in r["notes"]
    if r["metric"].startswith("w1"):
      assert r["reference_value"] > 0
  assert rows[("otgen", "moons", "w1_l2")]["paper_value"] == 0.090
  assert (tmp_path / "results" / "toy_smoke.png").is_file()
  # Finished runs are reused: a second call trains nothing and gives the same numbers.
  assert toy_ot_generators.main(argv) == 0
  again = json.load(open(tmp_path / "results" / "toy_smoke.json"))
  assert [r["value"] for r in again["rows"]] == [r["value"] for r in table["rows"]]
