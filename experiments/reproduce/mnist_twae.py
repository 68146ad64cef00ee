"""The `mnist_twae` table: TWAE against the same discrepancy without tessellation, at the paper's
MNIST tessellation sizes and the TWAE authors' settings (TWAE Table 3, Table 4 / Fig. 6).

  python -m experiments.reproduce.mnist_twae [--parts m100 trend] [--seeds 0 1 2] [--jobs 1]
      [--runs-dir runs/mnist_twae] [--collect-only]

Rows (each a preset of experiments/configs, trained by `ltot train` once per seed in its own run
directory and scored by the run's end-of-training report):
- m100: twae_sw / twae_gw (twae_mnist.py:m100-sw / -gw: N = 10,000 codes per round in m = 100
  CVT regions, LCM) against wae_sw / wae_gw (wae_sw_mnist.py:m100-sw / -gw: batch 100 = N / m),
  the same number of updates; metrics fid (10,000 samples against the 10,000 test images under
  ltot's MNIST LeNet), fid_recon (the test images' reconstructions, the same feature net),
  recon_mse, and the latent fit: latent_sw / latent_gw (the penalty between the test codes and
  ball samples) and outside_ball (the fraction of test codes outside the unit ball).
- trend: twae_sw and twae_sw_r (Algorithm 3, alpha 0.2) at m = 200 and 400 (fid, fid_recon), with m = 100
  from the m100 part: Table 3's trend in m. Every preset trains the same number of updates, so an
  m = 400 run sees a quarter of the images of an m = 100 run; ``--equal-epochs`` trains each
  m / 100 times longer instead (the paper trains every m for the same epochs).
Finished runs (metrics.json here or in the archive) are not trained again, and unfinished ones resume from their checkpoints. Each
finished run's config.json, metrics.json and PNGs are copied into ``--archive`` (committed:
experiments/results/mnist_twae_runs/), and the table is written from there, so it can be
completed over several sittings and machines; ``--collect-only`` writes it from the archive
without training anything (rows with fewer seeds than asked are left out).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import sys

import numpy as np

from experiments.reproduce._runs import CONFIGS, finished, seed_rows, train_run
from experiments.results_io import run_images_figure, write_table
from ltot.configs import TESSELLATION_CPU_UPDATES
from ltot.train.checkpoint import read_run_config

FIT = ("fid", "fid_recon", "recon_mse", "outside_ball")
TREND = ("fid", "fid_recon")
# (method, dataset) -> (config file, preset, metrics, paper's FID or None, what the row is)
ROWS: dict[tuple[str, str], tuple[str, str, tuple[str, ...], float | None, str]] = {
    ("twae_sw", "mnist-m100"): ("twae_mnist.py", "m100-sw", FIT + ("latent_sw",), 20.4, "TWAE-SW, 100 CVT regions"),
    ("wae_sw", "mnist-m100"): ("wae_sw_mnist.py", "m100-sw", FIT + ("latent_sw",), None, "WAE-SW, batch 100"),
    ("twae_gw", "mnist-m100"): ("twae_mnist.py", "m100-gw", FIT + ("latent_gw",), 18.0, "TWAE-GW, 100 CVT regions"),
    ("wae_gw", "mnist-m100"): ("wae_sw_mnist.py", "m100-gw", FIT + ("latent_gw",), None, "WAE-GW, batch 100"),
    ("twae_sw", "mnist-m200"): ("twae_mnist.py", "m200-sw", TREND, 17.5, "TWAE-SW, 200 CVT regions"),
    ("twae_sw_r", "mnist-m200"): ("twae_mnist.py", "m200-sw-r", TREND, 16.0, "TWAE-SW(r), 200 CVT regions"),
    ("twae_sw", "mnist-m400"): ("twae_mnist.py", "m400-sw", TREND, 15.6, "TWAE-SW, 400 CVT regions"),
    ("twae_sw_r", "mnist-m400"): ("twae_mnist.py", "m400-sw-r", TREND, 13.9, "TWAE-SW(r), 400 CVT regions"),
}
PARTS = {"m100": [k for k in ROWS if k[1] == "mnist-m100"], "trend": [k for k in ROWS if k[1] != "mnist-m100"]}
SETTINGS = "1/16 width, the TWAE authors' Adam (lr 1e-4, betas 0.9/0.999, constant)"


ARCHIVE = os.path.join(os.path.dirname(__file__), "..", "results", "mnist_twae_runs")
KEPT = ("config.json", "metrics.json", "samples.png", "reconstructions.png", "interpolations.png")


def scaled_updates(dataset: str) -> int:
  """The updates of an m-region run ("mnist-m200") that see as many images as the m = 100 preset's:
  a region update takes N / m images, so m / 100 times ``TESSELLATION_CPU_UPDATES``."""
  return TESSELLATION_CPU_UPDATES * int(dataset.rpartition("-m")[2]) // 100


def run_dir(runs_dir: str, method: str, dataset: str, seed: int) -> str:
  return os.path.join(runs_dir, f"{method}_{dataset}_s{seed}")


def archive(workdir: str, archive_dir: str) -> None:
  """Copies a finished run's config, final metrics and images (not its checkpoints) into ``archive_dir``."""
  target = os.path.join(archive_dir, os.path.basename(workdir))
  os.makedirs(target, exist_ok=True)
  for name in KEPT:
    if os.path.isfile(os.path.join(workdir, name)):
      shutil.copyfile(os.path.join(workdir, name), os.path.join(target, name))


