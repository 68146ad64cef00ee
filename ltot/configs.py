"""The run-config skeleton shared by the files in experiments/configs/ (one per method and dataset).

``base(preset, method=...)`` returns the training-loop keys, the net and Adam with
the WAE paper's MNIST schedule; a config file adds its method's section and any
paper-specific change. Presets: "cpu" (the same topology at 1/16 width, 2,400 steps,
minutes on 2 cores) and "paper" (full width, batch 100, 100 epochs).
"""

from __future__ import annotations

import ml_collections

__all__ = ["PRESETS", "base"]

PRESETS = ("cpu", "paper")


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
  c.checkpoint_every = 6_000 if paper else 600
  c.max_checkpoints = 3
  c.model = ml_collections.ConfigDict(dict(arch=arch, latent_dim=latent_dim, width=1.0 if paper else 0.0625))
  # WAE paper, MNIST: Adam(1e-3, beta1 0.5), x0.5 after 30 epochs, x0.1 (of the base) after 50.
  c.optim = ml_collections.ConfigDict(dict(lr=1e-3, b1=0.5, b2=0.999, decay_epochs=((30, 0.5), (50, 0.1))))
  return c
