"""WAE-GAN on MNIST (WAE paper, Algorithm 1; App. E): lambda 10 (Sec. 4: "All reported
experiments use this value"), a 4 x 512 ReLU latent discriminator with Adam lr 5e-4 (the
autoencoder: 1e-3), the non-saturating log trick.

Presets as in ``ltot.configs``: "cpu" (default) and "paper". The `mnist_wae_twae` table's wae_gan
row was trained with lambda 1 (before 2026-12-02), as its notes say.
"""

import ml_collections

from ltot.configs import base, wae_section


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  c = base(preset, method="wae")
  c.wae = wae_section(penalty="gan", disc_hidden=(512,) * 4 if preset == "paper" else (64,) * 4)
  return c
