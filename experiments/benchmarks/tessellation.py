"""Lloyd's method of ltot.tessellation vs ott.tools.k_means for the same work: 400 regions,
64-D, 100k Monte-Carlo points of the unit ball, the same initial generators, exactly 50
iterations each (ott: n_init=1, min_iterations = max_iterations = 50, tol=0).

  python -m experiments.benchmarks.tessellation [--repeats 5]

Both runs are checked to reach the same energy (eq. 14) at the end.
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np
from ott.tools.k_means import k_means

from experiments.benchmarks.timing import median_seconds
from experiments.results_io import write_benchmarks
from ltot.tessellation import quantization_energy, sample_ball
from ltot.tessellation.cvt import _lloyd


def main(argv=None):
  ap = argparse.ArgumentParser()
  ap.add_argument("--repeats", type=int, default=5)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  m, d, n, iters = 400, 64, 100_000, 50
  k_s, k_i = jax.random.split(jax.random.key(0))
  samples, init = sample_ball(k_s, n, d), sample_ball(k_i, m, d)
  ours = jax.jit(lambda s, g: _lloyd(s, g, iters, False))  # generators and per-iteration energy, as cvt returns
  theirs = jax.jit(lambda s, g: k_means(s, m, init=lambda *_: g, n_init=1, tol=0.0, min_iterations=iters,
                                        max_iterations=iters, rng=jax.random.key(1)).centroids)
  t_ours = median_seconds(ours, samples, init, repeats=args.repeats)
  t_ott = median_seconds(theirs, samples, init, repeats=args.repeats)
  e_ours = float(quantization_energy(samples, ours(samples, init)[0]))
  e_ott = float(quantization_energy(samples, theirs(samples, init)))
  if not np.isclose(e_ours, e_ott, rtol=1e-3):
    raise SystemExit(f"energies differ: ltot {e_ours} vs ott {e_ott}")
  row = {"method": "lloyd_vs_ott_k_means", "dataset": f"unit ball d={d} n={n} m={m} iters={iters}",
         "metric": "seconds", "value": t_ours, "reference_value": t_ott,
         "notes": f"medians of {args.repeats} after compile; same init; energy ltot {e_ours:.6f} vs ott {e_ott:.6f}; "
                  f"ratio {t_ours / t_ott:.2f}"}
  print(row)
  write_benchmarks("experiments.benchmarks.tessellation", [row], argv)


if __name__ == "__main__":
  main()
