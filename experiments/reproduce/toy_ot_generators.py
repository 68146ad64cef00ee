"""The `toy_ot_generators` table: OTgen, OTtrans and k-means baselines on moons and circles, AE-OT
on eight Gaussians, each scored by the exact transport distance to fresh data.

  python -m experiments.reproduce.toy_ot_generators [--seeds 0 1 2] [--runs-dir runs/toy_ot_generators]

Each (method, dataset, seed) trains the preset ``METHOD-DATASET`` of
experiments/configs/latent_ot_toy.py (the papers' protocols) with ``ltot.train.train`` on a
training set drawn from the seed, then draws ``--num-eval`` generated points (eight Gaussians:
the 256 transported points of the paper's Figure 2) and as many fresh data points and reports
the exact W1 between them (``ltot.metrics.wasserstein``, p = 1, Euclidean ground: w1_l2; l1
ground: w1_l1). The "Data" reference is the same distance between two fresh data samples,
drawn in the same run, in ``reference_value``. The k-means baselines (k = 8, 16, ott-jax's
k-means++ on the training set) model each cluster by the Gaussian of its points (mean and
covariance) and sample the mixture with the clusters' sizes as weights. Eight Gaussians adds
mode_coverage: the fraction of the 8 modes nearest to at least half their share (1/16) of the
transported points. Finished runs (result.json) are reused, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jax
import numpy as np

from experiments.reproduce import _runs
from experiments.results_io import save_figure, write_table

# (method, dataset) -> the paper's w1 (AE-OTtrans/AE-OTgen paper's toy table), or None.
PAPER = {("otgen", "moons"): 0.090, ("otgen", "circles"): 0.092, ("ottrans", "moons"): 0.086,
         ("ottrans", "circles"): 0.075, ("kmeans8", "moons"): 0.117, ("kmeans8", "circles"): 0.123,
         ("kmeans16", "moons"): 0.084, ("kmeans16", "circles"): 0.090}
PAPER_DATA = {"moons": 0.070, "circles": 0.071}
RUNS = [(m, d) for d in ("moons", "circles") for m in ("otgen", "ottrans", "kmeans8", "kmeans16")] + \
       [("ae_ot", "eight_gaussians")]


def load_config(preset: str, overrides: dict | None = None):
  return _runs.load_config("latent_ot_toy.py", preset, overrides)


def preset_of(method: str, dataset: str) -> str:
  """The latent_ot_toy.py preset of a row (the k-means baselines read OTgen's data settings)."""
  return f"{'otgen' if method.startswith('kmeans') else method}-{dataset}"


def toy_sample(config, rng: np.random.Generator, num: int) -> np.ndarray:
  from ltot import data
  kwargs = {} if config.dataset == "eight_gaussians" else {"noise": config.toy_noise}
  return data.TOY_SETS[config.dataset](rng, num, **kwargs)


def kmeans_sampler(points: np.ndarray, k: int, seed: int):
  """The k-means baseline: a mixture of the Gaussians of the k clusters of ``points`` [N, 2]."""
  from ott.tools.k_means import k_means
  out = k_means(jax.numpy.asarray(points), k, rng=jax.random.key(seed))
  labels = np.asarray(out.assignment)
  sizes = np.bincount(labels, minlength=k)
  means = np.stack([points[labels == j].mean(0) if sizes[j] else np.zeros(2) for j in range(k)])
  covs = np.stack([np.cov(points[labels == j].T) if sizes[j] > 2 else np.eye(2) * 1e-6 for j in range(k)])

  def sample(rng: np.random.Generator, num: int) -> np.ndarray:
    comp = rng.choice(k, size=num, p=sizes / sizes.sum())
    return np.stack([rng.multivariate_normal(means[j], covs[j]) for j in comp]).astype(np.float32)
  return sample


def mode_coverage(points: np.ndarray, radius: float = 10.0) -> tuple[float, list[float]]:
  """(fraction of the 8 modes holding >= 1/16 of the points, each mode's fraction) by nearest centre."""
  angles = 2 * np.pi * np.arange(8) / 8
  centres = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
  nearest = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), 1)
  fractions = np.bincount(nearest, minlength=8) / len(points)
  return float(np.mean(fractions >= 1 / 16)), fractions.tolist()


