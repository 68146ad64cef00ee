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


@pytest.mark.slow
def test_authors_part_smoke(mnist, tmp_path, monkeypatch):
  """The authors' settings on a 128-image subset, rounds of 16 updates: the first seed trains to 1 then 2
  rounds (one run resumed), the table rows come from the last budget, the ablation from its own run."""
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  argv = ["--parts", "authors", "--seeds", "0", "--runs-dir", str(tmp_path / "runs"), "--authors-train", "128",
          "--authors-rounds", "1", "2", "--authors-table", "2", "--authors-round", "16", "--override", "ots_fit.ots_steps=8",
          "--override", "ots_fit.fit_steps=8", "--override", "ots_fit.stop_window=4", "--override",
          "num_fid_samples=200", "--override", "checkpoint_every=8", "--table", "authors_smoke"]
  assert ots_fit.main(argv) == 0
  rows = {(r["method"], r["dataset"], r["metric"]): r for r in json.load(open(tmp_path / "results" / "authors_smoke.json"))["rows"]}
  for method in ("ots_fit_authors", "ots_fit_authors_nonalternating"):
    assert {m for (a, d, m) in rows if a == method and d == "mnist"} == {"w1_l1", "w1_l1_train", "fid", "score"}
  assert {d for (a, d, m) in rows if d.startswith("mnist-budget")} == {"mnist-budget-16", "mnist-budget-32"}
  run = tmp_path / "runs" / "mnist" / "ots_fit_authors_s0"
  assert json.load(open(run / "metrics_16.json"))["step"] == 16 and json.load(open(run / "metrics_32.json"))["step"] == 32
  assert "the first 128 MNIST training images" in rows[("ots_fit_authors", "mnist", "score")]["notes"]
  ablation = json.load(open(tmp_path / "runs" / "mnist" / "ots_fit_authors_nonalternating_s0" / "config.json"))
  assert ablation["ots_fit"]["ots_steps"] == 16 and ablation["num_train"] == 128 and not ablation["ots_fit"]["alternate"]
  assert json.load(open(run / "config.json"))["ots_fit"]["alternate"]
