"""One device: the training loop's step as ``jax.pmap`` against ``jax.jit`` of a ``jax.vmap``, side by side.

  python -m experiments.benchmarks.step_program [--presets autoencoder_mnist.py:ae-mnist ...] [--steps 100]

Both programs run a method's ``train_step`` over a device axis of size 1 named ``AXIS`` (its
gradient and BatchNorm reductions are then identities) on the same real MNIST batches of the
loop's input pipeline, from the same initial state. They alternate in ``--rounds`` rounds of
``--steps`` steps after 2 warm-up steps; a row reports the median steps/s of each (value: jit of
vmap, reference: pmap) and whether the two states agree bitwise after the first round. pmap is
what ``ltot.train.train`` ran on one device until 2026-12-03; since then it runs the jit of vmap
there (``ltot.train.parallel.map_step``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import numpy as np

from experiments.reproduce._runs import load_config
from experiments.results_io import write_table
from ltot import data, methods
from ltot.data.pipeline import Batches
from ltot.train.parallel import AXIS, map_step, replicate

PRESETS = ("autoencoder_mnist.py:ae-mnist", "wae_mmd_mnist.py:cpu", "vae_mnist.py:cpu")


def _programs(method, device):
  """{name: compiled-on-first-call step(state, batch, rng)}: the loop's one-device program (``map_step``)
  and the pmap it replaced."""
  return {"pmap": jax.pmap(method.train_step, axis_name=AXIS, devices=device, in_axes=(0, 0, None),
                           donate_argnums=(0,)),
          "jit_vmap": map_step(method.train_step, device)}


def measure(preset: str, steps: int, rounds: int) -> dict:
  """The row of one ``FILE:PRESET``."""
  name, _, which = preset.partition(":")
  config = load_config(name, which)
  images = data.load("mnist", "train").images
  method = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  device = jax.local_devices()[:1]
  batches = Batches({"x": images}, config.batch_size, seed=0, num_devices=1)
  init = method.init(jax.random.key(0), {"x": images[:config.batch_size]})
  programs = _programs(method, device)
  states = {k: replicate(init, device) for k in programs}
  done = {k: 0 for k in programs}

  def run(k, n):
    for _ in range(n):
      states[k], metrics = programs[k](states[k], batches(done[k]), jax.random.fold_in(jax.random.key(1), done[k]))
      done[k] += 1
    jax.block_until_ready(metrics)

  for k in programs:
    run(k, 2)
  rates = {k: [] for k in programs}
  for r in range(rounds):
    for k in programs:
      t = time.perf_counter()
      run(k, steps)
      rates[k].append(steps / (time.perf_counter() - t))
    if r == 0:
      bitwise = all(np.array_equal(np.asarray(a), np.asarray(b))
                    for a, b in zip(jax.tree.leaves(states["pmap"]), jax.tree.leaves(states["jit_vmap"])))
    print(preset, {k: round(v[-1], 2) for k, v in rates.items()}, flush=True)
  ours, peer = statistics.median(rates["jit_vmap"]), statistics.median(rates["pmap"])
  return {"method": "step_jit_vmap_vs_pmap", "dataset": f"mnist {preset} batch={config.batch_size}",
          "metric": "steps_per_second", "value": ours, "reference_value": peer,
          "notes": f"ratio {ours / peer:.2f}x; median of {rounds} alternating rounds of {steps} steps after 2 "
                   f"warm-up steps, one CPU device; states after round 1 bitwise {'equal' if bitwise else 'different'}"}


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
  print("wrote", write_table("benchmarks", rows, "python -m experiments.benchmarks.step_program " + " ".join(argv)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
