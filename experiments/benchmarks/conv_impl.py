"""The conv architectures' two 4x4 convolution implementations, side by side on this backend.

  python -m experiments.benchmarks.conv_impl [--preset wae_mmd_mnist.py:cpu] [--widths 0.0625 0.25] [--steps 20]

``model.conv = "matrix"`` (``DownConv4x4`` / ``UpConv4x4`` / ``ConvTranspose4x4``: matrix products)
against ``"xla"`` (flax's ``nn.Conv`` / ``nn.ConvTranspose``): the loop's one-device step of the preset at
each width, from the same initial state on the same real MNIST batches (``step_program.race``).
A row per width: value the matrix products' steps/s, reference flax's; ``"auto"`` picks
``ltot.nn.conv_impl("auto")`` on this backend, and the row says whether that was the faster.
"""

from __future__ import annotations

import argparse
import sys

import jax

from experiments.benchmarks.step_program import race
from experiments.reproduce._runs import load_config
from experiments.results_io import write_benchmarks
from ltot import data, methods
from ltot.data.pipeline import Batches
from ltot.nn import conv_impl
from ltot.train.parallel import map_step


def measure(preset: str, width: float, steps: int, rounds: int) -> dict:
  """The row of one preset at one width."""
  name, _, which = preset.partition(":")
  images = data.load("mnist", "train").images
  device = jax.local_devices()[:1]
  built = {}
  for impl in ("matrix", "xla"):
    config = load_config(name, which, {"model.width": width, "model.conv": impl})
    built[impl] = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  init = built["matrix"].init(jax.random.key(0), {"x": images[:config.batch_size]})
  batches = Batches({"x": images}, config.batch_size, seed=0, num_devices=1)
  programs = {impl: map_step(m.train_step, device) for impl, m in built.items()}
  median, _ = race(programs, init, batches, built["matrix"].updates_per_batch, steps, rounds, device,
                   f"{preset} width {width}")
  auto = conv_impl("auto")
  faster = max(median, key=median.get)
  return {"method": "conv_matrix_vs_xla", "dataset": f"mnist {preset} width={width:g} batch={config.batch_size}",
          "metric": "steps_per_second", "value": median["matrix"], "reference_value": median["xla"],
          "notes": f"matrix products {median['matrix'] / median['xla']:.2f}x flax's nn.Conv/ConvTranspose "
                   f"({median['xla']:.4g} steps/s); the loop's step (map_step), median of {rounds} alternating "
                   f"rounds of {steps} steps after 2 warm-up steps, one {jax.default_backend()} device; "
                   f"conv='auto' picks {auto} here, the {'faster' if auto == faster else 'slower'}"}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--preset", default="wae_mmd_mnist.py:cpu", help="FILE:PRESET of experiments/configs (a conv net)")
  ap.add_argument("--widths", nargs="+", type=float, default=[0.0625, 0.25])
  ap.add_argument("--steps", type=int, default=20, help="steps per timed round")
  ap.add_argument("--rounds", type=int, default=3)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  rows = [measure(args.preset, w, args.steps, args.rounds) for w in args.widths]
  for row in rows:
    print(row)
  write_benchmarks("experiments.benchmarks.conv_impl", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
