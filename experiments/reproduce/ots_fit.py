"""The `ots_fit` table: OTS/FIT on the ring of Figure 1 and on MNIST, alternating (Algorithm 3)
against the non-alternating ablation (Figure 4), and a WAE baseline on MNIST.

  python -m experiments.reproduce.ots_fit [--parts ring mnist] [--seeds 0 1 2]
      [--runs-dir runs/ots_fit] [--override KEY=VALUE ...]

Ring (experiments/configs/ots_fit.py:METHOD-ring, trained with ``ltot.train.train``): after every
outer iteration (a round: OTS, then FIT) the exact W2 (``ltot.metrics.wasserstein``, p = 2)
between ``--num-eval`` generated points and as many fresh ring points. The non-alternating run
is measured at the same steps. The floor (``reference_value``) is the same distance between two
fresh samples. The figure results/ots_fit_ring.png plots W2 per outer iteration and the seed-0
samples.

MNIST (one ``ltot train`` per preset and seed): METHOD-mnist of ots_fit.py, and WAE-MMD at the
same number of updates (wae_mmd_mnist.py:cpu with ``num_steps`` set). The rows:
- w1_l1 / w1_l1_train: the paper's WD, exact W1 on l1 pixel distances (pixels in [0, 1]), between
  1,000 samples and 1,000 test (train) images.
- fid and score: FID and the Inception-style score, 10,000 samples under ltot's MNIST LeNet
  (the paper used other feature nets: only the ordering compares).
Finished runs are reused, so an interrupted table resumes.

Authors (``--parts authors``): ots_fit.py:ots_fit_authors-mnist (the OTS/FIT authors' code where
the paper is silent: Adam on psi, their histogram stop, FIT on the stored pairs, their generator)
and its non-alternating ablation, on the first ``--authors-train`` MNIST training images (the
2-core CPU cannot run the authors' 60,000: an OTS step there costs about 1.6 s). The budget is
counted in updates, ``--authors-rounds`` times the authors' round of 4,000 + 4,000 steps
(``--authors-round``; an OTS phase that the histogram rule stops early makes more, shorter rounds). Rows: the same four
metrics over the seeds at the table budget (``--authors-table`` rounds; w1_l1_train against the
training subset), and for the first seed the score, FID and w1_l1_train after each budget of
``--authors-rounds`` and the table's (dataset ``mnist-budget-UPDATES``, one run resumed budget by budget).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jax
import numpy as np

from experiments.reproduce import _runs
from experiments.reproduce._runs import finished, measured_where, train_run
from experiments.results_io import run_images_figure, save_figure, write_table

METHODS = ("ots_fit", "ots_fit_nonalternating")
# Table 1 of the paper, MLP generators: (WD train, WD test, IS, FID train, FID test).
PAPER = {"ots_fit": {"w1_l1_train": 66.68, "w1_l1": 82.87, "score": 9.77, "fid": 3.56},
         "wae": {"w1_l1_train": 90.91, "w1_l1": 101.46, "score": 8.42, "fid": 11.49}}


def load_config(preset: str, overrides: dict | None = None):
  return _runs.load_config("ots_fit.py", preset, overrides)


def ring_run(method: str, seed: int, runs_dir: str, num_eval: int, overrides: dict) -> dict:
  """Trains METHOD-ring round by round (each call resumes the last one's checkpoint, which is
  bitwise the uninterrupted run) and measures W2 after each; returns (and caches) the result."""
  from ltot import data, methods, train
  from ltot.metrics import wasserstein
  from ltot.train.report import runtime
  workdir = os.path.join(runs_dir, "ring", f"{method}_s{seed}")
  path = os.path.join(workdir, "result.json")
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  config = load_config(f"{method}-ring", {"seed": seed, **overrides})
  alt = load_config("ots_fit-ring", {"seed": seed, **overrides}).ots_fit  # rounds are the alternating run's
  per_round = alt.ots_steps + alt.fit_steps
  rounds = config.num_steps // per_round
  points = data.ring(np.random.default_rng([seed, 0]), config.num_train)
  fresh = data.ring(np.random.default_rng([seed, 1]), num_eval)
  other = data.ring(np.random.default_rng([seed, 2]), num_eval)
  model = methods.build(config, 1)
  key = jax.random.fold_in(train.root_keys(seed)["eval"], 0)
  state = model.init(train.root_keys(seed)["init"], {"x": points})
  generated = np.asarray(model.sample(state, key, num_eval))
  w2 = [float(wasserstein(generated, fresh, p=2))]
  for r in range(1, rounds + 1):
    config.num_steps = r * per_round
    config.checkpoint_every = config.num_steps
    result = train.train(model, {"x": points}, config, workdir, progress=False)
    if result.preempted:
      raise SystemExit(f"preempted at step {result.step} of {workdir}; run the command again to resume")
    generated = np.asarray(model.sample(result.state, key, num_eval))
    w2.append(float(wasserstein(generated, fresh, p=2)))
  np.save(os.path.join(workdir, "generated.npy"), generated)
  out = {"method": method, "seed": seed, "steps": config.num_steps, "steps_per_round": per_round,
         "num_train": config.num_train, "num_eval": num_eval, "w2_per_round": w2,
         "floor": float(wasserstein(other, fresh, p=2)), **runtime()}
  with open(path, "w") as f:
    json.dump(out, f, indent=2)
  return out


def ring_rows(results: list[dict], seeds: list[int]) -> list[dict]:
  rows = []
  for method in METHODS:
    group = [r for r in results if r["method"] == method]
    if not group:
      continue
    v = np.array([r["w2_per_round"][-1] for r in group])
    floor = np.array([r["floor"] for r in group])
    g = group[0]
    rows.append({"method": method, "dataset": "ring", "metric": "w2_l2", "value": float(v.mean()),
                 "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v), "paper_value": None,
                 "reference_value": float(floor.mean()), "device": g["device"], "machine": g["machine"],
                 "notes": f"ots_fit.py:{method}-ring, {g['steps']} steps ({g['steps'] // g['steps_per_round']} rounds "
                          f"of {g['steps_per_round']}), {g['num_train']} training points, exact W2 of "
                          f"{g['num_eval']} generated vs {g['num_eval']} fresh points; seeds "
                          f"{','.join(map(str, seeds))}; per seed " + ", ".join(f"{x:.4g}" for x in v)
                          + f"; ratio to the data floor {v.mean() / floor.mean():.2f}"})
  return rows


def ring_figure(results: list[dict], runs_dir: str, table: str) -> str:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from ltot import data
  fig, (ax, *panels) = plt.subplots(1, 1 + len(METHODS), figsize=(4.2 + 2.8 * len(METHODS), 3.0))
  for method, colour in zip(METHODS, ("tab:red", "tab:blue")):
    group = [r for r in results if r["method"] == method]
    for i, r in enumerate(group):
      ax.plot(range(len(r["w2_per_round"])), r["w2_per_round"], c=colour, alpha=0.8,
              label=method if i == 0 else None)
  floors = [r["floor"] for r in results]
  ax.axhline(np.mean(floors), c="0.4", ls="--", label="data vs data")
  ax.set_yscale("log")
  ax.set_xlabel(f"outer iteration ({results[0]['steps_per_round']} steps)")
  ax.set_ylabel("exact W2 to fresh ring points")
  ax.legend(fontsize="small")
  fresh = data.ring(np.random.default_rng([0, 1]), 1000)
  for panel, method in zip(panels, METHODS):
    path = os.path.join(runs_dir, "ring", f"{method}_s0", "generated.npy")
    if not os.path.isfile(path):
      continue
    gen = np.load(path)
    panel.scatter(fresh[:, 0], fresh[:, 1], s=2, c="0.7")
    panel.scatter(gen[:1000, 0], gen[:1000, 1], s=2, c="tab:red")
    panel.set_title(f"{method}, seed 0", fontsize=8)
    panel.set_aspect("equal")
    panel.set_xticks([])
    panel.set_yticks([])
  return save_figure(fig, f"{table}_ring.png")


def mnist_dir(runs_dir: str, method: str, seed: int) -> str:
  return os.path.join(runs_dir, "mnist", f"{method}_s{seed}")


def train_w1(run_dir: str, num: int = 1000) -> float:
  """The exact W1 on l1 pixel distances between ``num`` samples of a finished run and ``num`` of the
  images it trained on (the run's ``num_train`` first ones, or the whole train split; all of them
  where there are fewer)."""
  from ltot import data, methods
  from ltot.metrics import wasserstein
  from ltot.train import read_run_config, restore_run
  from ltot.train.loop import root_keys
  config = read_run_config(run_dir)
  images = data.load_split(config, "train").images
  num = min(num, len(images))
  method = methods.build(config, len(images) // config.batch_size)
  example = {"x": images} if method.resident_data else {"x": images[:2]}
  _, state = restore_run(run_dir, jax.eval_shape(method.init, root_keys(config.seed)["init"], example))
  samples = np.asarray(method.sample(state, jax.random.key(config.seed + 1), num)).reshape(num, -1)
  real = images[np.random.default_rng(config.seed).choice(len(images), num, replace=False)]
  return float(wasserstein(samples, real.reshape(num, -1).astype(np.float32) / 255.0, p=1, ground="l1"))


def mnist_rows(runs_dir: str, seeds: list[int], overrides: list[str]) -> list[dict]:
  steps = load_config("ots_fit-mnist").num_steps
  runs = {m: ("ots_fit.py", f"{m}-mnist", []) for m in METHODS}
  runs["wae"] = ("wae_mmd_mnist.py", "cpu", [f"--config.num_steps={steps}"])
  rows = []
  for method, (config, preset, extra) in runs.items():
    dirs = [mnist_dir(runs_dir, method, s) for s in seeds]
    # WAE takes the shared overrides (num_steps last wins), not the ots_fit section's.
    mine = overrides if method in METHODS else extra + [o for o in overrides if not o.startswith("--config.ots_fit.")]
    for seed, d in zip(seeds, dirs):
      print(f"mnist {method} seed {seed}: {train_run(config, preset, seed, d, mine)}", flush=True)
    finals = finished(dirs)
    if len(finals) < len(seeds):
      print(f"mnist {method}: {len(finals)} of {len(seeds)} seeds finished; rows left out")
      continue
    values = {"w1_l1": [m["w1_l1"] for m in finals], "w1_l1_train": [train_w1(d) for d in dirs],
              "fid": [m["fid"] for m in finals], "score": [m["inception_score"] for m in finals]}
    for metric, v in values.items():
      v = np.array(v)
      rows.append({"method": method, "dataset": "mnist", "metric": metric, "value": float(v.mean()),
                   "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v),
                   "paper_value": PAPER.get(method, {}).get(metric), "reference_value": None,
                   "notes": f"{' '.join([f'{config}:{preset}', *extra])}, {finals[0]['step']} steps; seeds "
                            f"{','.join(map(str, seeds))}; per seed " + ", ".join(f"{x:.4g}" for x in v)
                            + ("; paper: Table 1, MLP generator, its own feature nets and sample sizes"
                               if method in PAPER else ""),
                   **measured_where(method, finals)})
  return rows


AUTHORS = ("ots_fit_authors", "ots_fit_authors_nonalternating")


def _rounds_reached(run_dir: str) -> int:
  """The OTS/FIT round of the run's last logged training step (0-based, so rounds begun - 1)."""
  with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    train_lines = [json.loads(line) for line in f if '"round"' in line]
  return int(train_lines[-1]["round"]) + 1


