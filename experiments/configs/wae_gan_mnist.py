"""WAE-GAN on MNIST (WAE paper, Algorithm 1; App. E): lambda 1, a 4 x 512 ReLU latent
discriminator with Adam lr 5e-4 (the autoencoder: 1e-3), the non-saturating log trick.

Presets as in ``ltot.configs``: "cpu" (default) and "paper".
"""

import ml_collections

from ltot.configs import base


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  c = base(preset, method="wae")
  c.wae = ml_collections.ConfigDict(dict(penalty="gan", lam=1.0, kernel="imq", kernel_scales=(1.0,), prior_var=1.0,
                                         recon_weight=1.0, disc_lr=5e-4,
                                         disc_hidden=(512,) * 4 if preset == "paper" else (64,) * 4))
  return c
