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
so the same topology trains on a laptop CPU. ``image_shape`` puts the same topology on other
images: ``mnist_conv`` takes any H x W divisible by 4 (its decoder starts at H/4 x W/4), e.g.
32 x 32 x 3 (CIFAR-10); ``celeba_a`` any divisible by 8; ``celeba_b`` only 64 x 64 (its encoder
ends in a 4 x 4 valid conv and its decoder starts from the code as a 1 x 1 map); ``mnist_mlp`` any
shape; any channel count everywhere.

``conv`` picks the conv architectures' stride-2 convolution implementation (``ltot.nn.CONV_IMPLS``):
"matrix" (matrix products, fast on XLA's CPU backend), "xla" (flax's ``nn.Conv`` /
``nn.ConvTranspose``) or "auto" (the faster on the default backend). The MLP architectures ignore it.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from ltot.nn.modules import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, conv_impl

__all__ = ["Autoencoder", "ARCHITECTURES", "OUTPUTS", "make_autoencoder", "model_options"]

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


def _image(name, shape, default, divisor):
  """``shape`` (default ``default``) checked: [H, W, C] with H and W divisible by ``divisor``."""
  shape = tuple(default if shape is None else shape)
  if len(shape) != 3 or min(shape) < 1 or shape[0] % divisor or shape[1] % divisor:
    raise ValueError(f"architecture {name!r} takes images [H, W, C] with H and W divisible by {divisor}, "
                     f"got image_shape={shape}")
  return shape


def _mnist_conv(latent_dim, width, outputs, axis_name, shape, conv):
  h, w, c = _image("mnist_conv", shape, (28, 28, 1), 4)
  enc = ConvEncoder(_scale((128, 256, 512, 1024), width), latent_dim, "dense", outputs, axis_name, conv)
  dec = ConvDecoder((h // 4, w // 4, _scale((1024,), width)[0]), _scale((512, 256), width), c, 1, axis_name, conv)
  return Autoencoder(enc, dec, (h, w, c))


def _celeba_a(latent_dim, width, outputs, axis_name, shape, conv):
  h, w, c = _image("celeba_a", shape, (64, 64, 3), 8)
  enc = ConvEncoder(_scale((128, 256, 512, 1024), width), latent_dim, "dense", outputs, axis_name, conv)
  dec = ConvDecoder((h // 8, w // 8, _scale((1024,), width)[0]), _scale((512, 256, 128), width), c, 1, axis_name,
                    conv)
  return Autoencoder(enc, dec, (h, w, c))


def _celeba_b(latent_dim, width, outputs, axis_name, shape, conv):
  h, w, c = _image("celeba_b", shape, (64, 64, 3), 64)
  if (h, w) != (64, 64):
    raise ValueError(f"architecture 'celeba_b' takes 64 x 64 images only, got image_shape={shape}")
  enc = ConvEncoder(_scale((64, 128, 256, 512), width), latent_dim, "conv", outputs, axis_name, conv)
  dec = ConvDecoder(None, _scale((512, 256, 128, 64), width), c, 2, axis_name, conv)
  return Autoencoder(enc, dec, (h, w, c))


def _mnist_mlp(latent_dim, width, outputs, axis_name, shape, conv):
  del axis_name, conv  # no BatchNorm, no convolutions
  shape = _image("mnist_mlp", shape, (28, 28, 1), 1)
  hidden = _scale((1024, 512, 256), width)
  return Autoencoder(MLPEncoder(hidden, latent_dim, outputs), MLPDecoder(hidden[::-1], shape), shape)


def _toy_mlp(latent_dim, width, outputs, axis_name, shape, conv):
  del axis_name, conv  # no BatchNorm, no convolutions
  shape = tuple(shape or (2,))
  hidden = _scale((128, 128, 128), width)
  return Autoencoder(MLPEncoder(hidden, latent_dim, outputs), MLPDecoder(hidden, shape), shape, "identity")


ARCHITECTURES = {
    "mnist_conv": _mnist_conv,
    "celeba_a": _celeba_a,
    "celeba_b": _celeba_b,
    "mnist_mlp": _mnist_mlp,
    "toy_mlp": _toy_mlp,
}


def make_autoencoder(name: str, latent_dim: int, *, width: float = 1.0, outputs: int = 1,
                     axis_name: str | None = None, image_shape: tuple[int, ...] | None = None,
                     conv: str = "auto") -> Autoencoder:
  """Builds the named architecture (see the module docstring).

  Args:
    name: a key of ``ARCHITECTURES``.
    latent_dim: size of the latent code.
    width: multiplier on every hidden width (1.0 = the paper's).
    outputs: 1 for a deterministic encoder, 2 for a Gaussian one (mean, log-variance).
    axis_name: pmap axis over which BatchNorm averages batch statistics.
    image_shape: the example shape (default: the paper's, e.g. 28 x 28 x 1); see the module doc
      for what each architecture takes.
    conv: the stride-2 convolutions' implementation, one of ``ltot.nn.CONV_IMPLS`` (see ``conv_impl``).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> ae = make_autoencoder('mnist_conv', latent_dim=8, width=1 / 16)
    >>> params = ae.encoder.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1)))
    >>> ae.encoder.apply(params, jnp.zeros((2, 28, 28, 1))).shape, ae.image_shape
    ((2, 8), (28, 28, 1))
    >>> make_autoencoder('mnist_conv', 8, width=1 / 16, image_shape=(32, 32, 3)).image_shape  # CIFAR-10's
    (32, 32, 3)
  """
  if name not in ARCHITECTURES:
    raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
  if latent_dim <= 0:
    raise ValueError(f"latent_dim must be positive, got {latent_dim}")
  if width <= 0:
    raise ValueError(f"width must be positive, got {width}")
  if outputs not in (1, 2):
    raise ValueError(f"outputs must be 1 (deterministic) or 2 (Gaussian encoder), got {outputs}")
  conv_impl(conv)  # a bad name fails here, not at the first trace
  return ARCHITECTURES[name](latent_dim, width, outputs, axis_name, image_shape, conv)


def model_options(model) -> dict:
  """The optional ``make_autoencoder`` arguments a config's ``model`` section sets (``image_shape``,
  ``conv``), so an absent key takes ``make_autoencoder``'s default.

  Example:
    >>> model_options({'name': 'mnist_conv', 'image_shape': [32, 32, 3], 'conv': 'xla'})
    {'image_shape': (32, 32, 3), 'conv': 'xla'}
    >>> model_options({'name': 'mnist_conv'})  # an older run's config: the defaults
    {}
  """
  return {key: tuple(model[key]) if key == "image_shape" else model[key]
          for key in ("image_shape", "conv") if model.get(key) is not None}