def budget_run(preset: str, seed: int, run_dir: str, budgets: list[int], overrides: list[str]) -> list[dict]:
  """The final metrics of one run after each budget (updates, ascending): trained to the first, then
  resumed to each next (``num_steps`` is a schedule key); each budget's metrics.json is kept as
  metrics_<budget>.json, and finished budgets are reused."""
  out = []
  for budget in budgets:
    kept = os.path.join(run_dir, f"metrics_{budget}.json")
    if not os.path.isfile(kept):
      if os.path.isfile(os.path.join(run_dir, "metrics.json")):
        os.replace(os.path.join(run_dir, "metrics.json"), os.path.join(run_dir, "metrics_previous.json"))
      status = train_run("ots_fit.py", preset, seed, run_dir, overrides + [f"--config.num_steps={budget}"])
      print(f"mnist {preset} seed {seed} to {budget} updates: {status}", flush=True)
      if status.startswith("FAILED"):
        raise SystemExit(status)
      final = json.load(open(os.path.join(run_dir, "metrics.json")))
      final["rounds"] = _rounds_reached(run_dir)
      final["w1_l1_train"] = train_w1(run_dir)
      with open(kept, "w") as f:
        json.dump(final, f, indent=2)
    out.append(json.load(open(kept)))
  return out


