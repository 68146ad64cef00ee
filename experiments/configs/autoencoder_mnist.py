"""The first stage of the latent-space OT generators on MNIST / Fashion-MNIST, and the baselines
of the `mnist_latent_ot` table, all on the fully connected autoencoder of AE-OTgen / AE-OT
(``mnist_mlp``: 784-1024-512-256-8 and its mirror; the papers give no widths), latent 8.

Presets "METHOD-DATASET": METHOD "ae" (a deterministic autoencoder: a WAE with lambda 0, whose
frozen codes OTgen, OTtrans and AE-OT then model), "wae_mmd" (WAE-MMD, IMQ, lambda 10) or
"vae" (Bernoulli decoder); DATASET "mnist" or "fashion_mnist". Adam lr 1e-3 with the WAE
paper's MNIST schedule, batch 100, 12,000 steps (20 epochs: minutes on a CPU for these nets).
"""

import ml_collections

from ltot.configs import base, method_dataset, wae_section

METHODS = ("ae", "wae_mmd", "vae")
DATASETS = ("mnist", "fashion_mnist")
PRESETS = tuple(f"{m}-{d}" for m in METHODS for d in DATASETS)


def get_config(preset: str = "ae-mnist") -> ml_collections.ConfigDict:
  method, dataset = method_dataset(preset, METHODS, DATASETS)
  c = base("paper", method="vae" if method == "vae" else "wae", dataset=dataset, arch="mnist_mlp", latent_dim=8)
  c.num_steps = 12_000
  c.eval_every = c.checkpoint_every = 3_000
  if method == "vae":
    c.vae = ml_collections.ConfigDict(dict(likelihood="bernoulli", decoder_var=1.0, beta=1.0))
  else:
    c.wae = wae_section(lam=10.0 if method == "wae_mmd" else 0.0)
  return c
