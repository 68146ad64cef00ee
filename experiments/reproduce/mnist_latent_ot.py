"""The `mnist_latent_ot` table: AE-OTgen, AE-OTtrans and AE-OT against WAE-MMD and the VAE on
MNIST and Fashion-MNIST, scored by the Inception-style score of ltot's classifiers.

  python -m experiments.reproduce.mnist_latent_ot [--datasets mnist fashion_mnist] [--seeds 0 1 2]
      [--jobs 1] [--runs-dir runs/mnist_latent_ot] [--override --config.KEY=VALUE ...]

Per dataset and seed: the first stage, a deterministic fully connected autoencoder
(experiments/configs/autoencoder_mnist.py:ae-DATASET), then OTgen, OTtrans and AE-OT on its
frozen codes (latent_ot.py:METHOD-DATASET); WAE-MMD and the VAE train on the same architecture
(autoencoder_mnist.py:wae_mmd-DATASET, vae-DATASET). Every run is one `ltot train` whose
end-of-training report scores 10,000 samples under ltot's classifier of that dataset
(ltot.metrics.classifier): the Inception-style score (the papers' metric; the `score` rows) and
the FID against the test split (`fid`). ``reference_value`` is the score of the real test
images under the same classifier; the notes give each score as a fraction of it. The papers'
scores come from their own classifiers, so only the fractions compare across tables.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys

import numpy as np

from experiments.reproduce._runs import finished, measured_where, train_run
from experiments.results_io import run_images_figure, write_table

# method row -> (config, preset pattern, the section whose `autoencoder` points at the first stage)
STAGES = {
    "otgen": ("latent_ot.py", "otgen-{dataset}", "ot_gen"),
    "ottrans": ("latent_ot.py", "ottrans-{dataset}", "ot_gen"),
    "ae_ot": ("latent_ot.py", "ae_ot-{dataset}", "ae_ot"),  # ltot's stronger setting (lambda 0, batch 1,000)
    "ae_ot_otgen_baseline": ("latent_ot.py", "ae_ot_otgen_baseline-{dataset}", "ae_ot"),
    "ae_ot_paper": ("latent_ot.py", "ae_ot_paper-{dataset}", "ae_ot"),
    "wae_mmd": ("autoencoder_mnist.py", "wae_mmd-{dataset}", None),
    "vae": ("autoencoder_mnist.py", "vae-{dataset}", None),
}
# The papers' Inception-style scores (AE-OTgen paper's table): real test images, then each method.
# The AE-OT rows all stand against the AE-OTgen paper's AE-OT number (its lambda 0.1, batch 128 run).
PAPER = {"mnist": {"real_test": 9.86, "otgen": 9.52, "ottrans": 9.19, "ae_ot": 6.89, "ae_ot_otgen_baseline": 6.89,
                   "ae_ot_paper": 6.89, "wae_mmd": 7.46, "vae": 6.03},
         "fashion_mnist": {"real_test": 9.07, "otgen": 7.90, "ottrans": 7.45, "ae_ot": 5.81,
                           "ae_ot_otgen_baseline": 5.81, "ae_ot_paper": 5.81, "wae_mmd": 5.97, "vae": 5.39}}
DEFAULT_METHODS = ("otgen", "ottrans", "ae_ot", "wae_mmd", "vae")  # the table's original rows


def run_dir(runs_dir: str, dataset: str, method: str, seed: int) -> str:
  return os.path.join(runs_dir, dataset, f"{method}_s{seed}")


def train_dataset_seed(dataset: str, seed: int, runs_dir: str, methods: list[str], overrides: list[str]) -> list[str]:
  """The first stage, then each method of ``methods`` (second stages on its codes); returns status lines."""
  first = run_dir(runs_dir, dataset, "ae", seed)
  lines = [f"{dataset} ae seed {seed}: " + train_run("autoencoder_mnist.py", f"ae-{dataset}", seed, first, overrides)]
  for method in methods:
    config, preset, section = STAGES[method]
    extra = [f"--config.{section}.autoencoder={first}"] if section else []
    status = train_run(config, preset.format(dataset=dataset), seed, run_dir(runs_dir, dataset, method, seed),
                       overrides + extra)
    lines.append(f"{dataset} {method} seed {seed}: {status}")
  return lines


def collect(runs_dir: str, datasets: list[str], methods: list[str], seeds: list[int]) -> list[dict]:
  rows = []
  for dataset in datasets:
    for method in methods:
      finals = finished([run_dir(runs_dir, dataset, method, s) for s in seeds])
      if len(finals) < len(seeds):
        print(f"{dataset} {method}: {len(finals)} of {len(seeds)} seeds finished; row left out")
        continue
      real = float(np.mean([m["real_inception_score"] for m in finals]))
      config, preset, _ = STAGES[method]
      for metric, key in (("score", "inception_score"), ("fid", "fid")):
        v = np.array([m[key] for m in finals])
        notes = (f"{config}:{preset.format(dataset=dataset)}, {finals[0]['step']} steps, seeds "
                 f"{','.join(map(str, seeds))}; per seed " + ", ".join(f"{x:.4g}" for x in v))
        if metric == "score":
          notes += (f"; {v.mean() / real:.3f} of the real test images' score (paper: "
                    f"{PAPER[dataset][method] / PAPER[dataset]['real_test']:.3f})")
        rows.append({"method": method, "dataset": dataset, "metric": metric, "value": float(v.mean()),
                     "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v),
                     "paper_value": PAPER[dataset][method] if metric == "score" else None,
                     "reference_value": real if metric == "score" else None, "notes": notes,
                     **measured_where(method, finals)})
    real_runs = finished([run_dir(runs_dir, dataset, m, s) for m in methods for s in seeds])
    if real_runs:
      rows.append({"method": "real_test", "dataset": dataset, "metric": "score",
                   "value": float(real_runs[0]["real_inception_score"]), "std": None, "seeds": None,
                   "paper_value": PAPER[dataset]["real_test"], "reference_value": None,
                   "notes": "the 10,000 real test images under the same classifier (10 splits)",
                   **measured_where("real_test", real_runs[:1])})
  return rows


def write_figure(runs_dir: str, dataset: str, methods: list[str], seed: int, table: str) -> str:
  """results/<table>_<dataset>_samples.png: each method's samples (seed ``seed``) and interpolations."""
  return run_images_figure({m: run_dir(runs_dir, dataset, m, seed) for m in methods},
                           ("samples.png", "interpolations.png"),
                           f"{dataset}: samples (top) and interpolations (bottom), seed {seed}",
                           f"{table}_{dataset}_samples.png")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--datasets", nargs="+", default=list(PAPER), choices=list(PAPER))
  parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=list(STAGES))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--jobs", type=int, default=1, help="(dataset, seed) chains trained at once")
  parser.add_argument("--runs-dir", default="runs/mnist_latent_ot")
  parser.add_argument("--override", action="append", default=[],
                      help="extra --config.KEY=VALUE for every run (e.g. a smoke test); the table notes them")
  parser.add_argument("--table", default="mnist_latent_ot")
  args = parser.parse_args(argv)
  chains = [(d, s) for d in args.datasets for s in args.seeds]
  with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
    for lines in pool.map(lambda c: train_dataset_seed(*c, args.runs_dir, args.methods, args.override), chains):
      print("\n".join(lines), flush=True)
  rows = collect(args.runs_dir, args.datasets, args.methods, args.seeds)
  if set(args.methods) <= set(DEFAULT_METHODS):  # the figure shows the table's original rows, not the extra AE-OT ones
    for dataset in args.datasets:
      print("wrote", write_figure(args.runs_dir, dataset, args.methods, args.seeds[0], args.table))
  for row in rows:
    if args.override:
      row["notes"] += "; overrides " + " ".join(args.override)
  command = "python -m experiments.reproduce.mnist_latent_ot " + " ".join(argv if argv is not None else sys.argv[1:])
  print("wrote", write_table(args.table, rows, command.strip()))
  expected = len(args.datasets) * (2 * len(args.methods) + 1)
  return 0 if len(rows) == expected else 1


if __name__ == "__main__":
  sys.exit(main())
