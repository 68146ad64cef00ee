"""Semi-discrete OT (OTS, Algorithm 1) in ltot against ott-jax's ``SemidiscreteSolver`` at epsilon = 0,
the same problem, optimiser, batches' size and iterations.

  python -m experiments.benchmarks.semidiscrete [--steps 200] [--num-targets 60000]

Targets: the first ``--num-targets`` real MNIST training images (784-D, [0, 1]). Source: test images
with Gaussian noise (sd 0.1), a fixed measure both solvers sample from. Squared Euclidean cost (ott's
default; ltot's "sqeuclidean" is the same |x - y|^2), batch 64, Adam with rate 0.05 on the dual,
``--steps`` iterations from zeros. ott's solver returns an exponential moving average of its
potentials (0.99) and, at epsilon = 0, takes the same hard c-transform gradient. Each solve is one
jitted call; the row is its median wall time after compilation, and each solver's dual (eq. 2.3) is
estimated on the same 4,096 fresh source samples (higher is better; both are lower bounds of the OT
cost).
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import optax
from ott.geometry import semidiscrete_pointcloud
from ott.problems.linear import semidiscrete_linear_problem
from ott.solvers.linear import semidiscrete

from experiments.benchmarks.timing import alternating_medians
from experiments.results_io import write_benchmarks
from ltot import data
from ltot.data.pipeline import to_unit_float
from ltot.ot import ots, semidiscrete_dual

BATCH, RATE, NOISE = 64, 0.05, 0.1


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--steps", type=int, default=200)
  ap.add_argument("--num-targets", type=int, default=60_000)
  ap.add_argument("--repeats", type=int, default=3)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  flat = lambda split: jnp.asarray(to_unit_float(data.load("mnist", split).images).reshape(-1, 784))  # noqa: E731
  y, source = flat("train")[:args.num_targets], flat("test")

  def sample(key, n):
    pick, noise = jax.random.split(key)
    return source[jax.random.randint(pick, (n,), 0, source.shape[0])] + NOISE * jax.random.normal(noise, (n, 784))

  ours = jax.jit(lambda key: ots(key, sample, y, num_steps=args.steps, batch_size=BATCH, optimizer=optax.adam(RATE)).psi)
  geom = semidiscrete_pointcloud.SemidiscretePointCloud(lambda key, shape, dtype: sample(key, shape[0]), y, epsilon=0.0)
  problem = semidiscrete_linear_problem.SemidiscreteLinearProblem(geom)
  solver = semidiscrete.SemidiscreteSolver(num_iterations=args.steps, batch_size=BATCH, optimizer=optax.adam(RATE),
                                           error_eval_every=args.steps, threshold=0.0)
  theirs = jax.jit(lambda key: solver(key, problem).g)
  key = jax.random.key(0)
  median, first = alternating_medians({"ltot": lambda: jax.block_until_ready(ours(key)),
                                       "ott": lambda: jax.block_until_ready(theirs(key))}, args.repeats)
  x_eval = sample(jax.random.key(1), 4096)
  dual = {k: float(semidiscrete_dual(psi, x_eval, y)) for k, psi in first.items()}
  row = {"method": "ots_vs_ott_semidiscrete", "dataset": f"mnist N={y.shape[0]} d=784 B={BATCH} steps={args.steps}",
         "metric": "seconds", "value": median["ltot"], "reference_value": median["ott"],
         "notes": f"ltot {median['ltot'] / args.steps * 1e3:.1f} ms per iteration, ott-jax SemidiscreteSolver (epsilon 0) "
                  f"{median['ott'] / args.steps * 1e3:.1f} ms: ltot {median['ott'] / median['ltot']:.2f}x ott's speed; "
                  f"squared Euclidean, Adam {RATE}, the same sampler; dual on 4,096 fresh samples ltot "
                  f"{dual['ltot']:.4f}, ott {dual['ott']:.4f} (its EMA of potentials); medians of {args.repeats}"}
  print(row)
  write_benchmarks("experiments.benchmarks.semidiscrete", [row], argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
