"""ltot.discrepancy.sliced_wasserstein vs ott.tools.sliced.sliced_wasserstein, side by side.

  python -m experiments.benchmarks.sliced [--n 10000 --d 64 --k 1000 --repeats 5]

Same points, same directions (both read a given [k, d] direction matrix), the
squared-Euclidean ground cost (SW_2^2); writes rows of the ``benchmarks`` table.
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np
import ott.tools.sliced

from experiments.benchmarks.timing import median_seconds
from experiments.results_io import write_benchmarks
from ltot import discrepancy


def main(argv=None):
  ap = argparse.ArgumentParser()
  ap.add_argument("--n", type=int, default=10_000)
  ap.add_argument("--d", type=int, default=64)
  ap.add_argument("--k", type=int, default=1000)
  ap.add_argument("--repeats", type=int, default=5)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  kx, ky, kt = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(kx, (args.n, args.d))
  y = 1.5 * jax.random.normal(ky, (args.n, args.d)) + 0.3
  theta = discrepancy.random_directions(kt, args.k, args.d)

  ours = jax.jit(lambda a, b, t: discrepancy.sliced_wasserstein(a, b, projections=t))
  # ott's univariate solver with the default SqEuclidean cost gives mean_k W_2^2 along each direction.
  peer = jax.jit(lambda a, b, t: ott.tools.sliced.sliced_wasserstein(a, b, proj_fn=lambda z: z @ t.T)[0])
  v_ours, v_peer = float(ours(x, y, theta)), float(peer(x, y, theta))
  if not np.isclose(v_ours, v_peer, rtol=1e-4):
    raise SystemExit(f"values differ: ltot {v_ours} vs ott {v_peer}")
  t_ours = median_seconds(ours, x, y, theta, repeats=args.repeats)
  t_peer = median_seconds(peer, x, y, theta, repeats=args.repeats)
  dataset = f"gaussians n={args.n} d={args.d} k={args.k}"
  note = (f"median of {args.repeats} after compile; same directions; value ltot {v_ours:.6g} = ott {v_peer:.6g}; "
          f"speed-up {t_peer / t_ours:.2f}x")
  rows = [{"method": "sliced_wasserstein_vs_ott", "dataset": dataset, "metric": "seconds", "value": t_ours,
           "reference_value": t_peer, "notes": note}]
  write_benchmarks("experiments.benchmarks.sliced", rows, argv)
  print(note, f"ltot {t_ours:.3f}s ott {t_peer:.3f}s")


if __name__ == "__main__":
  main()
