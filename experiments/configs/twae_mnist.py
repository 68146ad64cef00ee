"""TWAE on MNIST (Gai & Zhang, Sec. 5.2): latent 8, uniform unit-ball prior, CVT
generators, LCM assignment, lambda 1 for SW (1000 directions) and 0.01 for GW, Adam.

Presets "SIZE-PENALTY[-VARIANT]", PENALTY "sw" or "gw", VARIANT "r" (Algorithm 3, alpha 0.2),
"e8" (241 E8 regions), "cvt241" (241 CVT regions, the E8 comparison), "exact"
(balanced_assignment instead of LCM). Default: "cpu-sw". SIZE:
- "m100", "m200", "m400": the paper's MNIST tessellations (Table 3, Fig. 6) at 1/16 width: N =
  10,000 points per round in m regions of n = N / m, with the TWAE authors' settings where the
  paper is silent (Adam lr 1e-4, betas (0.9, 0.999), constant; BatchNorm frozen after the first
  round) and 6,000 region updates (``ltot.configs.TESSELLATION_CPU_UPDATES``). Their WAE
  baselines (batch n) are wae_sw_mnist.py's presets of the same name.
- "paper": full width, N = 10000, m = 100, n = 100, 600 rounds = 60,000 updates = 100 epochs,
  the authors' optimiser and BatchNorm policy.
- "cpu": the settings of the `mnist_wae_twae` table, kept as its record: 1/16 width, N = 1000
  points per round in m = 10 regions of n = 100 (E8 and CVT-241: n = 20), 2,400 updates, the WAE
  paper's optimiser and schedule, BatchNorm in train mode on every region batch.
The reconstruction term is the per-pixel mean squared error (recon_weight 1/784 of WAE's
c(x, y) = |x - y|^2): the paper's Algorithm 1 leaves the normalisation open, and it sets how
strong lambda is. Under the per-image sum (``--config.twae.recon_weight=1``) the same lambda
weighs 784 times less and the latents stay off the ball: FID 675-875 against 155-180 in
experiments/results/mnist_wae_twae*.md.
"""

import ml_collections

from ltot.configs import (MNIST_PER_PIXEL, TESSELLATION_POINTS, TESSELLATION_SIZES, TWAE_AUTHORS_BN,
                          TWAE_AUTHORS_OPTIM, base, tessellation_size, twae_section)

PENALTIES = ("sw", "gw")
VARIANTS = ("", "r", "e8", "cvt241", "exact")
SIZES = ("cpu", "paper", *TESSELLATION_SIZES)
PRESETS = tuple(f"{size}-{p}" + (f"-{v}" if v else "") for size in SIZES for p in PENALTIES for v in VARIANTS
                if size in ("cpu", "paper") or v in ("", "r"))


def get_config(preset: str = "cpu-sw") -> ml_collections.ConfigDict:
  size, penalty, variant = (preset.split("-") + ["", ""])[:3]
  if size not in SIZES or penalty not in PENALTIES or variant not in VARIANTS:
    raise ValueError(f"preset must be SIZE-PENALTY[-VARIANT] with SIZE in {SIZES}, PENALTY in {PENALTIES} and "
                     f"VARIANT in {VARIANTS[1:]}, got {preset!r}")
  if size in TESSELLATION_SIZES:
    if variant not in ("", "r"):
      raise ValueError(f"the {size} presets have the variants 'r' or none, got {preset!r}")
    c, regions = tessellation_size(size, method="twae")
    c.batch_size = TESSELLATION_POINTS
    bn_policy = TWAE_AUTHORS_BN
  else:
    paper = size == "paper"
    c = base(size, method="twae")
    regions = 241 if variant in ("e8", "cvt241") else (100 if paper else 10)
    c.batch_size = regions * (100 if paper or regions == 10 else 20)  # N, the points of one assignment round
    # Steps are region updates (m per round of N points), as many as the base's batch-100 steps.
    c.num_steps = 60_000 if paper else 2_400
    bn_policy = TWAE_AUTHORS_BN if paper else "train"
    if paper:
      c.optim = ml_collections.ConfigDict(dict(TWAE_AUTHORS_OPTIM))
  c.twae = twae_section(penalty, regions, tessellation="e8" if variant == "e8" else "cvt",
                        assign="exact" if variant == "exact" else "lcm", alpha=0.2 if variant == "r" else 0.0,
                        recon_weight=MNIST_PER_PIXEL, bn_policy=bn_policy)
  return c
