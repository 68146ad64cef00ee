"""What the reproduce scripts share: one `ltot train` run per (config preset, seed) in its own
directory, reused when finished (metrics.json exists), so an interrupted table resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from ltot.configs import load_file

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


def load_config(config: str, preset: str, overrides: dict | None = None):
  """``get_config(preset)`` of experiments/configs/<config>, with flattened ``overrides`` applied."""
  return load_file(os.path.join(CONFIGS, config), preset, overrides)


def train_run(config: str, preset: str, seed: int, workdir: str, overrides: list[str]) -> str:
  """Trains experiments/configs/<config>:<preset> with ``--config.seed=seed`` into ``workdir`` unless
  it has finished before; returns "reused", "trained" or "FAILED (...)". The log is workdir/train.log."""
  if os.path.isfile(os.path.join(workdir, "metrics.json")):
    return "reused"
  cmd = [sys.executable, "-m", "ltot.cli", "train", f"--config={os.path.join(CONFIGS, config)}:{preset}",
         f"--config.seed={seed}", *overrides, f"--workdir={workdir}"]
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "train.log"), "w") as log:
    r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
  return "trained" if r.returncode == 0 else f"FAILED (exit {r.returncode}, see {workdir}/train.log)"


def finished(workdirs: list[str]) -> list[dict]:
  """The metrics.json of each finished run directory (unfinished ones are left out)."""
  out = []
  for workdir in workdirs:
    path = os.path.join(workdir, "metrics.json")
    if os.path.isfile(path):
      with open(path) as f:
        out.append(json.load(f))
  return out


def measured_where(method: str, finals: list[dict]) -> dict:
  """{"device", "machine"} the runs recorded (all seeds must agree), or {} for runs that predate it."""
  where = {(m.get("device"), m.get("machine")) for m in finals}
  if len(where) > 1:
    raise ValueError(f"{method}: seeds ran on different devices {sorted(where, key=str)}; rerun them on one")
  (device, machine), = where
  return {"device": device, "machine": machine} if device else {}


def seed_rows(method: str, dataset: str, finals: list[dict], metrics: tuple[str, ...], seeds: list[int],
              notes: str) -> list[dict]:
  """One results row per metric: the mean over the finished runs ``finals`` (one per seed), their
  standard deviation (ddof 1), the seeds and each seed's value in the notes, where they ran."""
  measured = measured_where(method, finals)
  steps = "/".join(map(str, sorted({m["step"] for m in finals})))
  rows = []
  for metric in metrics:
    values = np.array([m[metric] for m in finals], np.float64)
    rows.append({"method": method, "dataset": dataset, "metric": metric, "value": float(values.mean()),
                 "std": float(values.std(ddof=1)) if len(values) > 1 else None, "seeds": len(values),
                 "notes": f"{notes}; {steps} updates, seeds {','.join(map(str, seeds))}; per seed "
                          + ", ".join(f"{v:.4g}" for v in values), **measured})
  return rows
