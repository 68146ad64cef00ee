"""TWAE on MNIST (Gai & Zhang, Sec. 5.2): latent 8, uniform unit-ball prior, CVT
generators, LCM assignment, lambda 1 for SW (1000 directions) and 0.01 for GW, Adam.

Presets "SIZE-PENALTY[-VARIANT]": SIZE "cpu" (1/16 width; N = 1000 points per round
in m = 10 regions of n = 100, 240 rounds = 2,400 updates; E8 and CVT-241: n = 20) or "paper" (full width,
N = 10000, m = 100, n = 100, 600 rounds = 60,000 updates = 100 epochs); PENALTY "sw" or "gw"; VARIANT
"r" (Algorithm 3, alpha 0.2), "e8" (241 E8 regions), "cvt241" (241 CVT regions, the E8
comparison), "exact" (balanced_assignment instead of LCM). Default: "cpu-sw".
The paper does not give TWAE's MNIST learning rate or epochs: ltot uses the WAE paper's.
The reconstruction term is the per-pixel mean squared error (recon_weight 1/784 of WAE's
c(x, y) = |x - y|^2): the paper's Algorithm 1 leaves the normalisation open, and it sets how
strong lambda is. Under the per-image sum (``--config.twae.recon_weight=1``) the same lambda
weighs 784 times less and the latents stay off the ball: FID 675-875 against 155-180 in
experiments/results/mnist_wae_twae*.md.
"""

import ml_collections

from ltot.configs import MNIST_PER_PIXEL, base, twae_section

PENALTIES = ("sw", "gw")
VARIANTS = ("", "r", "e8", "cvt241", "exact")
PRESETS = tuple(f"{size}-{p}" + (f"-{v}" if v else "") for size in ("cpu", "paper") for p in PENALTIES
                for v in VARIANTS)


def get_config(preset: str = "cpu-sw") -> ml_collections.ConfigDict:
  size, penalty, variant = (preset.split("-") + ["", ""])[:3]
  if penalty not in PENALTIES or variant not in VARIANTS:
    raise ValueError(f"preset must be SIZE-PENALTY[-VARIANT] with PENALTY in {PENALTIES} and VARIANT in "
                     f"{VARIANTS[1:]}, got {preset!r}")
  paper = size == "paper"
  c = base(size, method="twae")
  regions = 241 if variant in ("e8", "cvt241") else (100 if paper else 10)
  per_region = 100 if paper or regions == 10 else 20
  c.batch_size = regions * per_region  # N, the points of one assignment round
  # Steps are region updates (m per round of N points), as many as the base's batch-100 steps.
  c.num_steps = 60_000 if paper else 2_400
  c.twae = twae_section(penalty, regions, tessellation="e8" if variant == "e8" else "cvt",
                        assign="exact" if variant == "exact" else "lcm", alpha=0.2 if variant == "r" else 0.0,
                        recon_weight=MNIST_PER_PIXEL)
  return c
