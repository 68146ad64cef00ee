"""OTgen, OTtrans and AE-OT directly on 2-D data (no autoencoder), the papers' toy protocols.

Presets "METHOD-DATASET":
- METHOD "otgen" / "ottrans" (AE-OTtrans/AE-OTgen paper, toy section): an MLP of 4 x 512
  LeakyReLU layers from unif(-1, 1)^2 noise, Adam lr 3e-4, batch 128, 10k steps, lambda 0.
- METHOD "ae_ot" (AE-OT paper, Sec. 5.1): a potential D, MLP of 4 x 512 ReLU layers, source
  N(0, I), lambda 0, Adam lr 1e-2 with betas (0.5, 0.999), 10k iterations; each iteration
  solves eq. 14 between a fresh noise batch and the whole target set (batch = num_train).
- DATASET "moons", "circles" (ltot.data, noise std ``toy_noise``) or "eight_gaussians" (centres at
  radius 10, sigma^2 = 1, 32 points each: num_train 256).

``num_train``: the fixed training set drawn once from the seed (the papers do not state it for
moons and circles; ltot uses 2,000, which keeps OTtrans's one 2,000 x 2,000 matching cheap).
Trained by experiments/reproduce/toy_ot_generators.py with ``ltot.train.train``.
"""

import ml_collections

from ltot import configs

METHODS, DATASETS = configs.LATENT_TOY_METHODS, configs.LATENT_TOY_DATASETS
PRESETS = tuple(f"{m}-{d}" for m in METHODS for d in DATASETS)


def get_config(preset: str = "otgen-moons") -> ml_collections.ConfigDict:
  return configs.latent_ot_toy(preset)
