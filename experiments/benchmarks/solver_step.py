"""The exact solvers inside training steps, and batched problems: the auction on the device against
SciPy on the host (``solver="host"``, through a host callback), on 1 and 4 forced CPU devices.

  python -m experiments.benchmarks.solver_step [--steps 50] [--rounds 3]

Steps: OTgen (``ltot.methods.ot_gen``, the MNIST second stage's map: 6 x 512 LeakyReLU, 8-D codes,
batch 128, one 128 x 128 matching per step) and AE-OT (the ``ae_ot`` preset's potential 4 x 512,
1,000 codes against 1,000 noise draws per dual solve), each with ``solver`` "auction" and "host",
alternating in rounds (``step_program.race``) on the same batches of 10,000 standard normal 8-D codes
(the solvers' work depends on the point sets, not on where the codes came from). On 4 devices each
device gathers the whole batch and solves the same problem (the methods' data parallelism), so the
host path makes 4 host calls per step. Batched problems: 16 squared-Euclidean assignments of
n = 300, d = 64, as one call on ``cost[16, 300, 300]`` (one vmapped program), as 16 calls, and SciPy's
``linear_sum_assignment`` in a loop; with the auction's sequential iterations per problem.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import argparse  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

from experiments.benchmarks.step_program import race  # noqa: E402
from experiments.benchmarks.timing import alternating_medians  # noqa: E402
from experiments.results_io import write_benchmarks  # noqa: E402
from ltot import configs, methods  # noqa: E402
from ltot.data.pipeline import Batches  # noqa: E402
from ltot.ot import assignment, transport  # noqa: E402
from ltot.train.parallel import map_step  # noqa: E402

CODE_DIM = 8
SETTINGS = {  # method: (toy preset, overrides that make it the MNIST second stage's net and batch)
    "ot_gen": ("otgen-moons", {"ot_gen.code_dim": CODE_DIM, "ot_gen.noise_dim": CODE_DIM,
                               "ot_gen.hidden": (512,) * 6, "batch_size": 128}),
    "ae_ot": ("ae_ot-moons", {"ae_ot.code_dim": CODE_DIM, "batch_size": 1_000}),
}


def _config(method: str, solver: str, num_devices: int):
  preset, overrides = SETTINGS[method]
  c = configs.latent_ot_toy(preset)
  c.update_from_flattened_dict({**overrides, f"{method}.solver": solver, "num_devices": num_devices})
  return c


def step_rows(steps: int, rounds: int) -> list[dict]:
  codes = {"x": np.random.default_rng(0).normal(size=(10_000, CODE_DIM)).astype(np.float32)}
  rows = []
  for method in SETTINGS:
    for num_devices in (1, 4):
      devices = jax.local_devices()[:num_devices]
      batch_size = SETTINGS[method][1]["batch_size"]
      built = {s: methods.build(_config(method, s, num_devices), 1) for s in ("auction", "host")}
      batches = Batches(codes, batch_size, seed=0, num_devices=num_devices)
      init = built["auction"].init(jax.random.key(0), {})
      programs = {s: map_step(m.train_step, devices) for s, m in built.items()}
      median, _ = race(programs, init, batches, built["auction"].updates_per_batch, steps, rounds, devices, f"{method} x{num_devices}")
      rows.append({"method": f"{method}_step_host_vs_auction",
                   "dataset": f"8-D normal codes batch={batch_size} devices={num_devices} (forced CPU)",
                   "metric": "steps_per_second", "value": median["host"], "reference_value": median["auction"],
                   "notes": f"solver='host' (SciPy through a host callback) {median['host'] / median['auction']:.2f}x "
                            f"solver='auction'; median of {rounds} alternating rounds of {steps} steps after 2 "
                            f"warm-up steps; {num_devices} forced CPU device(s) on this machine's cores"})
  return rows


def batched_rows(repeats: int) -> list[dict]:
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(2, 16, 300, 64)).astype(np.float32)
  cost = jnp.asarray(((x[:, :, None] - y[:, None]) ** 2).sum(-1))
  solve = jax.jit(assignment)
  host = np.asarray(cost, np.float64)
  median, first = alternating_medians({
      "batched": lambda: jax.block_until_ready(solve(cost)),
      "loop": lambda: [jax.block_until_ready(solve(c)) for c in cost],
      "scipy": lambda: [linear_sum_assignment(c)[1] for c in host]}, repeats)
  scipy_total = sum(c[np.arange(300), p].sum() for c, p in zip(host, first["scipy"]))
  ours_total = sum(c[np.arange(300), p].sum() for c, p in zip(host, np.asarray(first["batched"])))
  iterations = np.asarray(jax.jit(lambda c: transport(c, 1).iterations)(cost))  # untimed: the same solves' loop counts
  return [{"method": "assignment_batched_16x300", "dataset": "16 x sq-euclidean n=300 d=64",
           "metric": "seconds", "value": median["batched"], "reference_value": median["scipy"],
           "notes": f"one call on cost[16, 300, 300] {median['batched'] * 1e3:.1f} ms; 16 calls "
                    f"{median['loop'] * 1e3:.1f} ms; SciPy linear_sum_assignment loop (reference) "
                    f"{median['scipy'] * 1e3:.1f} ms; auction iterations per problem min / median / max "
                    f"{iterations.min()} / {int(np.median(iterations))} / {iterations.max()} (the batch runs "
                    f"until its slowest problem ends); total cost ltot {ours_total:.4f} vs SciPy "
                    f"{scipy_total:.4f}; medians of {repeats}"}]


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--steps", type=int, default=50, help="steps per timed round")
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--repeats", type=int, default=7, help="rounds of the batched-problem timings")
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  if len(jax.local_devices()) < 4:
    raise SystemExit("needs 4 devices: run without XLA_FLAGS set, or with --xla_force_host_platform_device_count=4")
  rows = batched_rows(args.repeats) + step_rows(args.steps, args.rounds)
  for row in rows:
    print(row)
  write_benchmarks("experiments.benchmarks.solver_step", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
