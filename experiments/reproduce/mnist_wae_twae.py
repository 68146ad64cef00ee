"""The `mnist_wae_twae` table: VAE, WAE-{MMD,GAN,SW,GW} and the TWAE variants on real MNIST, >= 3 seeds.

  python -m experiments.reproduce.mnist_wae_twae [--seeds 0 1 2] [--jobs 1] [--runs-dir runs/mnist_wae_twae]

Every row is one config preset of experiments/configs (the `cpu` presets: the
papers' topologies at 1/16 width, 2,400 updates of 100 images, or of 20 per region
for the 241-region rows), trained by `ltot train` once per seed in its own run
directory, then scored by the run's own end-of-training report: FID of 10,000
samples against the 10,000 test images under ltot's MNIST classifier
(ltot.metrics.classifier), and the per-pixel reconstruction MSE on the test images.
Finished runs (with metrics.json) are reused, so an interrupted reproduction resumes.
``--jobs`` trains that many runs at once (worth it on a GPU, where these small
nets leave the device idle most of the time).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys

from experiments.reproduce._runs import finished, seed_rows, train_run
from experiments.results_io import run_images_figure, write_table

# method row name -> (config file, preset, what the row is)
ROWS: dict[str, tuple[str, str, str]] = {
    "vae": ("vae_mnist.py", "cpu", "VAE, Bernoulli decoder, Gaussian prior"),
    "wae_mmd": ("wae_mmd_mnist.py", "cpu", "WAE-MMD, IMQ, lambda 10, Gaussian prior"),
    "wae_gan": ("wae_gan_mnist.py", "cpu", "WAE-GAN, lambda 10, Gaussian prior"),
    "wae_sw": ("wae_sw_mnist.py", "cpu-sw", "WAE with SW (1000 directions), lambda 1, unit-ball prior"),
    "wae_gw": ("wae_sw_mnist.py", "cpu-gw", "WAE with GW, lambda 0.01, unit-ball prior"),
    "twae_sw": ("twae_mnist.py", "cpu-sw", "TWAE-SW, 10 CVT regions, LCM"),
    "twae_gw": ("twae_mnist.py", "cpu-gw", "TWAE-GW, 10 CVT regions, LCM"),
    "twae_sw_r": ("twae_mnist.py", "cpu-sw-r", "TWAE-SW + Algorithm 3 (alpha 0.2)"),
    "twae_gw_r": ("twae_mnist.py", "cpu-gw-r", "TWAE-GW + Algorithm 3 (alpha 0.2)"),
    "twae_sw_e8": ("twae_mnist.py", "cpu-sw-e8", "TWAE-SW, 241 E8 regions of 20 points"),
    "twae_sw_cvt241": ("twae_mnist.py", "cpu-sw-cvt241", "TWAE-SW, 241 CVT regions of 20 points"),
    "twae_sw_exact": ("twae_mnist.py", "cpu-sw-exact", "TWAE-SW, 10 CVT regions, exact balanced assignment"),
}
METRICS = ("fid", "recon_mse")


def run_dir(runs_dir: str, method: str, seed: int) -> str:
  return os.path.join(runs_dir, f"{method}_s{seed}")


BALL_PRIOR_ROWS = tuple(m for m in ROWS if m.startswith("twae") or m in ("wae_sw", "wae_gw"))


def per_image_sum_override(method: str) -> str:
  """The override that makes a ball-prior row's reconstruction the per-image sum (its config: per-pixel mean)."""
  if method not in BALL_PRIOR_ROWS:
    raise ValueError(f"--recon-per-image-sum applies to the ball-prior rows {BALL_PRIOR_ROWS}, not {method!r}")
  section = "twae" if method.startswith("twae") else "wae"
  return f"--config.{section}.recon_weight=1.0"


def train_one(method: str, seed: int, runs_dir: str, overrides: list[str],
              per_image_sum: bool = False) -> tuple[str, int, str]:
  """Trains one (method, seed) with `ltot train` unless its metrics.json exists; returns (method, seed, status)."""
  overrides = overrides + ([per_image_sum_override(method)] if per_image_sum else [])
  config, preset, _ = ROWS[method]
  return method, seed, train_run(config, preset, seed, run_dir(runs_dir, method, seed), overrides)


def collect(runs_dir: str, methods: list[str], seeds: list[int]) -> list[dict]:
  """Mean and spread over seeds of each method's final FID and reconstruction MSE."""
  rows = []
  for method in methods:
    finals = finished([run_dir(runs_dir, method, seed) for seed in seeds])
    if len(finals) < len(seeds):
      print(f"{method}: {len(finals)} of {len(seeds)} seeds finished; row left out")
      continue
    config, preset, what = ROWS[method]
    rows += seed_rows(method, "mnist", finals, METRICS, seeds, f"{what}; {config}:{preset}")
  return rows


def write_figure(runs_dir: str, methods: list[str], seed: int, table: str = "mnist_wae_twae") -> str:
  """results/<table>_samples.png: each method's 64 samples (seed ``seed``) and its interpolations."""
  return run_images_figure({m: run_dir(runs_dir, m, seed) for m in methods}, ("samples.png", "interpolations.png"),
                           f"samples (top) and latent interpolations (bottom), seed {seed}", f"{table}_samples.png")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", nargs="+", default=list(ROWS), choices=list(ROWS))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--jobs", type=int, default=1)
  parser.add_argument("--runs-dir", default="runs/mnist_wae_twae")
  parser.add_argument("--override", action="append", default=[],
                      help="extra --config.KEY=VALUE for every run (e.g. for a smoke test); the table notes them")
  parser.add_argument("--recon-per-image-sum", action="store_true",
                      help="ball-prior rows: reconstruction as the per-image sum of squared errors "
                           "(recon_weight 1) instead of their configs' per-pixel mean")
  parser.add_argument("--table", default="mnist_wae_twae", help="results table to write")
  parser.add_argument("--figure-only", action="store_true", help="only redraw the figure from finished runs")
  args = parser.parse_args(argv)
  if args.figure_only:
    print("wrote", write_figure(args.runs_dir, args.methods, args.seeds[0], args.table))
    return 0
  jobs = [(m, s) for s in args.seeds for m in args.methods]
  with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
    for method, seed, status in pool.map(lambda job: train_one(*job, args.runs_dir, args.override, args.recon_per_image_sum), jobs):
      print(f"{method} seed {seed}: {status}", flush=True)
  rows = collect(args.runs_dir, args.methods, args.seeds)
  for row in rows:
    if args.recon_per_image_sum:
      row["notes"] += "; reconstruction = per-image sum of squared errors (recon_weight 1)"
    if args.override:
      row["notes"] += "; overrides " + " ".join(args.override)
  command = "python -m experiments.reproduce.mnist_wae_twae " + " ".join(argv if argv is not None else sys.argv[1:])
  print("wrote", write_table(args.table, rows, command.strip()))
  print("wrote", write_figure(args.runs_dir, args.methods, args.seeds[0], args.table))
  return 0 if len(rows) == len(args.methods) * len(METRICS) else 1


if __name__ == "__main__":
  sys.exit(main())