def collect(runs_dir: str, keys: list[tuple[str, str]], seeds: list[int]) -> list[dict]:
  rows = []
  for method, dataset in keys:
    finals = finished([run_dir(runs_dir, method, dataset, s) for s in seeds])
    if len(finals) < len(seeds):
      print(f"{method} {dataset}: {len(finals)} of {len(seeds)} seeds finished; row left out")
      continue
    config, preset, metrics, paper_fid, what = ROWS[method, dataset]
    run_config = read_run_config(run_dir(runs_dir, method, dataset, seeds[0]))
    bn = run_config.twae.bn_policy if "twae" in run_config else "train mode (WAE)"
    for row in seed_rows(method, dataset, finals, metrics, seeds, f"{what}; {config}:{preset}; BN {bn}; {SETTINGS}"):
      row["paper_value"] = paper_fid if row["metric"] == "fid" else None
      rows.append(row)
  return rows


def region_fit(workdir: str, test: np.ndarray, generators, rng) -> tuple[float, float]:
  """(mean over the m regions of SW2^2 between the test codes LCM assigns to a region and uniform
  samples of that region, SW2^2 between all test codes and as many ball samples) of the newest
  checkpoint of a run, given the test images: the latent fit per region, which tessellation
  targets, and overall."""
  import jax.numpy as jnp
  from ltot.methods.latent import load_autoencoder
  return _fit(jnp.asarray(load_autoencoder(workdir).encode(test)), generators, rng)


def _fit(codes, generators, rng) -> tuple[float, float]:
  import jax
  import jax.numpy as jnp
  from ltot import discrepancy, ot, tessellation
  m = generators.shape[0]
  per = codes.shape[0] // m
  k_regions, k_ball, k_sw = jax.random.split(rng, 3)
  labels = ot.lcm(ot.pairwise_cost(codes, generators), per)
  members = codes[jnp.argsort(labels, stable=True)].reshape(m, per, -1)
  priors = tessellation.sample_regions(k_regions, generators, per)
  sw = jax.vmap(lambda a, b: discrepancy.sliced_wasserstein(a, b, rng=k_sw, num_projections=1000))
  ball = tessellation.sample_ball(k_ball, codes.shape[0], codes.shape[1])
  return float(jnp.mean(sw(members, priors))), float(discrepancy.sliced_wasserstein(codes, ball, rng=k_sw,
                                                                                     num_projections=1000))


