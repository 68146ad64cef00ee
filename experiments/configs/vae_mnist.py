"""The VAE baseline on MNIST (WAE paper's comparison): Gaussian encoder, Bernoulli decoder,
the same nets and Adam schedule as WAE-MMD.

Presets as in ``ltot.configs``: "cpu" (default) and "paper".
"""

import ml_collections

from ltot.configs import base


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  c = base(preset, method="vae")
  c.vae = ml_collections.ConfigDict(dict(likelihood="bernoulli", decoder_var=1.0, beta=1.0))
  return c
