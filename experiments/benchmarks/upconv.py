"""The stride-2 4x4 transposed convolutions of the MNIST decoder, forward and backward, against
PyTorch's ``ConvTranspose2d`` on the same CPU: where the small-width step loses to pythae (issue 24).

  python -m experiments.benchmarks.upconv [--widths 0.0625 0.25] [--batch 100] [--repeats 15]

For each width, the decoder's two upsampling layers ([B, 7, 7, 1024 w] -> 512 w and
[B, 14, 14, 512 w] -> 256 w, ``ltot.nn.make_autoencoder("mnist_conv")``) are timed as
``grad(sum(conv(x) ** 2))`` with respect to the kernel and the input: ltot's matrix-product
``UpConv4x4`` (the CPU default), flax's ``nn.ConvTranspose`` (XLA's convolution, ``model.conv="xla"``)
and torch's ``ConvTranspose2d(4, 2, padding=1)`` (the same shapes and multiply-adds) with its own CPU threads. The
three alternate call by call after a warm-up; rows hold the medians. Needs ``pip install torch==2.13.0``.
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import linen as nn

from experiments.benchmarks.timing import alternating_medians
from experiments.results_io import write_benchmarks
from ltot.nn import UpConv4x4


def _jax_grad(module: nn.Module, x: np.ndarray):
  """A call of the jitted grad of sum(module(x)^2) in the kernel and x."""
  params = module.init(jax.random.key(0), x)["params"]
  grad = jax.jit(jax.grad(lambda p, v: jnp.sum(module.apply({"params": p}, v) ** 2), (0, 1)))
  xj = jnp.asarray(x)
  return lambda: jax.block_until_ready(grad(params, xj))


def _torch_grad(x: np.ndarray, features: int):
  """The same in PyTorch (NCHW)."""
  xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()
  conv = torch.nn.ConvTranspose2d(x.shape[-1], features, 4, 2, padding=1, bias=False)

  def call():
    xt.grad = None
    conv.zero_grad()
    (conv(xt) ** 2).sum().backward()
  return call


def measure(batch: int, size: int, cin: int, features: int, repeats: int) -> dict:
  x = np.random.default_rng(0).normal(size=(batch, size, size, cin)).astype(np.float32)
  calls = {"matrix": _jax_grad(UpConv4x4(features, use_bias=False), x),
           "xla": _jax_grad(nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME", use_bias=False), x),
           "torch": _torch_grad(x, features)}
  ms = {k: 1000 * v for k, v in alternating_medians(calls, repeats)[0].items()}
  flop = 3 * 2 * batch * size * size * 16 * cin * features  # forward and both gradients
  return {"method": "upconv4x4_grad_vs_torch", "metric": "ms_per_call", "value": ms["matrix"],
          "reference_value": ms["torch"],
          "dataset": f"[{batch}, {size}, {size}, {cin}] -> {features}",
          "notes": f"forward + kernel and input gradients; medians of {repeats} alternating calls; ltot's matrix "
                   f"products {ms['matrix']:.1f} ms ({flop / ms['matrix'] / 1e6:.0f} GFLOP/s), flax/XLA "
                   f"ConvTranspose {ms['xla']:.1f} ms, torch {torch.__version__} ConvTranspose2d "
                   f"{ms['torch']:.1f} ms on {torch.get_num_threads()} threads ({flop / ms['torch'] / 1e6:.0f} "
                   f"GFLOP/s); ltot {ms['torch'] / ms['matrix']:.2f}x the peer's speed"}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--widths", nargs="+", type=float, default=[1 / 16, 1 / 4])
  ap.add_argument("--batch", type=int, default=100)
  ap.add_argument("--repeats", type=int, default=15)
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  rows = []
  for width in args.widths:
    for size, cin, features in ((7, 1024, 512), (14, 512, 256)):
      rows.append(measure(args.batch, size, round(cin * width), round(features * width), args.repeats))
      print(rows[-1], flush=True)
  write_benchmarks("experiments.benchmarks.upconv", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
