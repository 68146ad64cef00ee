"""WAE-MMD on MNIST (WAE paper, Algorithm 2; App. E hyper-parameters).

``--config experiments/configs/wae_mmd_mnist.py``: the CPU default (the same
topology at 1/16 width, 2,400 steps = 4 epochs: a few minutes on 2 cores).
``--config experiments/configs/wae_mmd_mnist.py:paper``: the paper's run (full
width, batch 100, 100 epochs, lr 1e-3 -> 5e-4 after 30 epochs -> 1e-4 after 50).
"""

import ml_collections

from ltot.configs import base, wae_section


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  c = base(preset, method="wae")
  c.wae = wae_section()
  return c