def authors_rows(runs_dir: str, seeds: list[int], num_train: int, rounds: list[int], table_rounds: int,
                 round_length: int, overrides: list[str], which: tuple[str, ...] = AUTHORS) -> list[dict]:
  table = table_rounds * round_length
  budgets = sorted({r * round_length for r in rounds} | {table})
  common = [f"--config.num_train={num_train}", *overrides]
  setting = (f"the first {num_train} MNIST training images; budget {table} updates "
             f"({table_rounds} x a round of {round_length} updates)")
  rows = []
  for method in which:
    finals, per_budget = [], []
    for i, seed in enumerate(seeds):
      mine = budgets if (i == 0 and method == AUTHORS[0]) else [table]
      # the ablation's one OTS phase takes the alternating run's OTS share of the budget, then FIT
      phase = [f"--config.ots_fit.ots_steps={table // 2}"] if method != AUTHORS[0] else []
      results = budget_run(f"{method}-mnist", seed, mnist_dir(runs_dir, method, seed), mine, common + phase)
      finals.append(results[mine.index(table)])
      if len(mine) > 1:
        per_budget = list(zip(mine, results))
    rounds_done = ", ".join(str(m["rounds"]) for m in finals)
    for metric, key in (("w1_l1", "w1_l1"), ("w1_l1_train", "w1_l1_train"), ("fid", "fid"),
                        ("score", "inception_score")):
      v = np.array([m[key] for m in finals])
      rows.append({"method": method, "dataset": "mnist", "metric": metric, "value": float(v.mean()),
                   "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v),
                   "paper_value": PAPER["ots_fit"].get(metric) if method == AUTHORS[0] else None,
                   "reference_value": finals[0].get("real_inception_score") if metric == "score" else None,
                   "notes": f"ots_fit.py:{method}-mnist, {setting}; rounds begun per seed {rounds_done}; seeds "
                            f"{','.join(map(str, seeds))}; per seed " + ", ".join(f"{x:.4g}" for x in v)
                            + ("; paper: Table 1 (60,000 images, about 100 rounds)" if method == AUTHORS[0] else ""),
                   **measured_where(method, finals)})
    for budget, m in per_budget:
      for metric, key in (("score", "inception_score"), ("fid", "fid"), ("w1_l1_train", "w1_l1_train")):
        rows.append({"method": method, "dataset": f"mnist-budget-{budget}", "metric": metric,
                     "value": float(m[key]), "std": None, "seeds": 1, "paper_value": None,
                     "reference_value": m.get("real_inception_score") if metric == "score" else None,
                     "notes": f"seed {seeds[0]}, {budget} updates ({m['rounds']} rounds begun), the first {num_train} "
                              f"MNIST training images; the budget curve of the {method} row",
                     **measured_where(method, [m])})
  return rows


