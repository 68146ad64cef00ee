"""The base of every autoencoder-based method: the prior, applying the nets, init, encode/decode.

Not a method itself: each method module subclasses ``AutoencoderMethod`` and adds its
loss, ``train_step`` and ``evaluate``, so no method re-implements (or imports another for) this.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import optax

from ltot.data.pipeline import to_unit_float
from ltot.nn import BN_MOMENTUM, Autoencoder, init_variables
from ltot.tessellation import sample_ball
from ltot.train.method import Method
from ltot.train.report import latent_interpolations
from ltot.train.state import TrainState

__all__ = ["PRIORS", "AutoencoderMethod"]

PRIORS = ("gaussian", "ball")


def per_example_sum(a: jnp.ndarray) -> jnp.ndarray:
  """Sum over everything but the leading axis: [n, ...] -> [n] (pixels of an image, coordinates of a point)."""
  return jnp.sum(a.reshape(a.shape[0], -1), axis=1)


@dataclasses.dataclass(frozen=True)
class AutoencoderMethod(Method):
  """Encoder/decoder pair with a latent prior.

  Attributes:
    autoencoder: the nets, built with ``axis_name=AXIS`` so BatchNorm statistics cover
      the whole (multi-device) batch.
    tx: the optimiser of every parameter in the state.
    latent_dim: d.
    prior: "gaussian", N(0, prior_var I) (WAE), or "ball", uniform in the unit ball (TWAE).
    prior_var: sigma_z^2 of the Gaussian prior.
  """

  autoencoder: Autoencoder
  tx: optax.GradientTransformation
  latent_dim: int
  prior: str = "gaussian"
  prior_var: float = 1.0

  def __post_init__(self):
    if self.prior not in PRIORS:
      raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
    if not self.prior_var > 0:
      raise ValueError(f"prior_var must be positive, got {self.prior_var}")

  @property
  def data_shapes(self) -> tuple[tuple[int, ...], ...]:
    """The autoencoder's example shape ([H, W, C], or [d] for points)."""
    return (tuple(self.autoencoder.image_shape),)

  @property
  def reconstructs(self) -> bool:
    return True

  # -- pieces -----------------------------------------------------------------
  def sample_prior(self, rng: jax.Array, num: int) -> jnp.ndarray:
    """[num, d] draws from the prior."""
    if self.prior == "ball":
      return sample_ball(rng, num, self.latent_dim)
    return jnp.sqrt(self.prior_var) * jax.random.normal(rng, (num, self.latent_dim))

  @staticmethod
  def apply(module, params, stats, x, train: bool, frozen=False, momentum: float = BN_MOMENTUM):
    """(output, {"batch_stats": updated}) of a Flax module; eval mode leaves the statistics.

    In train mode, ``frozen`` (a bool, may be traced) and ``momentum`` reach every BatchNorm
    (``ltot.nn.BatchNorm``): frozen normalises with the stored statistics and keeps them.
    """
    variables = {"params": params, "batch_stats": stats}
    if train:
      return module.apply(variables, x, train=True, frozen=frozen, momentum=momentum, mutable=["batch_stats"])
    return module.apply(variables, x, train=False), {"batch_stats": stats}

  def encoder_outputs(self, params, stats, x, train: bool, **bn):
    """Raw encoder output [n, latent_dim * outputs] and the encoder's new statistics."""
    return self.apply(self.autoencoder.encoder, params["encoder"], stats["encoder"], x, train, **bn)

  def decoder_logits(self, params, stats, z, train: bool, **bn):
    """Decoder outputs [n, *image_shape] (``autoencoder.data_from_logits`` makes them data) and the
    decoder's new statistics."""
    return self.apply(self.autoencoder.decoder, params["decoder"], stats["decoder"], z, train, **bn)

  def squared_error(self, logits: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """|x_i - G(z_i)|^2 per example [n] of decoder outputs ``logits`` and data x [n, *image_shape]."""
    return per_example_sum((self.autoencoder.data_from_logits(logits) - x) ** 2)

  def extra_params(self, rng: jax.Array) -> dict[str, Any]:
    """Parameters besides the encoder's and decoder's (e.g. a latent discriminator)."""
    del rng
    return {}

  # -- Method protocol (shared parts) -----------------------------------------
  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> TrainState:
    x = to_unit_float(jnp.asarray(batch["x"]))
    enc_rng, dec_rng, extra_rng = jax.random.split(rng, 3)
    enc = init_variables(self.autoencoder.encoder, enc_rng, x, train=False)
    dec = init_variables(self.autoencoder.decoder, dec_rng, jnp.zeros((x.shape[0], self.latent_dim)), train=False)
    params = {"encoder": enc["params"], "decoder": dec["params"], **self.extra_params(extra_rng)}
    stats = {"encoder": enc.get("batch_stats", {}), "decoder": dec.get("batch_stats", {})}
    return TrainState.create(apply_fn=None, params=params, tx=self.tx, batch_stats=stats)

  def encode(self, state: TrainState, images: jnp.ndarray) -> jnp.ndarray:
    """Codes [n, d] of data [n, *image_shape] (eval-mode BatchNorm; the mean for a Gaussian encoder)."""
    out = self.encoder_outputs(state.params, state.batch_stats, to_unit_float(images), False)[0]
    return out[:, :self.latent_dim]

  def decode(self, state: TrainState, z: jnp.ndarray) -> jnp.ndarray:
    """Data [n, *image_shape] from codes [n, d] (images in [0, 1])."""
    return self.autoencoder.data_from_logits(self.decoder_logits(state.params, state.batch_stats, z, False)[0])

  def sample_with_source(self, state: TrainState, rng: jax.Array, num: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(prior draws z [num, d], decoded G(z))."""
    z = self.sample_prior(rng, num)
    return z, self.decode(state, z)

  def sample(self, state: TrainState, rng: jax.Array, num: int) -> jnp.ndarray:
    return self.sample_with_source(state, rng, num)[1]

  def reconstruct(self, state: TrainState, images: jnp.ndarray) -> jnp.ndarray:
    return self.decode(state, self.encode(state, images))

  def interpolations(self, state: TrainState, images, rng: jax.Array) -> jnp.ndarray:
    """Decoded paths of 10 steps between the codes of consecutive pairs of ``images``
    (``ltot.train.latent_interpolations``: near the sphere for the ball prior)."""
    del rng
    return latent_interpolations(self, state, images)

  def prior_fit(self, z: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """For the unit-ball prior, ``outside_ball``: the fraction of codes z [n, d] with |z| > 1."""
    if self.prior != "ball":
      return {}
    return {"outside_ball": jnp.mean(jnp.sum(z * z, axis=-1) > 1.0)}

  def reconstruction_metrics(self, state: TrainState, x: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """recon_mse (per coordinate: pixel) and recon_l2sq (per example) of x [n, *image_shape]."""
    err = (self.reconstruct(state, x) - x) ** 2
    return {"recon_mse": jnp.mean(err), "recon_l2sq": jnp.mean(per_example_sum(err))}
