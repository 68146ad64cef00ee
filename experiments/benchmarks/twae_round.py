"""One TWAE round on CelebA architecture A (TWAE Sec. 5.2): encode N images, assign them to m
regions (LCM), then m region updates of n = N / m images, timed with the training loop's pmapped step.

  python -m experiments.benchmarks.twae_round [--preset a-sw] [--rounds 3] [--width 1.0]

CelebA cannot be had on ltot's build machines and the time of a step does not depend
on the pixels, so the images are uniform noise of CelebA's shape (64x64x3). The
paper's Table 1 reports, for N = 10000 and m = 100, LCM on a CPU 7.71 s and
back-propagation for architecture A on a GPU 39.30 s per round (B: 6.75 s).
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
from ltot import methods
from ltot.train.loop import _replicate
from ltot.train.state import AXIS

PAPER_ROUND_SECONDS = {"a": 39.30, "b": 6.75}  # TWAE Table 1, BP on a GPU, N = 10000, m = 100


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--preset", default="a-sw")
  ap.add_argument("--rounds", type=int, default=3, help="timed rounds (after one warm-up round)")
  ap.add_argument("--width", type=float, default=1.0)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  config = load_config("twae_celeba.py", args.preset, {"model.width": args.width})
  n_total, m = config.batch_size, config.twae.num_regions
  method = methods.build(config, steps_per_epoch=16)
  images = np.random.default_rng(0).integers(0, 256, (n_total, 64, 64, 3), dtype=np.uint8)
  device = jax.local_devices()[:1]
  state = _replicate(method.init(jax.random.PRNGKey(0), {"image": images[:8]}), device)
  step = jax.pmap(method.train_step, axis_name=AXIS, devices=device, in_axes=(0, 0, None), donate_argnums=(0,))
  batch = {"image": jax.device_put(images[None])}
  times = []
  for r in range(args.rounds + 1):
    t = time.perf_counter()
    for i in range(m):
      state, metrics = step(state, batch, jax.random.fold_in(jax.random.PRNGKey(1), r * m + i))
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - t)
  t_round = statistics.median(times[1:])
  arch = args.preset.split("-")[0]
  row = {"method": f"twae_round_celeba_{arch}", "dataset": f"N={n_total} m={m} 64x64x3 width={args.width:g}",
         "metric": "seconds", "value": t_round, "paper_value": PAPER_ROUND_SECONDS.get(arch),
         "notes": f"one round = encode N + LCM + {m} region updates; median of {args.rounds} rounds after a "
                  f"warm-up; {m / t_round:.1f} region updates/s; paper: BP on their GPU, LCM on CPU separately"}
  print(row)
  print("wrote", write_table("benchmarks", [row], "python -m experiments.benchmarks.twae_round " + " ".join(argv)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
