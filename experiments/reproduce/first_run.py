"""The `first_run` table: the README's main job (AE-OTgen's two stages on MNIST), run as the README
runs it, timed and scored per seed.

  python -m experiments.reproduce.first_run [--seeds 0 1 2] [--runs-dir runs/first_run_table]

Per seed, the README's two ``ltot train`` commands (experiments/configs/first_run.py:autoencoder,
then :otgen on its run directory) with ``--config.seed=S``, one after the other; a seed whose
two runs have finished before is reused. Rows: the generator's Inception-style score and FID
(10,000 samples under ltot's MNIST LeNet; ``reference_value``: the real test images' score),
and the wall time of the two commands together (process start to exit, scoring included; the
machine's load average when they started is in the notes: the 2-core timings are only
comparable on a quiet machine). Issue 27's bar: score >= 9.0 in at most 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from experiments.reproduce._runs import CONFIGS, measured_where
from experiments.results_io import write_table

STAGES = ("autoencoder", "otgen")


def run_seed(seed: int, runs_dir: str, overrides: list[str]) -> dict:
  """The two commands of seed ``seed`` (or their kept result): {"wall", "load", "metrics"}."""
  base = os.path.join(runs_dir, f"s{seed}")
  kept = os.path.join(base, "first_run.json")
  if os.path.isfile(kept):
    with open(kept) as f:
      return json.load(f)
  os.makedirs(base, exist_ok=True)
  load = os.getloadavg()[0]
  start = time.perf_counter()
  for stage in STAGES:
    extra = [f"--config.ot_gen.autoencoder={os.path.join(base, 'autoencoder')}"] if stage == "otgen" else []
    cmd = [sys.executable, "-m", "ltot.cli", "train", f"--config={os.path.join(CONFIGS, 'first_run.py')}:{stage}",
           f"--config.seed={seed}", *extra, *overrides, f"--workdir={os.path.join(base, stage)}"]
    with open(os.path.join(base, f"{stage}.log"), "w") as log:
      if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode:
        raise SystemExit(f"seed {seed}: {stage} failed, see {base}/{stage}.log")
  result = {"wall": time.perf_counter() - start, "load": load,
            "metrics": json.load(open(os.path.join(base, "otgen", "metrics.json")))}
  with open(kept, "w") as f:
    json.dump(result, f, indent=2)
  return result


def rows_of(results: dict[int, dict], overrides: list[str]) -> list[dict]:
  seeds = sorted(results)
  finals = [results[s]["metrics"] for s in seeds]
  where = measured_where("first_run", finals)
  extra = f"; overrides {' '.join(overrides)}" if overrides else ""
  loads = ", ".join(f"{results[s]['load']:.1f}" for s in seeds)
  rows = []
  for metric, values in (("score", [m["inception_score"] for m in finals]), ("fid", [m["fid"] for m in finals]),
                         ("wall_seconds", [results[s]["wall"] for s in seeds])):
    v = np.array(values, np.float64)
    rows.append({"method": "ae_otgen_first_run", "dataset": "mnist", "metric": metric, "value": float(v.mean()),
                 "std": float(v.std(ddof=1)) if len(v) > 1 else None, "seeds": len(v), "paper_value": None,
                 "reference_value": finals[0]["real_inception_score"] if metric == "score" else None,
                 "notes": f"the README's main job (first_run.py:autoencoder then :otgen), seeds "
                          f"{','.join(map(str, seeds))}; per seed " + ", ".join(f"{x:.4g}" for x in v)
                          + f"; load average at start {loads}{extra}", **where})
  return rows


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument("--runs-dir", default="runs/first_run_table")
  parser.add_argument("--override", action="append", default=[], help="extra --config.KEY=VALUE for both runs")
  parser.add_argument("--table", default="first_run")
  args = parser.parse_args(argv)
  results = {seed: run_seed(seed, args.runs_dir, args.override) for seed in args.seeds}
  rows = rows_of(results, args.override)
  for row in rows:
    print(row["metric"], row["notes"])
  command = "python -m experiments.reproduce.first_run " + " ".join(argv if argv is not None else sys.argv[1:])
  print("wrote", write_table(args.table, rows, command.strip()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