def run_one(method: str, dataset: str, seed: int, runs_dir: str, num_eval: int,
            overrides: dict | None = None) -> dict:
  """Trains (or fits) one (method, dataset, seed) unless its result.json exists; returns the result."""
  from ltot import methods, train
  from ltot.metrics import wasserstein
  from ltot.train.report import runtime
  workdir = os.path.join(runs_dir, f"{method}_{dataset}_s{seed}")
  path = os.path.join(workdir, "result.json")
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  os.makedirs(workdir, exist_ok=True)
  config = load_config(preset_of(method, dataset), {"seed": seed, **(overrides or {})})
  points = toy_sample(config, np.random.default_rng([seed, 0]), config.num_train)
  n = config.num_train if dataset == "eight_gaussians" else num_eval
  if method.startswith("kmeans"):
    generated = kmeans_sampler(points, int(method[len("kmeans"):]), seed)(np.random.default_rng([seed, 3]), n)
    steps = 0
  else:
    model = methods.build(config, 1)
    result = train.train(model, {"x": points}, config, workdir, progress=False)
    if result.preempted:  # SIGTERM: the checkpoint is saved; a rerun resumes this run
      raise SystemExit(f"preempted at step {result.step} of {workdir}; run the command again to resume")
    noise = model.sample_noise(jax.random.fold_in(train.root_keys(seed)["eval"], 0), n)
    generated = np.asarray(model.generate(result.state.params, noise))  # = model.sample with the same key
    np.save(os.path.join(workdir, "noise.npy"), np.asarray(noise))
    steps = result.step
  fresh = toy_sample(config, np.random.default_rng([seed, 1]), n)
  other = toy_sample(config, np.random.default_rng([seed, 2]), n)
  out = {"method": method, "dataset": dataset, "seed": seed, "steps": steps, "num_eval": n,
         "num_train": config.num_train, **runtime()}
  for ground in ("l2", "l1"):
    out[f"w1_{ground}"] = float(wasserstein(generated, fresh, p=1, ground=ground))
    out[f"data_w1_{ground}"] = float(wasserstein(other, fresh, p=1, ground=ground))
  if dataset == "eight_gaussians":
    out["mode_coverage"], out["mode_fractions"] = mode_coverage(generated)
  np.save(os.path.join(workdir, "generated.npy"), generated)
  with open(path, "w") as f:
    json.dump(out, f, indent=2)
  return out


def rows_of(results: list[dict], seeds: list[int], note: str) -> list[dict]:
  """Mean and spread over seeds per (method, dataset, metric), the data-vs-data W1 as reference."""
  rows = []
  for method, dataset in sorted({(r["method"], r["dataset"]) for r in results}):
    group = [r for r in results if (r["method"], r["dataset"]) == (method, dataset)]
    metrics = ["w1_l2", "w1_l1"] + (["mode_coverage"] if dataset == "eight_gaussians" else [])
    for metric in metrics:
      v = np.array([r[metric] for r in group])
      ref = np.array([r[f"data_{metric}"] for r in group]) if f"data_{metric}" in group[0] else None
      rows.append({
          "method": method, "dataset": dataset, "metric": metric, "value": float(v.mean()),
          "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v),
          "paper_value": PAPER.get((method, dataset)) if metric == "w1_l2" else None,
          "reference_value": float(ref.mean()) if ref is not None else None,
          "device": group[0]["device"], "machine": group[0]["machine"],
          "notes": (f"{group[0]['steps']} steps, {group[0]['num_train']} training points, {group[0]['num_eval']} "
                    f"generated vs {group[0]['num_eval']} fresh points; seeds {','.join(map(str, seeds))}; "
                    "per seed " + ", ".join(f"{x:.4g}" for x in v)
                    + (f"; ratio to data {v.mean() / ref.mean():.2f}" if ref is not None else "")
                    + (f" (paper: {PAPER[(method, dataset)] / PAPER_DATA[dataset]:.2f})"
                       if metric == "w1_l2" and (method, dataset) in PAPER else "")
                    + (f"; per-mode fractions (seed {group[0]['seed']}) "
                       + ", ".join(f"{x:.3f}" for x in group[0]["mode_fractions"]) if metric == "mode_coverage" else "")
                    + note)})
  return rows


