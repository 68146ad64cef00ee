"""WAE-MMD on MNIST (WAE paper, Algorithm 2; App. E hyper-parameters).

``--config experiments/configs/wae_mmd_mnist.py``: the CPU default (the same
topology at 1/16 width, 2,400 steps = 4 epochs: a few minutes on 2 cores).
``--config experiments/configs/wae_mmd_mnist.py:paper``: the paper's run (full
width, batch 100, 100 epochs, lr 1e-3 -> 5e-4 after 30 epochs -> 1e-4 after 50).
"""

import ml_collections


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  if preset not in ("cpu", "paper"):
    raise ValueError(f"preset must be 'cpu' or 'paper', got {preset!r}")
  paper = preset == "paper"
  c = ml_collections.ConfigDict()
  c.method = "wae"
  c.dataset = "mnist"
  c.seed = 0
  c.num_devices = 0  # 0: all local devices
  c.batch_size = 100
  c.num_steps = 60_000 if paper else 2_400  # 100 epochs of 600 steps
  c.log_every = 50
  c.eval_every = 6_000 if paper else 600
  c.num_eval_examples = 2_000
  c.checkpoint_every = 6_000 if paper else 600
  c.max_checkpoints = 3
  c.model = ml_collections.ConfigDict(dict(arch="mnist_conv", latent_dim=8, width=1.0 if paper else 0.0625))
  c.optim = ml_collections.ConfigDict(dict(lr=1e-3, b1=0.5, b2=0.999, decay_epochs=((30, 0.5), (50, 0.1))))
  c.wae = ml_collections.ConfigDict(dict(penalty="mmd", lam=10.0, kernel="imq", kernel_scales=(1.0,),
                                         prior_var=1.0, recon_weight=1.0))
  return c
