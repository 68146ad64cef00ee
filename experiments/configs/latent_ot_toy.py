"""OTgen, OTtrans and AE-OT directly on 2-D data (no autoencoder), the papers' toy protocols.

Presets "METHOD-DATASET":
- METHOD "otgen" / "ottrans" (AE-OTtrans/AE-OTgen paper, toy section): an MLP of 4 x 512
  LeakyReLU layers from unif(-1, 1)^2 noise, Adam lr 3e-4, batch 128, 10k steps, lambda 0.
- METHOD "ae_ot" (AE-OT paper, Sec. 5.1): a potential D, MLP of 4 x 512 ReLU layers, source
  N(0, I), lambda 0, Adam lr 1e-2 with betas (0.5, 0.999), 10k iterations; each iteration
  solves eq. 14 between a fresh noise batch and the whole target set (batch = num_train).
- DATASET "moons", "circles" (ltot.data, noise std ``toy_noise``) or "eight_gaussians" (centres at
  radius 10, sigma^2 = 1, 32 points each: num_train 256).

``num_train``: the fixed training set drawn once from the seed (the papers do not state it for
moons and circles; ltot uses 2,000, which keeps OTtrans's one 2,000 x 2,000 matching cheap).
Trained by experiments/reproduce/toy_ot_generators.py with ``ltot.train.train``.
"""

import ml_collections

from ltot.configs import method_dataset

METHODS = ("otgen", "ottrans", "ae_ot")
DATASETS = ("moons", "circles", "eight_gaussians")
PRESETS = tuple(f"{m}-{d}" for m in METHODS for d in DATASETS)


def get_config(preset: str = "otgen-moons") -> ml_collections.ConfigDict:
  method, dataset = method_dataset(preset, METHODS, DATASETS)
  c = ml_collections.ConfigDict()
  c.dataset = dataset
  c.toy_noise = 0.05  # moons / circles: std of the Gaussian noise added to the curves
  c.num_train = 256 if dataset == "eight_gaussians" else 2_000
  c.seed = 0
  c.num_devices = 1
  c.num_steps = 10_000
  c.log_every = 500
  c.eval_every = 0
  c.num_eval_examples = 1
  c.checkpoint_every = 10_000
  c.max_checkpoints = 1
  c.nonfinite = "stop"
  if method == "ae_ot":
    c.method = "ae_ot"
    c.batch_size = c.num_train
    c.ae_ot = ml_collections.ConfigDict(dict(lam=0.0, code_dim=2, hidden=(512,) * 4, activation="relu",
                                             lr=1e-2, b1=0.5, b2=0.999, autoencoder=""))
  else:
    c.method = "ot_gen"
    c.batch_size = 128
    c.ot_gen = ml_collections.ConfigDict(dict(variant=method, lam=0.0, noise="uniform", noise_dim=2, code_dim=2,
                                              hidden=(512,) * 4, activation="leaky_relu", lr=3e-4, b1=0.9,
                                              b2=0.999, autoencoder="", num_pairs=0))
  return c
