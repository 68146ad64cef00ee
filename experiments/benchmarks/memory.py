"""Peak memory of lcm and balanced_assignment at N=100000, m=1000 (issue 3's memory bar: 24 GiB,
a few copies of the cost matrix at most), and of assign_regions for 10^6 points and 1000
generators in 64-D (issue 4). Each runs in its own process; a row reports that process's
peak RSS (ru_maxrss), the RSS before the call, and the size of the inputs.

  python -m experiments.benchmarks.memory [--n 100000] [--m 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from experiments.results_io import write_benchmarks


def _assign_child() -> None:
  import jax

  from ltot.tessellation import assign_regions, sample_ball

  z = jax.block_until_ready(sample_ball(jax.random.key(0), 1_000_000, 64))
  g = sample_ball(jax.random.key(1), 1000, 64)
  base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  t = time.perf_counter()
  jax.block_until_ready(assign_regions(z, g))
  first = time.perf_counter() - t
  t = time.perf_counter()
  jax.block_until_ready(assign_regions(z, g))
  print(json.dumps({"seconds": time.perf_counter() - t, "first_seconds": first, "before_kib": base,
                    "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "cost_bytes": int(z.nbytes)}))


def _child(solver: str, n: int, m: int) -> None:
  import jax
  import jax.numpy as jnp
  import numpy as np

  from ltot.ot import lcm, transport

  if solver == "assign_regions":
    return _assign_child()

  key_x, key_y = jax.random.split(jax.random.key(0))
  x, y = jax.random.normal(key_x, (n, 64)), jax.random.normal(key_y, (m, 64))
  cost = jax.block_until_ready(jnp.sum(x * x, 1)[:, None] + jnp.sum(y * y, 1)[None] - 2 * x @ y.T)
  del x, y
  base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  capacity = n // m
  t = time.perf_counter()
  labels = np.asarray(lcm(cost, capacity) if solver == "lcm" else transport(cost, capacity).labels)
  seconds = time.perf_counter() - t
  assert labels.min() >= 0 and np.bincount(labels, minlength=m).max() <= capacity
  print(json.dumps({"seconds": seconds, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "before_kib": base, "cost_bytes": int(cost.nbytes)}))


def main(argv=None):
  ap = argparse.ArgumentParser()
  ap.add_argument("--n", type=int, default=100_000)
  ap.add_argument("--m", type=int, default=1000)
  ap.add_argument("--child", choices=("lcm", "balanced_assignment", "assign_regions"))
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  if args.child:
    return _child(args.child, args.n, args.m)
  rows = []
  for solver in ("lcm", "balanced_assignment"):
    out = subprocess.run([sys.executable, "-m", "experiments.benchmarks.memory", "--child", solver,
                          "--n", str(args.n), "--m", str(args.m)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    gib = r["peak_kib"] / 2**20
    rows.append({"method": f"{solver}_peak_rss", "dataset": f"N={args.n} m={args.m} capacity={args.n // args.m} d=64",
                 "metric": "peak RSS GiB", "value": gib,
                 "notes": f"whole process incl. JAX runtime; cost matrix {r['cost_bytes'] / 2**30:.2f} GiB; "
                          f"RSS before solving {r['before_kib'] / 2**20:.2f} GiB; solve took {r['seconds']:.1f} s "
                          "(once, compile included)"})
    print(rows[-1])
  out = subprocess.run([sys.executable, "-m", "experiments.benchmarks.memory", "--child", "assign_regions"],
                       capture_output=True, text=True, check=True)
  r = json.loads(out.stdout.strip().splitlines()[-1])
  rows.append({"method": "assign_regions_peak_rss", "dataset": "n=1000000 m=1000 d=64", "metric": "peak RSS GiB",
               "value": r["peak_kib"] / 2**20,
               "notes": f"whole process; points {r['cost_bytes'] / 2**30:.2f} GiB; RSS before {r['before_kib'] / 2**20:.2f} GiB; "
                        f"{r['seconds']:.2f} s per call after compile ({r['first_seconds']:.2f} s first call)"})
  print(rows[-1])
  write_benchmarks("experiments.benchmarks.memory", rows, argv)


if __name__ == "__main__":
  main()
