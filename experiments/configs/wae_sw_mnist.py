"""WAE with a sliced penalty on MNIST, TWAE's non-tessellated baselines (TWAE Sec. 5.2):
uniform unit-ball prior, latent 8, lambda 1 for SW (1000 directions) and 0.01 for GW;
"gw", "dsw", "gsw", "max_sw" via the preset or --config.wae.penalty=...

Presets: "cpu" (default) and "paper" (see ``ltot.configs``), each optionally with a
penalty suffix: ``wae_sw_mnist.py:paper-gw``.
"""

import ml_collections

from ltot.configs import base

LAMBDA = {"sw": 1.0, "max_sw": 1.0, "gw": 0.01, "gsw": 0.01, "dsw": 0.01}  # TWAE Sec. 5.2
PRESETS = tuple(f"{size}-{p}" for size in ("cpu", "paper") for p in ("sw", "gw", "dsw", "gsw", "max_sw"))
OPTIONS = {"sw": {"num_projections": 1000}, "gsw": {"num_projections": 1000},
           "dsw": {"num_projections": 1000, "num_iters": 10}, "max_sw": {"num_iters": 10}, "gw": {}}


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  size, _, penalty = preset.partition("-")
  penalty = penalty or "sw"
  if penalty not in LAMBDA:
    raise ValueError(f"penalty suffix must be one of {sorted(LAMBDA)}, got {penalty!r}")
  c = base(size, method="wae")
  c.wae = ml_collections.ConfigDict(dict(penalty=penalty, lam=LAMBDA[penalty], prior="ball", prior_var=1.0,
                                         kernel="imq", kernel_scales=(1.0,), recon_weight=1.0,
                                         penalty_options=OPTIONS[penalty]))
  return c