def diagnose(runs_dir: str, seeds: list[int]) -> list[dict]:
  """Rows region_sw and global_sw of the m100 rows from their runs' checkpoints (``runs_dir``); the
  floor (``reference_value``) is the same measure with uniform ball samples in place of the codes."""
  import jax
  from ltot import data, methods
  from ltot.configs import load_file
  from ltot.tessellation import sample_ball
  twae = methods.build(load_file(os.path.join(CONFIGS, "twae_mnist.py"), "m100-sw"), steps_per_epoch=1)
  generators = twae.init(jax.random.key(0), {"x": np.zeros((2, 28, 28, 1), np.uint8)}).generators  # the m100 CVT
  key = jax.random.key(1234)
  test = data.load("mnist", "test").images
  floor = _fit(sample_ball(jax.random.key(99), 10_000, 8), generators, key)
  rows = []
  for method, dataset in PARTS["m100"]:
    have = [s for s in seeds if all(os.path.exists(os.path.join(run_dir(runs_dir, method, dataset, s), f))
                                    for f in ("checkpoints", "metrics.json"))]  # finished runs only
    if not have:
      print(f"{method}: no checkpoints of seeds {seeds} in {runs_dir}; no diagnosis")
      continue
    fits = np.array([region_fit(run_dir(runs_dir, method, dataset, s), test, generators, key) for s in have])
    for j, metric in enumerate(("region_sw", "global_sw")):
      rows.append({"method": method, "dataset": dataset, "metric": metric, "value": float(fits[:, j].mean()),
                   "std": float(fits[:, j].std(ddof=1)) if len(have) > 1 else None, "seeds": len(have),
                   "reference_value": floor[j],
                   "notes": ("mean over the 100 CVT regions of SW2^2 (1000 directions) between the test codes LCM "
                             "assigns to a region (100 each) and 100 uniform samples of it" if j == 0 else
                             "SW2^2 (1000 directions) between the 10,000 test codes and 10,000 ball samples")
                            + "; reference: the same with ball samples for codes; seeds " + ", ".join(map(str, have))
                            + ": " + ", ".join(f"{v:.4g}" for v in fits[:, j])})
  return rows


def write_figure(runs_dir: str, seed: int, table: str) -> str:
  methods = {f"{m} ({d[6:]})": run_dir(runs_dir, m, d, seed) for m, d in PARTS["m100"]}
  return run_images_figure(methods, ("samples.png", "reconstructions.png"),
                           f"samples (top) and reconstructions (bottom), seed {seed}", f"{table}_samples.png")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--jobs", type=int, default=1)
  parser.add_argument("--runs-dir", default="runs/mnist_twae")
  parser.add_argument("--override", action="append", default=[],
                      help="extra --config.KEY=VALUE for every run (e.g. for a smoke test); the table notes them")
  parser.add_argument("--archive", default=ARCHIVE, help="where finished runs are kept and the table is read from")
  parser.add_argument("--table", default="mnist_twae", help="results table to write")
  parser.add_argument("--collect-only", action="store_true", help="write the table from the archive; train nothing")
  parser.add_argument("--methods", nargs="+", choices=sorted({m for m, _ in ROWS}),
                      help="only these rows of the parts (default: all)")
  parser.add_argument("--equal-epochs", action="store_true",
                      help="train each m-region run m / 100 times the presets' updates, so that it sees as many "
                           "images as the m = 100 runs (use with its own --table and --archive)")
  parser.add_argument("--diagnose", action="store_true",
                      help="also the m100 rows' per-region and global latent fit, from the checkpoints in --runs-dir")
  args = parser.parse_args(argv)
  keys = [k for part in args.parts for k in PARTS[part] if not args.methods or k[0] in args.methods]
  if not args.collect_only:
    jobs = [(k, s) for s in args.seeds for k in keys]

    def train(job):
      (method, dataset), seed = job
      config, preset, *_ = ROWS[method, dataset]
      workdir = run_dir(args.runs_dir, method, dataset, seed)
      if os.path.isfile(os.path.join(run_dir(args.archive, method, dataset, seed), "metrics.json")):
        return method, dataset, seed, "archived before"
      extra = [f"--config.num_steps={scaled_updates(dataset)}"] if args.equal_epochs else []
      status = train_run(config, preset, seed, workdir, extra + args.override)
      if not status.startswith("FAILED"):
        archive(workdir, args.archive)
      return method, dataset, seed, status
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
      for method, dataset, seed, status in pool.map(train, jobs):
        print(f"{method} {dataset} seed {seed}: {status}", flush=True)
  rows = collect(args.archive, keys, args.seeds)
  if args.diagnose:
    rows += diagnose(args.runs_dir, args.seeds)
  for row in rows:
    if args.override:
      row["notes"] += "; overrides " + " ".join(args.override)
  command = "python -m experiments.reproduce.mnist_twae " + " ".join(argv if argv is not None else sys.argv[1:])
  print("wrote", write_table(args.table, rows, command.strip()))
  if "m100" in args.parts and all(os.path.isfile(os.path.join(run_dir(args.archive, m, d, args.seeds[0]), "samples.png"))
                                  for m, d in PARTS["m100"]):
    print("wrote", write_figure(args.archive, args.seeds[0], args.table))
  expected = sum(len(ROWS[k][2]) for k in keys)
  return 0 if len([r for r in rows if r["metric"] not in ("region_sw", "global_sw")]) == expected else 1


if __name__ == "__main__":
  sys.exit(main())
