"""Wasserstein auto-encoders (Tolstikhin et al., 2018).

WAE-MMD (Algorithm 2): deterministic encoder Q, decoder G, loss
``mean_i c(x_i, G(Q(x_i))) + lambda * MMD_k(Q_z, P_z)`` with c = |x - y|_2^2 over
pixels and k the IMQ kernel with C = 2 d sigma_z^2 (optionally summed over several
multiples of C, or RBF).

Data parallelism: the reconstruction term is a per-example mean, so averaging the
devices' gradients gives the whole batch's; the MMD is a U-statistic over the whole
batch, so each device gathers every device's codes and draws the whole batch's
prior sample from the shared step key. Gradients flowing back through the gather
are summed over devices (the transpose of all_gather), which the final pmean turns
into the whole-batch gradient: N devices give the 1-device step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import optax

from ltot import discrepancy
from ltot.nn import Autoencoder, make_autoencoder
from ltot.train.state import AXIS, TrainState, adam_with_schedule, apply_loss

__all__ = ["WAE", "PENALTIES", "from_config"]

PENALTIES = ("mmd",)


@dataclasses.dataclass(frozen=True)
class WAE:
  """WAE with a latent penalty; implements ``ltot.train.Method``.

  Attributes:
    autoencoder: encoder/decoder pair (deterministic encoder, ``outputs=1``), built
      with ``axis_name=AXIS`` so BatchNorm statistics cover the whole batch.
    tx: optimiser for the encoder and decoder parameters.
    latent_dim: d.
    lam: lambda, the penalty weight (the paper: 10).
    penalty: the latent discrepancy, one of ``PENALTIES``.
    kernel: MMD kernel, "imq" or "rbf".
    kernel_scales: multiples of C = 2 d sigma_z^2 whose kernels are summed.
    prior_var: sigma_z^2 of the Gaussian prior N(0, sigma_z^2 I).
    recon_weight: multiplier of the reconstruction cost (the paper: 1; the
      authors' code uses 0.05 for MNIST).
  """

  autoencoder: Autoencoder
  tx: optax.GradientTransformation
  latent_dim: int
  lam: float = 10.0
  penalty: str = "mmd"
  kernel: str = "imq"
  kernel_scales: tuple[float, ...] = (1.0,)
  prior_var: float = 1.0
  recon_weight: float = 1.0

  def __post_init__(self):
    if self.penalty not in PENALTIES:
      raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
    if self.kernel not in ("imq", "rbf"):
      raise ValueError(f"kernel must be 'imq' or 'rbf', got {self.kernel!r}")
    if self.lam < 0 or self.prior_var <= 0 or self.recon_weight <= 0:
      raise ValueError(f"need lam >= 0, prior_var > 0, recon_weight > 0; got lam={self.lam}, "
                       f"prior_var={self.prior_var}, recon_weight={self.recon_weight}")
    if not self.kernel_scales or min(self.kernel_scales) <= 0:
      raise ValueError(f"kernel_scales must be positive numbers, got {self.kernel_scales}")

  # -- pieces ---------------------------------------------------------------
  def sample_prior(self, rng: jax.Array, num: int) -> jnp.ndarray:
    """[num, d] draws from N(0, sigma_z^2 I)."""
    return jnp.sqrt(self.prior_var) * jax.random.normal(rng, (num, self.latent_dim))

  def latent_penalty(self, z: jnp.ndarray, z_prior: jnp.ndarray, rng: jax.Array) -> jnp.ndarray:
    scale = 2.0 * self.latent_dim * self.prior_var
    return discrepancy.mmd(z, z_prior, rng=rng, kernel=self.kernel,
                           scale=tuple(scale * s for s in self.kernel_scales))

  def _apply(self, module, params, stats, x, train: bool):
    variables = {"params": params, "batch_stats": stats}
    if train:
      return module.apply(variables, x, train=True, mutable=["batch_stats"])
    return module.apply(variables, x, train=False), {"batch_stats": stats}

  @staticmethod
  def _unit(images: jnp.ndarray) -> jnp.ndarray:
    return images.astype(jnp.float32) / 255.0 if images.dtype == jnp.uint8 else images

  # -- Method protocol --------------------------------------------------------
  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> TrainState:
    x = self._unit(jnp.asarray(batch["image"]))
    enc_rng, dec_rng = jax.random.split(rng)
    enc = self.autoencoder.encoder.init(enc_rng, x, train=False)
    dec = self.autoencoder.decoder.init(dec_rng, jnp.zeros((x.shape[0], self.latent_dim)), train=False)
    params = {"encoder": enc["params"], "decoder": dec["params"]}
    stats = {"encoder": enc.get("batch_stats", {}), "decoder": dec.get("batch_stats", {})}
    return TrainState.create(apply_fn=None, params=params, tx=self.tx, batch_stats=stats)

  def loss(self, params, stats, x: jnp.ndarray, rng: jax.Array):
    """(loss, (metrics, new_stats)) on this device's images x [n, H, W, C] in [0, 1].

    Runs under a mapped axis named ``AXIS`` (pmap, or vmap for one batch).
    """
    z, enc_stats = self._apply(self.autoencoder.encoder, params["encoder"], stats["encoder"], x, True)
    logits, dec_stats = self._apply(self.autoencoder.decoder, params["decoder"], stats["decoder"], z, True)
    recon = jnp.mean(jnp.sum((jax.nn.sigmoid(logits) - x) ** 2, axis=(1, 2, 3)))
    z_all = jax.lax.all_gather(z, AXIS, tiled=True)
    prior_rng, penalty_rng = jax.random.split(rng)
    penalty = self.latent_penalty(z_all, self.sample_prior(prior_rng, z_all.shape[0]), penalty_rng)
    loss = self.recon_weight * recon + self.lam * penalty
    new_stats = {"encoder": enc_stats["batch_stats"], "decoder": dec_stats["batch_stats"]}
    return loss, ({"recon": recon, "penalty": penalty}, new_stats)

  def train_step(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    x = self._unit(batch["image"])
    return apply_loss(state, lambda p, s: self.loss(p, s, x, rng))

  def encode(self, state: TrainState, images: jnp.ndarray) -> jnp.ndarray:
    """Codes [n, d] of images [n, H, W, C] (eval-mode BatchNorm)."""
    return self._apply(self.autoencoder.encoder, state.params["encoder"], state.batch_stats["encoder"],
                       self._unit(images), False)[0]

  def decode(self, state: TrainState, z: jnp.ndarray) -> jnp.ndarray:
    """Images [n, H, W, C] in [0, 1] from codes [n, d]."""
    logits = self._apply(self.autoencoder.decoder, state.params["decoder"], state.batch_stats["decoder"],
                         z, False)[0]
    return jax.nn.sigmoid(logits)

  def sample(self, state: TrainState, rng: jax.Array, num: int) -> jnp.ndarray:
    return self.decode(state, self.sample_prior(rng, num))

  def reconstruct(self, state: TrainState, images: jnp.ndarray) -> jnp.ndarray:
    return self.decode(state, self.encode(state, images))

  def evaluate(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, Any]:
    x = self._unit(batch["image"])
    z = self.encode(state, x)
    err = (self.decode(state, z) - x) ** 2
    return {"recon_mse": jnp.mean(err), "recon_l2sq": jnp.mean(jnp.sum(err, axis=(1, 2, 3))),
            "latent_mmd": self.latent_penalty(z, self.sample_prior(rng, z.shape[0]), rng)}


def from_config(config, steps_per_epoch: int) -> WAE:
  """Builds a WAE from a run config (sections ``model``, ``optim``, ``wae``)."""
  ae = make_autoencoder(config.model.arch, config.model.latent_dim, width=config.model.width,
                        axis_name=AXIS)
  o = config.optim
  tx = adam_with_schedule(o.lr, o.b1, o.b2, steps_per_epoch, dict(o.decay_epochs))
  w = config.wae
  return WAE(ae, tx, config.model.latent_dim, lam=w.lam, penalty=w.penalty, kernel=w.kernel,
             kernel_scales=tuple(w.kernel_scales), prior_var=w.prior_var, recon_weight=w.recon_weight)
