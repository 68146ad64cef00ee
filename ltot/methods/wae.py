"""Wasserstein auto-encoders (Tolstikhin et al., 2018) with any latent penalty.

Loss: ``recon_weight * mean_i |x_i - G(Q(x_i))|^2 + lambda * D(Q_z, P_z)`` with a
deterministic encoder Q, decoder G and prior P_z (Gaussian, or the unit ball of TWAE).

- ``penalty="mmd"``: WAE-MMD (Algorithm 2), IMQ or RBF kernel with C = 2 d sigma_z^2,
  optionally summed over several multiples of C.
- ``penalty="gan"``: WAE-GAN (Algorithm 1): a latent discriminator D ascends
  lambda * mean[log D(z_prior) + log(1 - D(z_encoded))]; the autoencoder uses the
  non-saturating "log trick" -lambda * mean log D(z_encoded). Both updates happen in
  one step (the discriminator's own learning rate via optax.multi_transform).
- ``penalty`` in {"sw", "max_sw", "dsw", "gsw", "gw"}: any ``ltot.discrepancy``
  (SWAE-style sliced penalties; "gw" is TWAE's Gaussian W2, eq. 4).

Data parallelism: the reconstruction and GAN terms are per-example means, so
averaging the devices' gradients gives the whole batch's. Sample-based penalties
need the whole batch: each device gathers every device's codes and draws the
whole batch's prior sample from the shared step key. Gradients flowing back
through the gather are summed over devices (the transpose of all_gather), which
the final pmean turns into the whole-batch gradient: N devices give the 1-device step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import optax

from ltot import discrepancy
from ltot.data.pipeline import to_unit_float
from ltot.methods.autoencoder import AutoencoderMethod
from ltot.nn import MLP, init_variables, make_autoencoder, model_options
from ltot.train.parallel import AXIS, device_share, gather
from ltot.train.state import TrainState, adam_with_schedule, apply_loss

__all__ = ["WAE", "PENALTIES", "from_config", "latent_penalty"]

PENALTIES = tuple(sorted(discrepancy.DISCREPANCIES)) + ("gan",)


def latent_penalty(name: str, z: jnp.ndarray, z_prior: jnp.ndarray, rng: jax.Array,
                   options: Mapping[str, Any]) -> jnp.ndarray:
  """D(z, z_prior) for a sample-based penalty ``name`` of ``ltot.discrepancy`` with keyword ``options``."""
  return discrepancy.DISCREPANCIES[name](z, z_prior, rng=rng, **options)


@dataclasses.dataclass(frozen=True)
class WAE(AutoencoderMethod):
  """WAE; implements ``ltot.train.Method``.

  Attributes (besides ``AutoencoderMethod``'s):
    lam: lambda (WAE paper: 10 for MMD, 1 for GAN; TWAE paper: 1 for SW, 0.01 for GW/GSW/DSW).
    penalty: one of ``PENALTIES``.
    penalty_options: keyword arguments of the discrepancy, as (name, value) pairs (e.g.
      (("num_projections", 1000),) for "sw"). For "mmd", ``kernel`` and ``kernel_scales``
      set the kernel and C = 2 d sigma_z^2 times each scale.
    kernel, kernel_scales: the MMD kernel ("imq" or "rbf") and the multiples of C summed.
    recon_weight: multiplier of the reconstruction cost (the paper: 1; the WAE authors'
      MNIST code: 0.05).
    disc_hidden: widths of the WAE-GAN discriminator's hidden layers (paper: 4 x 512).
  """

  lam: float = 10.0
  penalty: str = "mmd"
  penalty_options: tuple[tuple[str, Any], ...] = ()
  kernel: str = "imq"
  kernel_scales: tuple[float, ...] = (1.0,)
  recon_weight: float = 1.0
  disc_hidden: tuple[int, ...] = (512, 512, 512, 512)

  def __post_init__(self):
    super().__post_init__()
    if self.penalty not in PENALTIES:
      raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
    if self.kernel not in ("imq", "rbf"):
      raise ValueError(f"kernel must be 'imq' or 'rbf', got {self.kernel!r}")
    if self.lam < 0 or self.recon_weight <= 0:
      raise ValueError(f"need lam >= 0 and recon_weight > 0; got lam={self.lam}, recon_weight={self.recon_weight}")
    if not self.kernel_scales or min(self.kernel_scales) <= 0:
      raise ValueError(f"kernel_scales must be positive numbers, got {self.kernel_scales}")

  @property
  def discriminator(self) -> MLP:
    return MLP(self.disc_hidden, 1)

  def extra_params(self, rng: jax.Array) -> dict[str, Any]:
    if self.penalty != "gan":
      return {}
    return {"discriminator": init_variables(self.discriminator, rng, jnp.zeros((1, self.latent_dim)))["params"]}

  def penalty_kwargs(self) -> dict[str, Any]:
    if self.penalty == "mmd":
      scale = 2.0 * self.latent_dim * self.prior_var
      return {"kernel": self.kernel, "scale": tuple(scale * s for s in self.kernel_scales)}
    return dict(self.penalty_options)

  def sample_penalty(self, z: jnp.ndarray, z_prior: jnp.ndarray, rng: jax.Array) -> jnp.ndarray:
    """The sample-based penalty D(z, z_prior) (not for "gan")."""
    return latent_penalty(self.penalty, z, z_prior, rng, self.penalty_kwargs())

  def _gan_terms(self, params, z, z_prior):
    """(autoencoder's -mean log D(z), discriminator's loss); each gets only its own gradient."""
    disc = lambda p, v: self.discriminator.apply({"params": p}, v)[:, 0]  # noqa: E731 (logits)
    frozen = jax.lax.stop_gradient(params["discriminator"])
    generator = jnp.mean(jax.nn.softplus(-disc(frozen, z)))  # -log sigmoid(logit)
    fake = disc(params["discriminator"], jax.lax.stop_gradient(z))
    real = disc(params["discriminator"], z_prior)
    disc_loss = jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))  # -log D(real) - log(1 - D(fake))
    return generator, disc_loss

  def loss(self, params, stats, x: jnp.ndarray, rng: jax.Array):
    """(loss, (metrics, new_stats)) on this device's images x [n, H, W, C] in [0, 1].

    Runs under a mapped axis named ``AXIS`` (pmap, or vmap for one batch).
    """
    z, enc_stats = self.encoder_outputs(params, stats, x, True)
    logits, dec_stats = self.decoder_logits(params, stats, z, True)
    recon = jnp.mean(self.squared_error(logits, x))
    prior_rng, penalty_rng = jax.random.split(rng)
    metrics = {"recon": recon}
    if self.penalty == "gan":
      z_prior = device_share(self.sample_prior, prior_rng, z.shape[0])
      penalty, disc_loss = self._gan_terms(params, z, z_prior)
      loss = self.recon_weight * recon + self.lam * (penalty + disc_loss)
      metrics["disc_loss"] = disc_loss
    else:
      z_all = gather(z)
      penalty = self.sample_penalty(z_all, self.sample_prior(prior_rng, z_all.shape[0]), penalty_rng)
      loss = self.recon_weight * recon + self.lam * penalty
    new_stats = {"encoder": enc_stats["batch_stats"], "decoder": dec_stats["batch_stats"]}
    return loss, ({**metrics, "penalty": penalty}, new_stats)

  def train_step(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    x = to_unit_float(batch["x"])
    return apply_loss(state, lambda p, s: self.loss(p, s, x, rng))

  def evaluate(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, Any]:
    x = to_unit_float(batch["x"])
    z = self.encode(state, x)
    z_prior = self.sample_prior(rng, z.shape[0])
    out = {**self.reconstruction_metrics(state, x), **self.prior_fit(z)}
    if self.penalty == "gan":
      out["latent_mmd"] = discrepancy.mmd(z, z_prior, scale=2.0 * self.latent_dim * self.prior_var)
    else:
      out["latent_" + self.penalty] = self.sample_penalty(z, z_prior, rng)
    return out


def from_config(config, steps_per_epoch: int) -> WAE:
  """Builds a WAE from a run config (sections ``model``, ``optim``, ``wae``: ``ltot.configs.wae_section``)."""
  ae = make_autoencoder(config.model.arch, config.model.latent_dim, width=config.model.width, axis_name=AXIS,
                        **model_options(config.model))
  o, w = config.optim, config.wae
  tx = adam_with_schedule(o.lr, o.b1, o.b2, steps_per_epoch, dict(o.decay_epochs))
  if w.penalty == "gan":  # the discriminator has its own Adam (WAE paper: lr 5e-4 on MNIST)
    disc_tx = adam_with_schedule(w.disc_lr, o.b1, o.b2, steps_per_epoch, dict(o.decay_epochs))
    tx = optax.multi_transform({"ae": tx, "disc": disc_tx},
                               lambda params: {k: ("disc" if k == "discriminator" else "ae") for k in params})
  return WAE(ae, tx, config.model.latent_dim, prior=w.prior, prior_var=w.prior_var, lam=w.lam, penalty=w.penalty,
             penalty_options=tuple(sorted(dict(w.penalty_options).items())), kernel=w.kernel,
             kernel_scales=tuple(w.kernel_scales), recon_weight=w.recon_weight, disc_hidden=tuple(w.disc_hidden))
