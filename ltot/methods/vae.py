"""The VAE baseline of the WAE paper (Kingma & Welling, 2014).

Gaussian encoder q(z|x) = N(mu(x), diag exp(logvar(x))), standard normal prior,
and a Bernoulli decoder (MNIST: cross-entropy of the pixel intensities) or a
Gaussian one with fixed variance (CelebA). Loss: the negative ELBO per example,
mean_i [-log p(x_i | z_i) + beta * KL(q(z|x_i) || N(0, I))] with one reparametrised
z_i per example. Every term is a per-example mean, so averaging device gradients
gives the whole batch's; the noise is drawn for the whole batch from the shared key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from ltot.data.pipeline import to_unit_float
from ltot.methods.autoencoder import AutoencoderMethod, per_example_sum
from ltot.nn import make_autoencoder, model_options
from ltot.train.parallel import AXIS, device_share
from ltot.train.state import TrainState, adam_with_schedule, apply_loss

__all__ = ["LIKELIHOODS", "VAE", "from_config"]

LIKELIHOODS = ("bernoulli", "gaussian")


def gaussian_kl(mean: jnp.ndarray, logvar: jnp.ndarray) -> jnp.ndarray:
  """KL(N(mean, diag exp(logvar)) || N(0, I)) per row [n] of mean, logvar [n, d]."""
  return 0.5 * jnp.sum(mean**2 + jnp.exp(logvar) - 1.0 - logvar, axis=-1)


@dataclasses.dataclass(frozen=True)
class VAE(AutoencoderMethod):
  """VAE; implements ``ltot.train.Method``. The autoencoder's encoder must have ``outputs=2``.

  Attributes (besides ``AutoencoderMethod``'s; the prior is N(0, I)):
    likelihood: "bernoulli" or "gaussian".
    decoder_var: the Gaussian decoder's fixed variance.
    beta: weight of the KL term (1: the ELBO).
  """

  likelihood: str = "bernoulli"
  decoder_var: float = 1.0
  beta: float = 1.0

  def __post_init__(self):
    super().__post_init__()
    if self.prior != "gaussian" or self.prior_var != 1.0:
      raise ValueError("the VAE's prior is N(0, I): prior must be 'gaussian' with prior_var 1")
    if self.likelihood not in LIKELIHOODS:
      raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
    if not self.decoder_var > 0 or self.beta < 0:
      raise ValueError(f"need decoder_var > 0 and beta >= 0; got {self.decoder_var}, {self.beta}")
    if self.likelihood == "bernoulli" and self.autoencoder.output != "sigmoid":
      raise ValueError(f"the Bernoulli likelihood needs data in [0, 1] (a sigmoid output), but the decoder's "
                       f"output is {self.autoencoder.output!r}: use likelihood='gaussian'")

  def negative_log_likelihood(self, logits: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """-log p(x | z) per example [n] from decoder outputs [n, *image_shape] (constants dropped for "gaussian")."""
    if self.likelihood == "bernoulli":  # cross-entropy, stable in the logits
      return per_example_sum(jax.nn.softplus(logits) - x * logits)
    return self.squared_error(logits, x) / (2.0 * self.decoder_var)

  def loss(self, params, stats, x: jnp.ndarray, rng: jax.Array):
    """(loss, (metrics, new_stats)) on this device's images x in [0, 1], under the named axis AXIS."""
    out, enc_stats = self.encoder_outputs(params, stats, x, True)
    mean, logvar = out[:, :self.latent_dim], out[:, self.latent_dim:]
    noise = device_share(lambda k, n: jax.random.normal(k, (n, self.latent_dim)), rng, x.shape[0])
    z = mean + jnp.exp(0.5 * logvar) * noise
    logits, dec_stats = self.decoder_logits(params, stats, z, True)
    nll = jnp.mean(self.negative_log_likelihood(logits, x))
    kl = jnp.mean(gaussian_kl(mean, logvar))
    new_stats = {"encoder": enc_stats["batch_stats"], "decoder": dec_stats["batch_stats"]}
    return nll + self.beta * kl, ({"nll": nll, "kl": kl}, new_stats)

  def train_step(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    x = to_unit_float(batch["x"])
    return apply_loss(state, lambda p, s: self.loss(p, s, x, rng))

  def evaluate(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, Any]:
    x = to_unit_float(batch["x"])
    out = self.encoder_outputs(state.params, state.batch_stats, x, False)[0]
    mean, logvar = out[:, :self.latent_dim], out[:, self.latent_dim:]
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mean.shape)
    logits = self.decoder_logits(state.params, state.batch_stats, z, False)[0]
    nll = self.negative_log_likelihood(logits, x)
    kl = gaussian_kl(mean, logvar)
    return {**self.reconstruction_metrics(state, x), "neg_elbo": jnp.mean(nll + kl), "kl": jnp.mean(kl)}


def from_config(config, steps_per_epoch: int) -> VAE:
  """Builds a VAE from a run config (sections ``model``, ``optim``, ``vae``)."""
  ae = make_autoencoder(config.model.arch, config.model.latent_dim, width=config.model.width, outputs=2,
                        axis_name=AXIS, **model_options(config.model))
  o, v = config.optim, config.vae
  tx = adam_with_schedule(o.lr, o.b1, o.b2, steps_per_epoch, dict(o.decay_epochs))
  return VAE(ae, tx, config.model.latent_dim, likelihood=v.likelihood, decoder_var=v.decoder_var, beta=v.beta)
