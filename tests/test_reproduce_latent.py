"""experiments/reproduce/mnist_latent_ot.py end to end at a tiny budget: first stage, second stages
on its frozen codes through `ltot train`, and the table rows."""

import json

import pytest

from experiments import results_io
from experiments.reproduce import mnist_latent_ot


@pytest.mark.slow
def test_latent_table_smoke(mnist, tmp_path, monkeypatch):
  monkeypatch.setattr(results_io, "RESULTS", str(tmp_path / "results"))
  argv = ["--datasets", "mnist", "--methods", "otgen", "ae_ot", "--seeds", "0", "--runs-dir", str(tmp_path / "runs"),
          "--override=--config.num_steps=3", "--override=--config.num_fid_samples=200",
          "--override=--config.batch_size=20", "--override=--config.eval_every=0", "--table", "latent_smoke"]
  assert mnist_latent_ot.main(argv) == 0, open(tmp_path / "runs" / "mnist" / "otgen_s0" / "train.log").read()[-2000:]
  rows = {(r["method"], r["metric"]): r for r in json.load(open(tmp_path / "results" / "latent_smoke.json"))["rows"]}
  assert set(rows) == {("otgen", "score"), ("otgen", "fid"), ("ae_ot", "score"), ("ae_ot", "fid"),
                       ("real_test", "score")}
  real = rows[("real_test", "score")]["value"]
  assert real > 9.5 and rows[("otgen", "score")]["reference_value"] == real  # the shipped MNIST classifier
  assert rows[("otgen", "score")]["paper_value"] == 9.52 and 1 <= rows[("otgen", "score")]["value"] <= 10
  first_stage = json.load(open(tmp_path / "runs" / "mnist" / "otgen_s0" / "config.json"))["ot_gen"]["autoencoder"]
  assert first_stage.endswith("ae_s0")
  assert (tmp_path / "results" / "latent_smoke_mnist_samples.png").is_file()
