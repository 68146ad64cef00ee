"""WAE with a sliced penalty on MNIST, TWAE's non-tessellated baselines (TWAE Sec. 5.2):
uniform unit-ball prior, latent 8, lambda 1 for SW (1000 directions) and 0.01 for GW;
"gw", "dsw", "gsw", "max_sw" via the preset or --config.wae.penalty=...

Presets: "cpu" (default) and "paper" (see ``ltot.configs``), each optionally with a
penalty suffix: ``wae_sw_mnist.py:paper-gw``. Reconstruction: the per-pixel mean, as in
twae_mnist.py (whose docstring says why).
"""

import ml_collections

from ltot.configs import MNIST_PER_PIXEL, PENALTY_LAMBDA, PENALTY_OPTIONS, base

PRESETS = tuple(f"{size}-{p}" for size in ("cpu", "paper") for p in ("sw", "gw", "dsw", "gsw", "max_sw"))


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  size, _, penalty = preset.partition("-")
  penalty = penalty or "sw"
  if penalty not in PENALTY_LAMBDA:
    raise ValueError(f"penalty suffix must be one of {sorted(PENALTY_LAMBDA)}, got {penalty!r}")
  c = base(size, method="wae")
  c.wae = ml_collections.ConfigDict(dict(penalty=penalty, lam=PENALTY_LAMBDA[penalty], prior="ball", prior_var=1.0,
                                         kernel="imq", kernel_scales=(1.0,), recon_weight=MNIST_PER_PIXEL,
                                         penalty_options=PENALTY_OPTIONS[penalty]))
  return c
