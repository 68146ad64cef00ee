"""TWAE on CelebA and LSUN-Bedrooms (Gai & Zhang, Sec. 5.2-5.7, Tables 2-5).

Presets "ARCH-PENALTY[-r][-mM]":
  ARCH "a" (architecture A, = WAE's CelebA nets) or "b" (half width, conv head), latent 64;
  or "lsun" (architecture A, latent 128, LSUN-Bedrooms, Table 5);
  PENALTY "sw", "gw" (CelebA) or "sw", "gsw", "dsw", "max_sw" (LSUN), with the paper's lambda;
  "-r": Algorithm 3 with alpha 0.2 (Table 4); "-m200" / "-m400": 200 or 400 regions
  (Table 3; default 100), N = 10000 points per round, so n = 100, 50 or 25 per region.
The paper gives no CelebA/LSUN learning rate or epochs; ltot uses the WAE paper's CelebA
schedule (Adam lr 1e-4, x0.5 after 30 epochs, x0.1 after 50, 55 epochs of 100-image updates)
and, for LSUN's ~3M images, 2 epochs. These datasets cannot be downloaded on ltot's build
machines; the tests train every preset two steps on synthetic images.
"""

import ml_collections

from ltot.configs import base, celeba_schedule, twae_section

PRESETS = ("a-sw", "a-gw", "b-sw", "b-gw", "b-sw-r", "b-gw-r", "b-sw-m200", "b-sw-m400",
           "lsun-sw", "lsun-gsw", "lsun-dsw", "lsun-max_sw")
LSUN_TRAIN = 3_033_042  # images in TFDS's lsun/bedroom train split


def get_config(preset: str = "a-sw") -> ml_collections.ConfigDict:
  if preset not in PRESETS:
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
  arch, penalty, *variants = preset.split("-")
  lsun = arch == "lsun"
  c = base("paper", method="twae", dataset="lsun/bedroom" if lsun else "celeb_a",
           arch="celeba_b" if arch == "b" else "celeba_a", latent_dim=128 if lsun else 64)
  regions = next((int(v[1:]) for v in variants if v.startswith("m")), 100)
  c.batch_size = 10_000  # N
  celeba_schedule(c, 55, per_step=c.batch_size // regions)
  if lsun:
    c.num_steps = 2 * (LSUN_TRAIN // 100)
  c.twae = twae_section(penalty, regions, alpha=0.2 if "r" in variants else 0.0)
  return c