def mnist_figure(runs_dir: str, seed: int, table: str) -> str:
  """results/<table>_mnist_samples.png: 64 samples of each MNIST run of seed ``seed``."""
  return run_images_figure({m: mnist_dir(runs_dir, m, seed) for m in (*METHODS, "wae")}, ("samples.png",),
                           f"MNIST samples, seed {seed}", f"{table}_mnist_samples.png")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--parts", nargs="+", default=["ring", "mnist"], choices=["ring", "mnist", "authors"])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--runs-dir", default="runs/ots_fit")
  parser.add_argument("--num-eval", type=int, default=2000, help="generated and fresh ring points per W2")
  parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                      help="config override for every run (e.g. num_steps=30 for a smoke test); the table notes them")
  parser.add_argument("--table", default="ots_fit")
  parser.add_argument("--authors-train", type=int, default=6_000, help="MNIST training images of the authors part")
  parser.add_argument("--authors-rounds", nargs="+", type=int, default=[2, 4, 8],
                      help="budgets in rounds of --authors-round updates that the first seed runs (the budget curve)")
  parser.add_argument("--authors-table", type=int, default=4, help="the table's budget in rounds, for every seed")
  parser.add_argument("--authors-methods", nargs="+", default=list(AUTHORS), choices=list(AUTHORS))
  parser.add_argument("--authors-round", type=int, default=8_000,
                      help="updates of a round: the authors' 4,000 OTS + 4,000 FIT steps (smaller with --override)")
  args = parser.parse_args(argv)
  rows = []
  if "ring" in args.parts:
    overrides = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.override)}
    results = [ring_run(m, s, args.runs_dir, args.num_eval, overrides) for m in METHODS for s in args.seeds]
    rows += ring_rows(results, args.seeds)
    print("wrote", ring_figure(results, args.runs_dir, args.table))
  if "mnist" in args.parts:
    rows += mnist_rows(args.runs_dir, args.seeds, [f"--config.{o}" for o in args.override])
    print("wrote", mnist_figure(args.runs_dir, args.seeds[0], args.table))
  if "authors" in args.parts:
    rows += authors_rows(args.runs_dir, args.seeds, args.authors_train, args.authors_rounds, args.authors_table,
                         args.authors_round, [f"--config.{o}" for o in args.override], tuple(args.authors_methods))
    shown = {m: mnist_dir(args.runs_dir, m, args.seeds[0]) for m in AUTHORS}  # every finished one, this part's or not
    print("wrote", run_images_figure({m: d for m, d in shown.items() if os.path.isfile(os.path.join(d, "samples.png"))},
                                     ("samples.png",),
                                     f"MNIST samples, the authors' settings, seed {args.seeds[0]} after its last budget",
                                     f"{args.table}_authors_mnist_samples.png"))
  for row in rows:
    if args.override:
      row["notes"] += "; overrides " + " ".join(args.override)
  command = "python -m experiments.reproduce.ots_fit " + " ".join(argv if argv is not None else sys.argv[1:])
  print("wrote", write_table(args.table, rows, command.strip()))
  expected = (2 * ("ring" in args.parts) + 12 * ("mnist" in args.parts)
              + (4 * len(args.authors_methods) + 3 * len(set(args.authors_rounds) | {args.authors_table})
                 * (AUTHORS[0] in args.authors_methods)) * ("authors" in args.parts))
  return 0 if len(rows) == expected else 1


if __name__ == "__main__":
  sys.exit(main())
