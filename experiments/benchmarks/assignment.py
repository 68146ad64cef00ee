"""ltot.ot.assignment and balanced_assignment vs POT's network simplex (ot.emd), SciPy's
linear_sum_assignment and optax's Hungarian, side by side on the same squared-Euclidean costs.

  python -m experiments.benchmarks.assignment [--repeats 5] [--hungarian-4096]

Costs are float32 for ltot (the JAX default) and float64 for the peers; every row
checks that ltot's total cost matches the peer's optimum within ltot's own
certificate (Transport.gap). optax's Hungarian is timed at n=1024 (and, with
--hungarian-4096, once at n=4096, ~45 s).
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np
import ot as pot
from optax.assignment import hungarian_algorithm
from scipy.optimize import linear_sum_assignment

from experiments.benchmarks.timing import host_median, median_seconds
from experiments.results_io import write_benchmarks
from ltot.ot import transport


def _cost(n, m, d, seed=0):
  rng = np.random.default_rng(seed)
  x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
  return ((x[:, None] - y[None]) ** 2).sum(-1)


def _check(name, cost, labels, gap, optimum):
  got = cost[np.arange(len(labels)), labels].sum()
  if not got - optimum <= gap + 1e-6 * abs(optimum):
    raise SystemExit(f"{name}: cost {got} exceeds the optimum {optimum} by more than the certificate {gap}")
  return got


def _solve(capacity):
  return jax.jit(lambda c: transport(c, capacity))


def _square_rows(n, d, repeats, hungarian):
  cost = _cost(n, n, d)
  ours = _solve(1)
  t_ours = median_seconds(ours, cost.astype(np.float32), repeats=repeats)
  sol = ours(cost.astype(np.float32))
  t_pot, plan = host_median(lambda c: pot.emd(np.ones(n), np.ones(n), c, numItermax=10**9), cost, repeats=repeats)
  optimum = (plan * cost).sum()
  got = _check(f"assignment n={n}", cost, np.asarray(sol.labels), float(sol.gap), optimum)
  t_scipy, _ = host_median(linear_sum_assignment, cost, repeats=max(1, repeats // 2))
  note = (f"medians of {repeats} after compile; ltot float32 cost {got:.6f} vs POT optimum {optimum:.6f} "
          f"(rel {abs(got - optimum) / optimum:.1e}, certificate {float(sol.gap):.3g}); scipy {t_scipy:.3f} s; "
          f"{int(sol.iterations)} sequential iterations")
  rows = [{"method": "assignment_vs_pot_emd", "dataset": f"sq-euclidean n={n} d={d}", "metric": "seconds",
           "value": t_ours, "reference_value": t_pot, "notes": f"{note}; speed-up {t_pot / t_ours:.2f}x"}]
  if hungarian:
    hung = jax.jit(hungarian_algorithm)
    reps = repeats if n <= 1024 else 1
    t_h = median_seconds(hung, cost.astype(np.float32), repeats=reps)
    rows.append({"method": "assignment_vs_optax_hungarian", "dataset": f"sq-euclidean n={n} d={d}",
                 "metric": "seconds", "value": t_ours, "reference_value": t_h,
                 "notes": f"median of {reps} after compile; speed-up {t_h / t_ours:.1f}x"})
  return rows


def _balanced_row(n, m, d, repeats):
  cost, capacity = _cost(n, m, d), n // m
  ours = _solve(capacity)
  t_ours = median_seconds(ours, cost.astype(np.float32), repeats=repeats)
  sol = ours(cost.astype(np.float32))
  t_pot, plan = host_median(lambda c: pot.emd(np.ones(n), np.full(m, float(capacity)), c, numItermax=10**9),
                             cost, repeats=repeats)
  optimum = (plan * cost).sum()
  got = _check(f"balanced n={n} m={m}", cost, np.asarray(sol.labels), float(sol.gap), optimum)
  return {"method": "balanced_assignment_vs_pot_emd", "dataset": f"sq-euclidean N={n} m={m} capacity={capacity} d={d}",
          "metric": "seconds", "value": t_ours, "reference_value": t_pot,
          "notes": f"medians of {repeats} after compile; ltot float32 cost {got:.3f} vs POT optimum {optimum:.3f} "
                   f"(rel {abs(got - optimum) / optimum:.1e}); speed-up {t_pot / t_ours:.2f}x; "
                   f"{int(sol.iterations)} sequential iterations"}


def _batch_row(batch, n, d, repeats):
  """``batch`` square problems solved together (one program) against POT solving them one by one."""
  cost = np.stack([_cost(n, n, d, seed=s) for s in range(batch)])
  ours = _solve(1)
  t_ours = median_seconds(ours, cost.astype(np.float32), repeats=repeats)
  sol = ours(cost.astype(np.float32))
  t_pot, plans = host_median(lambda cs: [pot.emd(np.ones(n), np.ones(n), c, numItermax=10**9) for c in cs], cost,
                             repeats=repeats)
  worst = max(abs(float(c[np.arange(n), np.asarray(l)].sum()) - float((p * c).sum())) / float((p * c).sum())
              for c, l, p in zip(cost, sol.labels, plans))
  return {"method": "batched_assignment_vs_pot_emd", "dataset": f"{batch} x sq-euclidean n={n} d={d}",
          "metric": "seconds", "value": t_ours, "reference_value": t_pot,
          "notes": f"medians of {repeats} after compile, the batch as one vmapped solve; worst relative excess over "
                   f"POT's optimum {worst:.1e}; most sequential iterations of a problem {int(np.max(sol.iterations))}; "
                   f"speed-up {t_pot / t_ours:.2f}x"}


def main(argv=None):
  ap = argparse.ArgumentParser()
  ap.add_argument("--repeats", type=int, default=5)
  ap.add_argument("--hungarian-4096", action="store_true")
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  rows = []
  for n, d in ((1024, 64), (4096, 64), (1024, 2), (4096, 2)):
    hungarian = d == 64 and (n == 1024 or args.hungarian_4096)
    rows += _square_rows(n, d, args.repeats, hungarian)
    print(*rows[-1 - hungarian:], sep="\n")
  rows.append(_balanced_row(10_000, 100, 64, args.repeats))
  print(rows[-1])
  rows.append(_batch_row(16, 300, 64, args.repeats))
  print(rows[-1])
  write_benchmarks("experiments.benchmarks.assignment", rows, argv)


if __name__ == "__main__":
  main()
