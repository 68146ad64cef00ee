"""The loop's train step with glibc's malloc defaults against ``ltot.train.keep_freed_host_memory``.

  python -m experiments.benchmarks.host_memory [--presets wae_mmd_mnist.py:cpu ...] [--steps 50] [--rounds 3]

The setting is process-wide and one-way, so each measurement is a child process of its own
(``LTOT_KEEP_HOST_MEMORY=0`` for the defaults), the two kinds alternating for ``--rounds``
rounds: each child builds the preset's method on real MNIST, runs 2 warm-up steps of the
loop's program (``map_step``, one CPU device), then times ``--steps`` steps and counts the
page faults and system time they took (``getrusage``). A row reports the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import jax

from experiments.benchmarks.step_program import on_mnist
from experiments.results_io import write_benchmarks
from ltot.train import keep_freed_host_memory
from ltot.train.parallel import map_step, replicate

PRESETS = ("wae_mmd_mnist.py:cpu", "vae_mnist.py:cpu")


def child(preset: str, steps: int) -> dict:
  """Times ``steps`` steps of ``preset`` in this process: steps/s, page faults and system ms per step."""
  kept = keep_freed_host_memory()  # a second call: True where the package's first one applied
  _, method, batches, init = on_mnist(preset)
  device = jax.local_devices()[:1]
  state = replicate(init, device)
  step = map_step(method.train_step, device)

  def run(first, n):
    nonlocal state
    for i in range(first, first + n):
      state, metrics = step(state, batches(i // method.updates_per_batch), jax.random.fold_in(jax.random.key(1), i))
    jax.block_until_ready(metrics)

  run(0, 2)
  before, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
  run(2, steps)
  seconds, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
  return {"kept": kept, "steps_per_second": steps / seconds, "faults_per_step": (after.ru_minflt - before.ru_minflt) / steps,
          "system_ms_per_step": (after.ru_stime - before.ru_stime) / steps * 1e3}


def measure(preset: str, steps: int, rounds: int) -> dict:
  """The row of one ``FILE:PRESET``: child processes alternating, defaults first in each round."""
  results = {"default": [], "kept": []}
  for _ in range(rounds):
    for kind in results:
      env = {**os.environ, "LTOT_KEEP_HOST_MEMORY": "0" if kind == "default" else "1"}
      out = subprocess.run([sys.executable, "-m", "experiments.benchmarks.host_memory", "--child", preset,
                            "--steps", str(steps)], env=env, check=True, capture_output=True, text=True).stdout
      results[kind].append(json.loads(out.strip().splitlines()[-1]))
      if results[kind][-1]["kept"] != (kind == "kept"):
        raise SystemExit(f"the {kind} child's allocator setting did not take: {results[kind][-1]}")
    print(preset, {k: round(v[-1]["steps_per_second"], 2) for k, v in results.items()}, flush=True)
  med = {k: {m: statistics.median(r[m] for r in v) for m in ("steps_per_second", "faults_per_step",
                                                              "system_ms_per_step")} for k, v in results.items()}
  kept, default = med["kept"], med["default"]
  config_name = preset.partition(":")[0]
  return {"method": "host_memory_kept", "dataset": f"mnist {preset}", "metric": "steps_per_second",
          "value": kept["steps_per_second"], "reference_value": default["steps_per_second"],
          "notes": f"keep_freed_host_memory {kept['steps_per_second'] / default['steps_per_second']:.2f}x malloc's "
                   f"defaults; page faults per step {kept['faults_per_step']:.0f} vs {default['faults_per_step']:.0f}, "
                   f"system time per step {kept['system_ms_per_step']:.1f} vs {default['system_ms_per_step']:.1f} ms; "
                   f"the loop's step (map_step) of {config_name}, medians of {rounds} alternating child processes of "
                   f"{steps} steps after 2 warm-up steps, one CPU device"}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--presets", nargs="+", default=list(PRESETS), help="FILE:PRESET of experiments/configs")
  ap.add_argument("--steps", type=int, default=50, help="timed steps per child process")
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--child", metavar="PRESET", help=argparse.SUPPRESS)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  if args.child:
    print(json.dumps(child(args.child, args.steps)))
    return 0
  rows = [measure(p, args.steps, args.rounds) for p in args.presets]
  for row in rows:
    print(row)
  write_benchmarks("experiments.benchmarks.host_memory", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
