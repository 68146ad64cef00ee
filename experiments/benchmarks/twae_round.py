"""One TWAE round: encode N images, assign them to m regions (LCM), then m region updates of
n = N / m images, timed with the training loop's step (``map_step``).

  python -m experiments.benchmarks.twae_round [--preset a-sw] [--rounds 3] [--width 1.0]
  python -m experiments.benchmarks.twae_round --config twae_mnist.py --preset paper-sw --torch [--parts 15]

CelebA (twae_celeba.py, architecture A or B, TWAE Sec. 5.2) cannot be had on ltot's build
machines and the time of a step does not depend on the pixels, so its images are uniform
noise of CelebA's shape (64x64x3); MNIST rounds use the real training images. The paper's
Table 1 reports, for N = 10000 and m = 100, LCM on a CPU 7.71 s and back-propagation for
architecture A on a GPU 39.30 s per round (B: 6.75 s).

``--torch`` (MNIST only; needs ``pip install torch==2.13.0``) also times the same round
written plainly in PyTorch with a NumPy LCM (experiments/benchmarks/torch_mnist.py), the
two alternating round by round, and reports ltot's time with the peer's as the reference.
``--parts R`` (with ``--torch``) then times each side's encoder and decoder alone on one region's
batch (experiments/benchmarks/parts.py) and adds a row: the ceiling ltot's decoder sets on the
round's ratio (the round runs it once per region update).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import numpy as np

from experiments.benchmarks.parts import part_calls, parts_notes, time_parts
from experiments.reproduce._runs import load_config
from experiments.results_io import write_benchmarks
from ltot import data, methods
from ltot.train.parallel import map_step, replicate

PAPER_ROUND_SECONDS = {"a": 39.30, "b": 6.75}  # TWAE Table 1, BP on a GPU, N = 10000, m = 100


def torch_version() -> str:
  import torch
  return f"{torch.__version__} ({torch.get_num_threads()} threads)"


def torch_round(config, images: np.ndarray, generators: np.ndarray, num_params: int):
  """(``round(r) -> loss``, encoder, decoder): the same TWAE round in plain PyTorch on the same images
  and generators, and the torch modules it trains."""
  try:
    import torch

    from experiments.benchmarks import torch_mnist
  except ImportError:
    raise SystemExit("--torch needs the peer: pip install torch==2.13.0")
  if config.model.arch != "mnist_conv":
    raise SystemExit(f"--torch has ltot's mnist_conv architecture only, not {config.model.arch!r}")
  torch.manual_seed(0)
  widths = torch_mnist.widths_for(config.model.width)
  encoder = torch_mnist.Encoder(widths, config.model.latent_dim)
  decoder = torch_mnist.Decoder(widths, config.model.latent_dim)
  count = sum(p.numel() for p in [*encoder.parameters(), *decoder.parameters()])
  if count != num_params:
    raise SystemExit(f"the architectures differ: ltot has {num_params} parameters, the torch model {count}")
  o, t = config.optim, config.twae
  opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=o.lr, betas=(o.b1, o.b2))
  x = torch_mnist.to_nchw(images)
  rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
  num_projections = dict(t.penalty_options)["num_projections"]
  run = lambda r: torch_mnist.twae_round(encoder, decoder, opt, x, generators, lam=t.lam,
                                         recon_weight=t.recon_weight, num_projections=num_projections,
                                         rng=rng, gen=gen)
  return run, encoder, decoder


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--config", default="twae_celeba.py")
  ap.add_argument("--preset", default="a-sw")
  ap.add_argument("--torch", action="store_true", help="time the plain PyTorch + NumPy round beside it (MNIST)")
  ap.add_argument("--rounds", type=int, default=3, help="timed rounds (after one warm-up round)")
  ap.add_argument("--width", type=float, default=1.0)
  ap.add_argument("--parts", type=int, default=0, metavar="R",
                  help="with --torch: also time each side's encoder and decoder alone, R alternating rounds of 5 calls each")
  argv = sys.argv[1:] if argv is None else argv
  args = ap.parse_args(argv)
  if args.parts and not args.torch:
    raise SystemExit("--parts compares with the PyTorch round: add --torch")
  config = load_config(args.config, args.preset, {"model.width": args.width})
  n_total, m = config.batch_size, config.twae.num_regions
  method = methods.build(config, steps_per_epoch=16)
  mnist = config.dataset == "mnist"
  if mnist:
    images = data.load("mnist", "train").images[:n_total]
  else:
    images = np.random.default_rng(0).integers(0, 256, (n_total, 64, 64, 3), dtype=np.uint8)
  device = jax.local_devices()[:1]
  initial = method.init(jax.random.PRNGKey(0), {"x": images[:8]})  # fits the tessellation's generators
  state = replicate(initial, device)
  step = map_step(method.train_step, device)  # the training loop's program
  batch = {"x": jax.device_put(images[None])}

  def ltot_round(r):
    nonlocal state
    for i in range(m):
      state, metrics = step(state, batch, jax.random.fold_in(jax.random.PRNGKey(1), r * m + i))
    return float(metrics["loss"][0])

  rounds = {"ltot": ltot_round}
  if args.torch:
    if not mnist:
      raise SystemExit("--torch has the MNIST architecture only: use --config twae_mnist.py")
    rounds["torch"], encoder, decoder = torch_round(config, images, np.asarray(initial.generators),
                                                    sum(x.size for x in jax.tree.leaves(state.params)))
  times = {name: [] for name in rounds}
  for r in range(args.rounds + 1):  # round 0 compiles / warms up
    for name, run in rounds.items():
      t = time.perf_counter()
      loss = run(r)
      times[name].append(time.perf_counter() - t)
      print(f"round {r} {name}: {times[name][-1]:.2f} s, last loss {loss:.4g}", flush=True)
  t_round = statistics.median(times["ltot"][1:])
  arch = config.model.arch if mnist else args.preset.split("-")[0]
  dataset = "mnist" if mnist else "64x64x3"
  row = {"method": f"twae_round_{'mnist' if mnist else 'celeba_' + arch}",
         "dataset": f"N={n_total} m={m} {dataset} width={args.width:g}",
         "metric": "seconds", "value": t_round, "paper_value": None if mnist else PAPER_ROUND_SECONDS.get(arch),
         "notes": f"one round = encode N + LCM + {m} region updates; median of {args.rounds} rounds after a "
                  f"warm-up; {m / t_round:.1f} region updates/s; paper: BP on their GPU, LCM on CPU separately"}
  if args.torch:
    t_peer = statistics.median(times["torch"][1:])
    row.update(method="twae_round_mnist_vs_torch", reference_value=t_peer,
               notes=f"ltot {t_peer / t_round:.2f}x the speed of the same round in plain PyTorch "
                     f"{torch_version()} + NumPy LCM, alternating, median of {args.rounds} rounds after a warm-up; "
                     f"{config.twae.penalty} penalty with the config's options")
  print(row)
  rows = [row]
  if args.parts:
    ms = time_parts(part_calls(method, state, images[:n_total // m], encoder, decoder), args.parts)
    ceiling, notes = parts_notes(ms, 1000 * t_round, 1000 * t_peer, decoder_calls=m)
    rows.append({"method": "twae_round_mnist_vs_torch_parts", "dataset": row["dataset"], "metric": "ceiling_ratio",
                 "value": ceiling, "notes": f"rounds of the row twae_round_mnist_vs_torch (same run); {notes}"})
    print(rows[-1])
  write_benchmarks("experiments.benchmarks.twae_round", rows, argv)
  return 0


if __name__ == "__main__":
  sys.exit(main())
