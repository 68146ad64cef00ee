"""OTgen, OTtrans and AE-OT on the frozen codes of an ltot autoencoder (the second stage).

  ltot train --config experiments/configs/latent_ot.py:otgen-mnist \
      --config.ot_gen.autoencoder=RUN_DIR --workdir DIR          (ae_ot presets: --config.ae_ot.autoencoder)

RUN_DIR is any ``ltot train`` run of an autoencoder (e.g. autoencoder_mnist.py:ae-mnist); the
train split is encoded once, the map is trained on the codes, and samples are decoded by the
frozen decoder. Presets "METHOD-DATASET":
- METHOD "otgen" / "ottrans": the AE-OTgen paper's map, an MLP of 7 layers (6 x 512 LeakyReLU
  and a linear output) from unif(-1, 1)^d noise, Adam lr 3e-4, lambda 0, batch 128 (CelebA
  OTgen: batch 4096, the paper's). OTtrans matches ``num_pairs`` = 10,000 noise draws to as many
  codes once (the paper matches the whole set; a 60,000^2 exact matching does not fit in memory).
- METHOD "ae_ot": ltot's AE-OT (a stronger setting than either paper's): the potential 4 x 512
  ReLU, source N(0, I), Adam lr 1e-3 with betas (0.5, 0.999), lambda 0, batch 1,000 codes against
  1,000 noise draws per dual solve.
- METHOD "ae_ot_otgen_baseline": the AE-OT baseline of the AE-OTgen paper's table (its MNIST score
  6.89): lambda 0.1 and batch 128, the rest as "ae_ot".
- METHOD "ae_ot_paper": the AE-OT paper's own MNIST setting (Sec. 4): lambda 0.1, a potential of
  6 x 512 LeakyReLU (slope 0.2) layers, Adam lr 1e-4 with betas (0.5, 0.999); the paper does not
  give its batch (1,000 here) and runs 200,000 iterations (10,000 here, as every second stage;
  ``--config.num_steps`` to change).
All three fix the duals' free constant (the mean of h_y is 0); the papers do not say.
Every preset: ``solver`` "auto" (``ltot.ot.transport``: the auction on CPUs, SciPy on the host for
small problems on accelerators); "auction" or "host" to force one.
- DATASET "mnist", "fashion_mnist" (latent 8, 10,000 steps) or "celeb_a" (latent 64,
  20,000 steps).
"""

import ml_collections

from ltot.configs import base, method_dataset

METHODS = ("otgen", "ottrans", "ae_ot", "ae_ot_otgen_baseline", "ae_ot_paper")
DATASETS = ("mnist", "fashion_mnist", "celeb_a")
PRESETS = tuple(f"{m}-{d}" for m in METHODS for d in DATASETS)


def get_config(preset: str = "otgen-mnist") -> ml_collections.ConfigDict:
  method, dataset = method_dataset(preset, METHODS, DATASETS)
  celeba = dataset == "celeb_a"
  latent = 64 if celeba else 8
  ae_ot = method.startswith("ae_ot")
  c = base("paper", method="ae_ot" if ae_ot else "ot_gen", dataset=dataset)
  del c.model, c.optim  # the map's net and optimiser live in its own section
  c.num_steps = 20_000 if celeba else 10_000
  c.eval_every = c.checkpoint_every = 2_500
  if ae_ot:
    c.batch_size = 1_000
    c.ae_ot = ml_collections.ConfigDict(dict(lam=0.0, code_dim=latent, hidden=(512,) * 4, activation="relu",
                                             lr=1e-3, b1=0.5, b2=0.999, autoencoder="",
                                             solver="auto"))
    if method == "ae_ot_otgen_baseline":
      c.ae_ot.lam, c.batch_size = 0.1, 128
    elif method == "ae_ot_paper":
      c.ae_ot.update(dict(lam=0.1, hidden=(512,) * 6, activation="leaky_relu", lr=1e-4))
  else:
    c.batch_size = 4_096 if celeba and method == "otgen" else 128
    c.ot_gen = ml_collections.ConfigDict(dict(variant=method, lam=0.0, noise="uniform", noise_dim=latent,
                                              code_dim=latent, hidden=(512,) * 6, activation="leaky_relu",
                                              lr=3e-4, b1=0.9, b2=0.999, autoencoder="", num_pairs=10_000,
                                              solver="auto"))
  return c
