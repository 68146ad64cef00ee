"""WAE-MMD training steps per second: ltot against pythae's WAE_MMD (PyTorch), side by side.

  python -m experiments.benchmarks.wae_vs_pythae [--width 1.0] [--steps 5] [--rounds 3] [--parts 15]

Needs the peer next to ltot: ``pip install torch==2.13.0 pythae`` (CPU build of torch).
Both train the WAE paper's MNIST autoencoder (experiments/configs/wae_mmd_mnist.py:paper
at ``--width``: Conv128-256-512-1024 (4x4, stride 2, SAME, BN, ReLU) -> FC8;
FC 7x7x1024 -> ConvT512-256 (4x4, stride 2) -> ConvT1, sigmoid) on real MNIST batches of
100 with the IMQ kernel (C = 2 d, one scale), lambda = 10 and Adam(1e-3, betas 0.5, 0.999).
The two models must have the same number of parameters or the script stops.

ltot's step is the training loop's ``train_step`` (``map_step``) fed by its input pipeline
(uint8 batch -> device -> float). pythae's is what its trainer does per batch:
``model({"data": x})``, ``loss.backward()``, ``optimizer.step()``, on float tensors
already in memory (its DataLoader is left out, in pythae's favour). The two alternate in
``--rounds`` rounds of ``--steps`` steps after a warm-up; the row reports the median
steps/s of each. The notes add the step's floating-point work (XLA's cost analysis of ltot's
compiled step; the two models compute the same products) and the machine's float32 matrix
product speed in each framework, the ceiling any step of this conv net can approach.

``--parts R`` also times, in the same run, each side's encoder and decoder forward + backward
alone (experiments/benchmarks/parts.py, R alternating rounds of 5 calls each) and writes a second
row: the ratio ltot's step would reach if everything in it but its decoder took no time, the
ceiling that the decoder sets as it is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.benchmarks.parts import part_calls, parts_notes, time_parts
from experiments.benchmarks.timing import host_median, median_seconds
from experiments.reproduce._runs import load_config
from experiments.results_io import write_benchmarks
from ltot import data, methods
from ltot.data.pipeline import Batches
from ltot.train.parallel import map_step, replicate


def pythae_model(widths: tuple[int, ...], latent_dim: int, lam: float):
  """pythae's WAE_MMD around ltot's MNIST encoder and decoder written in torch."""
  from pythae.models import WAE_MMD, WAE_MMD_Config
  from pythae.models.base.base_utils import ModelOutput
  from pythae.models.nn import BaseDecoder, BaseEncoder

  from experiments.benchmarks import torch_mnist

  class Encoder(BaseEncoder):
    def __init__(self):
      super().__init__()
      self.net = torch_mnist.Encoder(widths, latent_dim)

    def forward(self, x):
      return ModelOutput(embedding=self.net(x))

  class Decoder(BaseDecoder):
    def __init__(self):
      super().__init__()
      self.net = torch_mnist.Decoder(widths, latent_dim)

    def forward(self, z):
      return ModelOutput(reconstruction=self.net(z))

  config = WAE_MMD_Config(input_dim=(1, 28, 28), latent_dim=latent_dim, kernel_choice="imq", reg_weight=lam,
                          kernel_bandwidth=1.0, scales=[1.0])
  return WAE_MMD(config, encoder=Encoder(), decoder=Decoder())


def gemm_gflops(torch) -> tuple[float, float]:
  """GFLOP/s of one float32 [19600, 2048] x [2048, 256] product (the shape of the decoder's
  14x14 -> 28x28 layer at full width) in JAX and in torch, medians of 5 after a warm-up."""
  rng = np.random.default_rng(0)
  a, b = rng.random((19_600, 2_048), np.float32), rng.random((2_048, 256), np.float32)
  flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
  ours = median_seconds(jax.jit(jnp.matmul), jnp.asarray(a), jnp.asarray(b))
  ta, tb = torch.from_numpy(a), torch.from_numpy(b)
  peer, _ = host_median(lambda: ta @ tb)
  return flops / ours / 1e9, flops / peer / 1e9


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--width", type=float, default=1.0, help="scales every hidden width (1: the paper's)")
  ap.add_argument("--steps", type=int, default=5, help="steps per timed round")
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--parts", type=int, default=0, metavar="R",
                  help="also time each side's encoder and decoder alone, R alternating rounds of 5 calls each")
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  try:
    import torch
  except ImportError:
    raise SystemExit("this benchmark needs the peer: pip install torch==2.13.0 pythae")

  config = load_config("wae_mmd_mnist.py", "paper", {"model.width": args.width})
  images = data.load("mnist", "train").images
  method = methods.build(config, steps_per_epoch=len(images) // config.batch_size)
  device = jax.local_devices()[:1]
  batches = Batches({"x": images}, config.batch_size, seed=0, num_devices=1)
  state = replicate(method.init(jax.random.key(0), {"x": images[:2]}), device)
  step = map_step(method.train_step, device)  # the training loop's program
  n_ltot = sum(x.size for x in jax.tree.leaves(state.params)) // len(device)

  from experiments.benchmarks import torch_mnist
  torch.manual_seed(0)
  model = pythae_model(torch_mnist.widths_for(args.width), config.model.latent_dim, config.wae.lam)
  model.train()
  n_torch = sum(p.numel() for p in model.parameters())
  if n_torch != n_ltot:
    raise SystemExit(f"the architectures differ: ltot has {n_ltot} parameters, the torch model {n_torch}")
  opt = torch.optim.Adam(model.parameters(), lr=config.optim.lr, betas=(config.optim.b1, config.optim.b2))
  float_images = torch_mnist.to_nchw(images)

  counter = {"ltot": 0, "pythae": 0}

  def run_ltot(n):
    nonlocal state
    for _ in range(n):
      i = counter["ltot"]
      state, metrics = step(state, batches(i), jax.random.fold_in(jax.random.key(1), i))
      counter["ltot"] += 1
    jax.block_until_ready(metrics)
    return float(metrics["loss"][0])

  def run_pythae(n):
    for _ in range(n):
      idx = torch.from_numpy(batches.global_indices(counter["pythae"]))
      out = model({"data": float_images[idx]})
      opt.zero_grad()
      out.loss.backward()
      opt.step()
      counter["pythae"] += 1
    return out.loss.item()

  run_ltot(2), run_pythae(2)  # compile / warm up
  rates = {"ltot": [], "pythae": []}
  for _ in range(args.rounds):
    for name, fn in (("ltot", run_ltot), ("pythae", run_pythae)):
      t = time.perf_counter()
      loss = fn(args.steps)
      rates[name].append(args.steps / (time.perf_counter() - t))
      print(f"{name}: {rates[name][-1]:.3f} steps/s, loss {loss:.4g}", flush=True)
  ours, peer = statistics.median(rates["ltot"]), statistics.median(rates["pythae"])
  cost = step.lower(state, batches(0), jax.random.key(1)).compile().cost_analysis()
  gflop = (cost[0] if isinstance(cost, list) else cost)["flops"] / 1e9
  jax_gemm, torch_gemm = gemm_gflops(torch)
  row = {"method": "wae_mmd_vs_pythae", "dataset": f"mnist batch={config.batch_size} width={args.width:g}",
         "metric": "steps_per_second", "value": ours, "reference_value": peer,
         "notes": f"ratio {ours / peer:.2f}x; {n_ltot} parameters each; median of {args.rounds} alternating rounds "
                  f"of {args.steps} steps after 2 warm-up steps; torch {torch.__version__} with "
                  f"{torch.get_num_threads()} threads, pythae's step without its DataLoader; {gflop:.1f} GFLOP per "
                  f"step (XLA cost analysis): ltot {gflop * ours:.0f} GFLOP/s, pythae {gflop * peer:.0f}, "
                  f"1.5x pythae would need {1.5 * gflop * peer:.0f}; a float32 matrix product runs at "
                  f"{jax_gemm:.0f} GFLOP/s in JAX and {torch_gemm:.0f} in torch here"}
  print(row)
  rows = [row]
  if args.parts:
    ms = time_parts(part_calls(method, state, images[:config.batch_size], model.encoder.net, model.decoder.net),
                    args.parts)
    ceiling, notes = parts_notes(ms, 1000 / ours, 1000 / peer, decoder_calls=1)
    rows.append({"method": "wae_mmd_vs_pythae_parts", "dataset": row["dataset"], "metric": "ceiling_ratio",
                 "value": ceiling, "notes": f"steps of the row wae_mmd_vs_pythae (same run); {notes}"})
    print(rows[-1])
  write_benchmarks("experiments.benchmarks.wae_vs_pythae", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
