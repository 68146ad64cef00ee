"""The c-transform of one OTS iteration on real MNIST: ltot's ``c_transform`` against plain PyTorch,
side by side on the same CPU (issue 24).

  python -m experiments.benchmarks.c_transform [--batch 64] [--cost l1] [--rounds 7]

One OTS iteration of OTS/FIT (Algorithm 1) is dominated by the c-transform of psi at B generated
images over the N = 60,000 training images: min_i c(x_j, y_i) - psi_i and its argmin. The peer is
what a PyTorch user writes for it, ``(torch.cdist(x, y, p=1) - psi).min(1)`` (p=2 squared for
sqeuclidean), with torch's own CPU threads. Both get the same x, y and psi and must return the same
indices (checked on the warm-up calls' results); the two alternate, one call each per round, after
a warm-up call (ltot's compiles), and the rows report the medians. Needs ``pip install torch==2.13.0``
next to ltot.
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np
import torch

from experiments.benchmarks.timing import alternating_medians
from experiments.results_io import write_benchmarks
from ltot import data
from ltot.ot import c_transform


def torch_c_transform(x: torch.Tensor, y: torch.Tensor, psi: torch.Tensor, cost: str) -> tuple[torch.Tensor, ...]:
  """(phi [B], index [B]): the plain PyTorch c-transform, one [B, N] cost matrix."""
  c = torch.cdist(x, y, p=1.0) if cost == "l1" else torch.cdist(x, y) ** 2
  return (c - psi[None, :]).min(dim=1)


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--batch", type=int, default=64)
  ap.add_argument("--cost", default="l1", choices=["l1", "sqeuclidean"])
  ap.add_argument("--rounds", type=int, default=7)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  y = data.load("mnist", "train").images.reshape(60_000, -1).astype(np.float32) / 255.0
  rng = np.random.default_rng(0)
  x = rng.random((args.batch, y.shape[1]), dtype=np.float32)  # stand-ins for generated images
  psi = rng.normal(scale=1.0, size=len(y)).astype(np.float32)
  ours = jax.jit(lambda a, b, p: c_transform(a, b, p, cost=args.cost)[:2])
  xj, yj, pj = map(jax.device_put, (x, y, psi))
  xt, yt, pt = map(torch.from_numpy, (x, y, psi))
  calls = {"ltot": lambda: jax.block_until_ready(ours(xj, yj, pj)),
           "torch": lambda: torch_c_transform(xt, yt, pt, args.cost)}
  with torch.no_grad():
    seconds, results = alternating_medians(calls, args.rounds)
  same = np.array_equal(np.asarray(results["ltot"][1]), results["torch"].indices.numpy())
  gap = float(np.max(np.abs(np.asarray(results["ltot"][0]) - results["torch"].values.numpy())))
  if not same:
    raise SystemExit(f"the two c-transforms pick different images (phi differs by up to {gap:.3g})")
  ms = {k: 1000 * v for k, v in seconds.items()}
  row = {"method": "c_transform_vs_torch_cdist", "dataset": f"mnist N={len(y)} B={args.batch} {args.cost}",
         "metric": "ms_per_call", "value": ms["ltot"], "reference_value": ms["torch"],
         "notes": f"medians of {args.rounds} alternating calls after a warm-up; reference = torch {torch.__version__} "
                  f"cdist + min on {torch.get_num_threads()} threads; same indices, phi within {gap:.2g}; "
                  f"ltot {ms['torch'] / ms['ltot']:.2f}x the peer's speed"}
  print(row)
  write_benchmarks("experiments.benchmarks.c_transform", [row], argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
