"""Sequential loop iterations of the auction, cold against warm-started (``transport(...,
prices=..., start_epsilon=...)``), on the problems of consecutive training steps.

  python -m experiments.benchmarks.warm_start

Iterations (Jacobi rounds plus Gauss-Seidel bids; ``Transport.iterations``) are what an
accelerator's launch latency multiplies, and they are counted exactly on any machine, so these
rows are not timings. Each problem is a matching of codes x to targets y (squared Euclidean)
followed by the next step's problem, x moved by 1% of its scale; the warm start takes the first
solve's column prices ("previous step") or the potentials of an ott-jax Sinkhorn solve of the new
problem at epsilon = 1e-3 of the cost spread ("sinkhorn"), each with the first phase at 1e-3 of
the spread. Every warm solve is checked against the cold one's optimum within both certificates.
"""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
from ott.geometry import pointcloud
from ott.problems.linear import linear_problem
from ott.solvers.linear import sinkhorn

from experiments.results_io import write_benchmarks
from ltot.ot import transport

START = 1e-3  # first phase's increment, relative to the cost spread


def _problems(n, m, d, seed=0):
  rng = np.random.default_rng(seed)
  x, y = rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(m, d)).astype(np.float32)
  nxt = x + 0.01 * rng.normal(size=x.shape).astype(np.float32)
  cost = lambda a: ((a[:, None] - y[None]) ** 2).sum(-1)  # noqa: E731
  return cost(x), cost(nxt), nxt, y


def _row(n, m, d):
  capacity = n // m
  before, cost, x, y = _problems(n, m, d)
  spread = float((cost - cost.min(1, keepdims=True)).max())
  cold = transport(cost, capacity)
  total = lambda sol: float(cost.astype(np.float64)[np.arange(n), np.asarray(sol.labels)].sum())  # noqa: E731
  starts = {"previous step": transport(before, capacity).column_price}
  geom = pointcloud.PointCloud(jnp.asarray(x), jnp.asarray(y), epsilon=START * spread)
  b = jnp.full(m, 1.0 / m)
  starts["sinkhorn"] = -sinkhorn.Sinkhorn()(linear_problem.LinearProblem(geom, b=b)).g
  rows = []
  for name, prices in starts.items():
    warm = transport(cost, capacity, prices=prices, start_epsilon=START * spread)
    if not abs(total(warm) - total(cold)) <= float(warm.gap) + float(cold.gap) + 1e-6 * abs(total(cold)):
      raise SystemExit(f"{name} n={n} m={m}: warm cost {total(warm)} vs cold {total(cold)} beyond the certificates")
    rows.append({"method": f"auction_warm_start_{name.replace(' ', '_')}",
                 "dataset": f"sq-euclidean N={n} m={m} capacity={capacity} d={d}",
                 "metric": "sequential_iterations", "value": int(warm.iterations),
                 "reference_value": int(cold.iterations),
                 "notes": f"warm from {name} prices, first phase at {START:g} x spread, vs a cold start (reference); "
                          f"{int(cold.iterations) / max(1, int(warm.iterations)):.2f}x fewer; same optimum "
                          f"({total(warm):.4f} vs {total(cold):.4f})"})
  return rows


def main(argv=None):
  argv = sys.argv[1:] if argv is None else argv
  rows = []
  for n, m, d in ((128, 128, 64), (1024, 1024, 64), (1024, 1024, 2), (10_000, 100, 64)):
    rows += _row(n, m, d)
    print(*rows[-2:], sep="\n", flush=True)
  write_benchmarks("experiments.benchmarks.warm_start", rows, argv)


if __name__ == "__main__":
  main()
