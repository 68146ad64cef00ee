"""One device: the training loop's step against the programs it replaced, side by side.

  python -m experiments.benchmarks.step_program [--presets autoencoder_mnist.py:ae-mnist ...] [--steps 100]

Each program runs a method's ``train_step`` over a device axis of size 1 named ``AXIS`` (its
gradient and BatchNorm reductions are then identities) on the same real MNIST batches of the
loop's input pipeline, from the same initial state:
- ``map_step``: the loop's program (``ltot.train.parallel.map_step``), since 2026-12-06 a jit of a
  shard_map, the state not donated on CPUs;
- ``pmap_donated``: what ``ltot.train.train`` ran until 2026-12-03 (pmap, state donated);
- ``pmap``: the same without donation, to separate the two changes;
- ``jit_vmap_donated``: what it ran from 2026-12-03, which turns every ``lax.cond`` on the state
  into a select running both branches (TWAE's round plan at every region step).
They alternate in ``--rounds`` rounds of ``--steps`` steps after 2 warm-up steps; a row reports
the median steps/s of each (value: map_step, reference: pmap_donated, the others in the notes)
and whether the states agree bitwise with map_step's after the first round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import numpy as np

from experiments.reproduce._runs import load_config
from experiments.results_io import write_benchmarks
from ltot import data, methods
from ltot.data.pipeline import Batches
from ltot.train.parallel import AXIS, map_step, replicate

PRESETS = ("autoencoder_mnist.py:ae-mnist", "wae_mmd_mnist.py:cpu", "vae_mnist.py:cpu", "twae_mnist.py:m100-sw")


def _programs(method, device):
  """{name: compiled-on-first-call step(state, batch, rng)}: the loop's one-device program (``map_step``)
  and the ones it replaced."""
  pmap = lambda donate: jax.pmap(method.train_step, axis_name=AXIS, devices=device, in_axes=(0, 0, None),  # noqa: E731
                                 donate_argnums=donate)
  return {"map_step": map_step(method.train_step, device), "pmap_donated": pmap((0,)), "pmap": pmap(()),
          "jit_vmap_donated": jax.jit(jax.vmap(method.train_step, in_axes=(0, 0, None), axis_name=AXIS),
                                      donate_argnums=(0,))}


def race(programs: dict, init, batches, updates_per_batch: int, steps: int, rounds: int, device,
         label: str = "") -> tuple[dict[str, float], dict[str, bool]]:
  """Runs each of ``programs`` ({name: step(state, batch, rng)}) from ``init`` (replicated over ``device``)
  on the same batches and keys: 2 warm-up steps each, then ``rounds`` alternating rounds of ``steps``.
  Returns the median steps/s per program, and whether each state after round 1 is bitwise the first
  program's."""
  states = {k: replicate(init, device) for k in programs}
  done = {k: 0 for k in programs}

  def run(k, n):
    for _ in range(n):
      states[k], metrics = programs[k](states[k], batches(done[k] // updates_per_batch),
                                       jax.random.fold_in(jax.random.key(1), done[k]))
      done[k] += 1
    jax.block_until_ready(metrics)

  for k in programs:
    run(k, 2)
  first = next(iter(programs))
  rates = {k: [] for k in programs}
  for r in range(rounds):
    for k in programs:
      t = time.perf_counter()
      run(k, steps)
      rates[k].append(steps / (time.perf_counter() - t))
    if r == 0:
      equal = {k: all(np.array_equal(np.asarray(a), np.asarray(b))
                      for a, b in zip(jax.tree.leaves(states[first]), jax.tree.leaves(states[k])))
               for k in programs if k != first}
    print(label, {k: round(v[-1], 2) for k, v in rates.items()}, flush=True)
  return {k: statistics.median(v) for k, v in rates.items()}, equal


def on_mnist(preset: str):
  """(config, method, the loop's batches for one device, initial state) of ``FILE:PRESET`` on real MNIST."""
  name, _, which = preset.partition(":")
  config = load_config(name, which)
  images = data.load("mnist", "train").images
  method = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  batches = Batches({"x": images}, config.batch_size, seed=0, num_devices=1)
  return config, method, batches, method.init(jax.random.key(0), {"x": images[:config.batch_size]})


def measure(preset: str, steps: int, rounds: int) -> dict:
  """The row of one ``FILE:PRESET``."""
  config, method, batches, init = on_mnist(preset)
  device = jax.local_devices()[:1]
  median, equal = race(_programs(method, device), init, batches, method.updates_per_batch, steps, rounds, device,
                       preset)
  ours, peer = median["map_step"], median["pmap_donated"]
  others = "; ".join(f"{k} {v:.4g} steps/s ({v / peer:.2f}x)" for k, v in median.items() if k != "map_step")
  same = ", ".join(f"{k} {'equal' if v else 'different'}" for k, v in equal.items())
  return {"method": "step_one_device_program", "dataset": f"mnist {preset} batch={config.batch_size}",
          "metric": "steps_per_second", "value": ours, "reference_value": peer,
          "notes": f"map_step (jit of shard_map, not donated) {ours / peer:.2f}x pmap_donated; {others}; median of "
                   f"{rounds} alternating rounds of {steps} steps after 2 warm-up steps, one CPU device; states after "
                   f"round 1 against map_step's, bitwise: {same}"}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--presets", nargs="+", default=list(PRESETS), help="FILE:PRESET of experiments/configs")
  ap.add_argument("--steps", type=int, default=100, help="steps per timed round")
  ap.add_argument("--rounds", type=int, default=3)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  rows = [measure(p, args.steps, args.rounds) for p in args.presets]
  for row in rows:
    print(row)
  write_benchmarks("experiments.benchmarks.step_program", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
