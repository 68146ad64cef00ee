"""What the training loop adds to its step: ``ltot.train.train``'s steps/s against the bare step.

  python -m experiments.benchmarks.loop_overhead [--presets autoencoder_mnist.py:ae-mnist ...] [--steps 300]

For each preset (real MNIST), alternating in ``--rounds`` rounds:
- loop: ``ltot.train.train`` for ``--steps`` steps in a fresh directory, with the preset's
  ``log_every`` and the progress bar on, no evaluation, one checkpoint after the last step; its
  rate is the loop's own ``steps_per_second`` (every step after the first, compiling one, up to
  the last log line: input pipeline, host transfers, metric fetches, checkpoint scheduling and
  the bar included; the final checkpoint is written after it);
- bare: the same program (``ltot.train.parallel.map_step`` of ``keyed_step(method.train_step)``,
  the step key folded in inside the program since 2026-12-06, as in the loop) on
  the same batches, made by the loop's pipeline and put on the device before the clock starts,
  called ``--steps`` times in a row and waited for once.
The row reports the median loop rate (value) and the median bare rate (reference); the notes
give the overhead, bare / loop - 1 (issue 24's goal: under 5%).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

import jax
import numpy as np

from experiments.reproduce._runs import load_config
from experiments.results_io import write_benchmarks
from ltot import data, methods, train
from ltot.data.pipeline import Batches
from ltot.train.loop import keyed_step
from ltot.train.parallel import map_step, replicate

PRESETS = ("autoencoder_mnist.py:ae-mnist", "wae_mmd_mnist.py:cpu")


def loop_rate(method, images, config) -> float:
  """The loop's steps/s over ``config.num_steps`` steps (its last train log line)."""
  with tempfile.TemporaryDirectory() as workdir:
    train.train(method, images, config, workdir, progress=True)
    with open(f"{workdir}/metrics.jsonl") as f:
      return [line for line in map(json.loads, f) if "steps_per_second" in line][-1]["steps_per_second"]


def bare_rate(method, images, config) -> float:
  """The same step program, ``config.num_steps`` calls on device-resident batches, after one compiling call."""
  device = jax.local_devices()[:1]
  batches = Batches({"x": images}, config.batch_size, seed=config.seed, num_devices=1)
  placed = [jax.device_put(batches(i)) for i in range(config.num_steps)]
  keys = train.root_keys(config.seed)
  state = replicate(method.init(keys["init"], {"x": images[:config.batch_size]}), device)
  step = map_step(keyed_step(method.train_step), device)
  state, metrics = step(state, placed[0], (keys["step"], np.uint32(0)))
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for i in range(1, config.num_steps):
    state, metrics = step(state, placed[i], (keys["step"], np.uint32(i)))
  jax.block_until_ready((state, metrics))
  return (config.num_steps - 1) / (time.perf_counter() - start)


def measure(preset: str, steps: int, rounds: int) -> dict:
  name, _, which = preset.partition(":")
  images = data.load("mnist", "train").images
  config = load_config(name, which, {"num_steps": steps, "eval_every": 0, "checkpoint_every": steps,
                                     "num_devices": 1})
  method = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  rates = {"loop": [], "bare": []}
  for _ in range(rounds):
    rates["loop"].append(loop_rate(method, images, config))
    rates["bare"].append(bare_rate(method, images, config))
    print(preset, {k: round(v[-1], 2) for k, v in rates.items()}, flush=True)
  loop, bare = statistics.median(rates["loop"]), statistics.median(rates["bare"])
  return {"method": "loop_vs_bare_step", "dataset": f"mnist {preset} batch={config.batch_size}",
          "metric": "steps_per_second", "value": loop, "reference_value": bare,
          "notes": f"the loop adds {100 * (bare / loop - 1):.1f}% to the bare step (bare / loop - 1); medians of "
                   f"{rounds} alternating rounds of {steps} steps, log_every {config.log_every}, progress bar on, "
                   f"one CPU device"}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--presets", nargs="+", default=list(PRESETS), help="FILE:PRESET of experiments/configs")
  ap.add_argument("--steps", type=int, default=300)
  ap.add_argument("--rounds", type=int, default=3)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  rows = [measure(p, args.steps, args.rounds) for p in args.presets]
  for row in rows:
    print(row)
  write_benchmarks("experiments.benchmarks.loop_overhead", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
