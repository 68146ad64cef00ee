"""The papers' autoencoder architectures by name, with a width knob for small runs.

=================  =============================================================
name               source
=================  =============================================================
``mnist_conv``     TWAE Sec. 5.1 MNIST (= WAE's DCGAN-style MNIST nets):
                   Conv128-256-512-1024 -> FC8; FC 7x7x1024 -> FSConv512-256 -> FSConv1
``celeba_a``       TWAE architecture A (= WAE's CelebA nets), latent 64:
                   Conv128-256-512-1024 -> FC; FC 8x8x1024 -> FSConv512-256-128 -> FSConv3
``celeba_b``       TWAE architecture B (half width), latent 64:
                   Conv64-128-256-512 -> Conv64; z -> FSConv512-256-128-64 -> FSConv3
``mnist_mlp``      fully connected MNIST autoencoder of AE-OTgen / AE-OT (the papers
                   give no widths; ltot uses 784-1024-512-256-d and its mirror)
``toy_mlp``        2-D points (ltot.data.toy) rather than images: 2-128-128-128-d and
                   its mirror with an identity output (ltot's choice, for the toys)
=================  =============================================================

Image decoders output logits whose sigmoid is the image in [0, 1] (``output="sigmoid"``);
``toy_mlp`` outputs the points themselves (``output="identity"``).

``width`` scales every hidden width (``width=0.125`` turns Conv128.. into Conv16..)
so the same topology trains on a laptop CPU.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from ltot.nn.modules import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder

__all__ = ["Autoencoder", "ARCHITECTURES", "OUTPUTS", "make_autoencoder"]

OUTPUTS = {"sigmoid": jax.nn.sigmoid, "identity": lambda logits: logits}


@dataclasses.dataclass(frozen=True)
class Autoencoder:
  """An encoder/decoder pair, the shape of one example they expect ([H, W, C] for images,
  [2] for points) and how decoder outputs become data: ``output`` names an ``OUTPUTS`` entry."""

  encoder: nn.Module
  decoder: nn.Module
  image_shape: tuple[int, ...]
  output: str = "sigmoid"

  def __post_init__(self):
    if self.output not in OUTPUTS:
      raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got {self.output!r}")

  def data_from_logits(self, logits: jnp.ndarray) -> jnp.ndarray:
    """Data [n, *image_shape] from decoder outputs of the same shape."""
    return OUTPUTS[self.output](logits)


def _scale(widths, width: float) -> tuple[int, ...]:
  return tuple(max(1, int(round(w * width))) for w in widths)


def _mnist_conv(latent_dim, width, outputs, axis_name):
  enc = ConvEncoder(_scale((128, 256, 512, 1024), width), latent_dim, "dense", outputs, axis_name)
  dec = ConvDecoder((7, 7, _scale((1024,), width)[0]), _scale((512, 256), width), 1, 1, axis_name)
  return Autoencoder(enc, dec, (28, 28, 1))


def _celeba_a(latent_dim, width, outputs, axis_name):
  enc = ConvEncoder(_scale((128, 256, 512, 1024), width), latent_dim, "dense", outputs, axis_name)
  dec = ConvDecoder((8, 8, _scale((1024,), width)[0]), _scale((512, 256, 128), width), 3, 1, axis_name)
  return Autoencoder(enc, dec, (64, 64, 3))


def _celeba_b(latent_dim, width, outputs, axis_name):
  enc = ConvEncoder(_scale((64, 128, 256, 512), width), latent_dim, "conv", outputs, axis_name)
  dec = ConvDecoder(None, _scale((512, 256, 128, 64), width), 3, 2, axis_name)
  return Autoencoder(enc, dec, (64, 64, 3))


def _mnist_mlp(latent_dim, width, outputs, axis_name):
  del axis_name  # no BatchNorm
  hidden = _scale((1024, 512, 256), width)
  return Autoencoder(MLPEncoder(hidden, latent_dim, outputs),
                     MLPDecoder(hidden[::-1], (28, 28, 1)), (28, 28, 1))


def _toy_mlp(latent_dim, width, outputs, axis_name):
  del axis_name  # no BatchNorm
  hidden = _scale((128, 128, 128), width)
  return Autoencoder(MLPEncoder(hidden, latent_dim, outputs), MLPDecoder(hidden, (2,)), (2,), "identity")


ARCHITECTURES = {
    "mnist_conv": _mnist_conv,
    "celeba_a": _celeba_a,
    "celeba_b": _celeba_b,
    "mnist_mlp": _mnist_mlp,
    "toy_mlp": _toy_mlp,
}


def make_autoencoder(name: str, latent_dim: int, *, width: float = 1.0, outputs: int = 1,
                     axis_name: str | None = None) -> Autoencoder:
  """Builds the named architecture (see the module docstring).

  Args:
    name: a key of ``ARCHITECTURES``.
    latent_dim: size of the latent code.
    width: multiplier on every hidden width (1.0 = the paper's).
    outputs: 1 for a deterministic encoder, 2 for a Gaussian one (mean, log-variance).
    axis_name: pmap axis over which BatchNorm averages batch statistics.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> ae = make_autoencoder('mnist_conv', latent_dim=8, width=1 / 16)
    >>> params = ae.encoder.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1)))
    >>> ae.encoder.apply(params, jnp.zeros((2, 28, 28, 1))).shape, ae.image_shape
    ((2, 8), (28, 28, 1))
  """
  if name not in ARCHITECTURES:
    raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
  if latent_dim <= 0:
    raise ValueError(f"latent_dim must be positive, got {latent_dim}")
  if width <= 0:
    raise ValueError(f"width must be positive, got {width}")
  if outputs not in (1, 2):
    raise ValueError(f"outputs must be 1 (deterministic) or 2 (Gaussian encoder), got {outputs}")
  return ARCHITECTURES[name](latent_dim, width, outputs, axis_name)
