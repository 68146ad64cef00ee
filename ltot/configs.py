"""The run-config skeleton shared by the files in experiments/configs/ (one per method and dataset).

``base(preset, method=...)`` returns the training-loop keys, the net and Adam with
the WAE paper's MNIST schedule; a config file adds its method's section and any
paper-specific change. Presets: "cpu" (the same topology at 1/16 width, 2,400 steps,
minutes on 2 cores) and "paper" (full width, batch 100, 100 epochs).
"""

from __future__ import annotations

import ml_collections

__all__ = ["PRESETS", "base", "PENALTY_LAMBDA", "PENALTY_OPTIONS", "MNIST_PER_PIXEL", "twae_section", "celeba_schedule",
           "method_dataset"]

PRESETS = ("cpu", "paper")

# TWAE Sec. 5.2: lambda 1 for SW (and Max-SW), 0.01 for GW, GSW and DSW; 1000 directions.
PENALTY_LAMBDA = {"sw": 1.0, "max_sw": 1.0, "gw": 0.01, "gsw": 0.01, "dsw": 0.01}
PENALTY_OPTIONS = {"sw": {"num_projections": 1000}, "gsw": {"num_projections": 1000},
                   "dsw": {"num_projections": 1000, "num_iters": 10}, "max_sw": {"num_iters": 10}, "gw": {}}
# recon_weight that turns the per-image squared error of a 28 x 28 image into the per-pixel mean.
# The ball-prior MNIST configs use it: under the per-image sum, lambda 1 (SW) and 0.01 (GW) are too
# weak to pull the latents onto the ball (experiments/results/mnist_wae_twae_per_image_sum.md).
MNIST_PER_PIXEL = 1 / 784
CELEBA_TRAIN = 162_770  # images in CelebA's train split


def base(preset: str, *, method: str, dataset: str = "mnist", arch: str = "mnist_conv",
         latent_dim: int = 8) -> ml_collections.ConfigDict:
  if preset not in PRESETS:
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
  paper = preset == "paper"
  c = ml_collections.ConfigDict()
  c.method = method
  c.dataset = dataset
  c.seed = 0
  c.num_devices = 0  # 0: all local devices
  c.batch_size = 100
  c.num_steps = 60_000 if paper else 2_400  # 100 epochs of 600 steps
  c.log_every = 50
  c.eval_every = 6_000 if paper else 600
  c.num_eval_examples = 2_000
  c.num_fid_samples = 10_000  # generated samples scored at the end (FID/IS under the shipped classifier)
  c.checkpoint_every = 6_000 if paper else 600
  c.max_checkpoints = 3
  c.nonfinite = "stop"  # a NaN/Inf loss: "stop" (keep the last good checkpoint) or "skip" the step
  c.model = ml_collections.ConfigDict(dict(arch=arch, latent_dim=latent_dim, width=1.0 if paper else 0.0625))
  # WAE paper, MNIST: Adam(1e-3, beta1 0.5), x0.5 after 30 epochs, x0.1 (of the base) after 50.
  c.optim = ml_collections.ConfigDict(dict(lr=1e-3, b1=0.5, b2=0.999, decay_epochs=((30, 0.5), (50, 0.1))))
  return c


def twae_section(penalty: str, num_regions: int, *, tessellation: str = "cvt", assign: str = "lcm",
                 alpha: float = 0.0, recon_weight: float = 1.0) -> ml_collections.ConfigDict:
  """The ``twae`` section: the penalty with the paper's lambda and options, the tessellation and assignment."""
  if penalty not in PENALTY_LAMBDA:
    raise ValueError(f"penalty must be one of {sorted(PENALTY_LAMBDA)}, got {penalty!r}")
  return ml_collections.ConfigDict(dict(
      penalty=penalty, lam=PENALTY_LAMBDA[penalty], penalty_options=PENALTY_OPTIONS[penalty],
      tessellation=tessellation, num_regions=num_regions, tessellation_seed=0, cvt_samples=100_000,
      cvt_iters=50, assign=assign, alpha=alpha, recon_weight=recon_weight))


def celeba_schedule(c: ml_collections.ConfigDict, epochs: int, *, per_step: int = 100) -> ml_collections.ConfigDict:
  """WAE paper App. E, CelebA: Adam lr 1e-4 -> 5e-5 after 30 epochs -> 1e-5 after 50, ``epochs`` epochs
  of ``per_step`` images per update; evaluation and checkpoints every 5,000 updates."""
  c.optim.lr = 1e-4
  c.num_steps = epochs * (CELEBA_TRAIN // per_step)
  c.eval_every = c.checkpoint_every = 5_000
  return c


def method_dataset(preset: str, methods: tuple[str, ...], datasets: tuple[str, ...]) -> tuple[str, str]:
  """(method, dataset) of a "METHOD-DATASET" preset, checked against the allowed names."""
  method, _, dataset = preset.partition("-")
  if method not in methods or dataset not in datasets:
    raise ValueError(f"preset must be METHOD-DATASET with METHOD in {methods} and DATASET in {datasets}, "
                     f"got {preset!r}")
  return method, dataset
