"""WAE with a sliced penalty on MNIST, TWAE's non-tessellated baselines (TWAE Sec. 5.2):
uniform unit-ball prior, latent 8, lambda 1 for SW (1000 directions) and 0.01 for GW;
"gw", "dsw", "gsw", "max_sw" via the preset or --config.wae.penalty=...

Presets "SIZE[-PENALTY]" (default "cpu", penalty "sw"): SIZE "cpu" and "paper" (see
``ltot.configs``), or "m100" / "m200" / "m400": the baseline of twae_mnist.py's preset of the
same name (Table 4 / Fig. 6 of the TWAE paper): batch N / m = 100 / 50 / 25, the TWAE authors'
optimiser and as many updates as the TWAE run. Reconstruction: the per-pixel mean, as in
twae_mnist.py (whose docstring says why).
"""

import ml_collections

from ltot.configs import (MNIST_PER_PIXEL, PENALTY_LAMBDA, PENALTY_OPTIONS, TESSELLATION_POINTS, TESSELLATION_SIZES,
                          base, tessellation_size, wae_section)

SIZES = ("cpu", "paper", *TESSELLATION_SIZES)
PRESETS = tuple(f"{size}-{p}" for size in SIZES for p in ("sw", "gw", "dsw", "gsw", "max_sw")
                if size in ("cpu", "paper") or p in ("sw", "gw"))


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  size, _, penalty = preset.partition("-")
  penalty = penalty or "sw"
  if penalty not in PENALTY_LAMBDA:
    raise ValueError(f"penalty suffix must be one of {sorted(PENALTY_LAMBDA)}, got {penalty!r}")
  if size in TESSELLATION_SIZES:
    c, regions = tessellation_size(size, method="wae")
    c.batch_size = TESSELLATION_POINTS // regions
  else:
    c = base(size, method="wae")
  c.wae = wae_section(penalty=penalty, lam=PENALTY_LAMBDA[penalty], prior="ball", recon_weight=MNIST_PER_PIXEL,
                      penalty_options=PENALTY_OPTIONS[penalty])
  return c
