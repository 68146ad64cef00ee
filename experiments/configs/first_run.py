"""The README's main job: AE-OTgen on real MNIST in three to four and a half minutes on a 2-core CPU.

Two ``ltot train`` runs, chained in one command line:

  ltot train --config experiments/configs/first_run.py:autoencoder --workdir runs/first_run/autoencoder && \
  ltot train --config experiments/configs/first_run.py:otgen \
      --config.ot_gen.autoencoder=runs/first_run/autoencoder --workdir runs/first_run/otgen

- "autoencoder": the first stage of ``autoencoder_mnist.py:ae-mnist`` (the fully connected
  784-1024-512-256-8 autoencoder, lambda 0, Adam lr 1e-3, batch 100) for 2,400 steps (4 epochs)
  instead of 12,000.
- "otgen": the second stage of ``latent_ot.py:otgen-mnist`` (AE-OTgen's 7-layer map from
  unif(-1, 1)^8 noise onto the frozen codes, an exact matching per batch of 128, Adam 3e-4)
  for 3,000 steps instead of 10,000.

Why this pair: of the methods in ltot, the latent-space OT generators reach the best MNIST
scores per CPU second (the full settings score 9.48 of the real test images' 9.83 under ltot's
LeNet), because each stage is a small fully connected net whose step costs milliseconds; a
conv WAE of the same wall time (``wae_mmd_mnist.py:cpu``, 4.5 minutes) scores 4.90. The
measured scores of this pair are in experiments/results/first_run.md.
"""

import os

import ml_collections

from ltot.configs import load_file

PRESETS = ("autoencoder", "otgen")
_HERE = os.path.dirname(os.path.abspath(__file__))


def get_config(preset: str = "autoencoder") -> ml_collections.ConfigDict:
  if preset not in PRESETS:
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
  if preset == "autoencoder":
    c = load_file(os.path.join(_HERE, "autoencoder_mnist.py"), "ae-mnist")
    c.num_steps = c.eval_every = c.checkpoint_every = 2_400
  else:
    c = load_file(os.path.join(_HERE, "latent_ot.py"), "otgen-mnist")
    c.num_steps = c.eval_every = c.checkpoint_every = 3_000
  return c