def write_figure(runs_dir: str, seed: int, table: str) -> str:
  """results/<table>.png: data and each method's samples per dataset (seed ``seed``)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  panels = [(m, d) for m, d in RUNS if os.path.isfile(os.path.join(runs_dir, f"{m}_{d}_s{seed}", "generated.npy"))]
  fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), squeeze=False)
  for ax, (method, dataset) in zip(axes[0], panels):
    config = load_config(preset_of(method, dataset))
    fresh = toy_sample(config, np.random.default_rng([seed, 1]), 1000 if dataset != "eight_gaussians" else 256)
    gen = np.load(os.path.join(runs_dir, f"{method}_{dataset}_s{seed}", "generated.npy"))
    ax.scatter(fresh[:, 0], fresh[:, 1], s=2, c="0.7", label="data")
    noise_path = os.path.join(runs_dir, f"{method}_{dataset}_s{seed}", "noise.npy")
    if method == "ae_ot" and os.path.isfile(noise_path):  # AE-OT's Figure 2: noise -> z + grad D(z)
      noise = np.load(noise_path)
      ax.scatter(noise[:, 0], noise[:, 1], s=2, c="tab:blue")
      for a, b in zip(noise[::4], gen[::4]):
        ax.plot([a[0], b[0]], [a[1], b[1]], c="tab:blue", lw=0.3, alpha=0.5)
    ax.scatter(gen[:, 0], gen[:, 1], s=2, c="tab:red", label=method)
    ax.set_title(f"{method}, {dataset}", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
  return save_figure(fig, f"{table}.png")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--runs-dir", default="runs/toy_ot_generators")
  parser.add_argument("--num-eval", type=int, default=1000, help="generated and fresh points per W1 (moons, circles)")
  parser.add_argument("--only", nargs="+", default=None, help="METHOD-DATASET pairs to run (default: all)")
  parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                      help="config override for every trained run (e.g. num_steps=50 for a smoke test)")
  parser.add_argument("--table", default="toy_ot_generators")
  parser.add_argument("--collect-only", action="store_true",
                      help="train nothing: tabulate the (method, dataset) pairs whose seeds have all finished")
  args = parser.parse_args(argv)
  overrides = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.override)}
  runs = [(m, d) for m, d in RUNS if args.only is None or f"{m}-{d}" in args.only]
  results = []
  for method, dataset in runs:
    if args.collect_only:
      paths = [os.path.join(args.runs_dir, f"{method}_{dataset}_s{seed}", "result.json") for seed in args.seeds]
      if all(os.path.isfile(p) for p in paths):
        results += [json.load(open(p)) for p in paths]
      continue
    for seed in args.seeds:
      r = run_one(method, dataset, seed, args.runs_dir, args.num_eval, overrides)
      print(f"{method} {dataset} seed {seed}: w1_l2 {r['w1_l2']:.4f} (data {r['data_w1_l2']:.4f})", flush=True)
      results.append(r)
  note = f"; overrides {args.override}" if args.override else ""
  given = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--collect-only"]
  command = "python -m experiments.reproduce.toy_ot_generators " + " ".join(given)  # what regenerates the rows
  print("wrote", write_table(args.table, rows_of(results, args.seeds, note), command.strip()))
  print("wrote", write_figure(args.runs_dir, args.seeds[0], args.table))
  return 0


if __name__ == "__main__":
  sys.exit(main())
