"""Flax linen building blocks: DCGAN-style conv encoders/decoders and MLPs.

Conventions: images are NHWC; conv kernels are 4x4 (WAE paper, App. E); every
hidden conv is followed by BatchNorm (PyTorch defaults: momentum 0.1, eps 1e-5, as
in the TWAE code) and ReLU. Convs followed by BatchNorm have no bias: BatchNorm
subtracts it, so its gradient is exactly zero and Adam would turn rounding noise
in that zero into full-size steps. ``axis_name`` makes BatchNorm average its batch
statistics over a pmapped device axis, so the statistics of a batch split over
devices equal those of the whole batch. Decoders return logits (pre-activation);
the method chooses the output distribution.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["MLP", "LineStart", "ConvEncoder", "ConvDecoder", "MLPEncoder", "MLPDecoder", "UpConv4x4"]

_ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, negative_slope=0.2),
}


def _norm(train: bool, axis_name: str | None) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      axis_name=axis_name if train else None)


def _subpixel_taps() -> np.ndarray:
  """A[o, p, t] = 1 iff tap t of a 4-tap stride-2 transposed conv feeds output phase p at offset o."""
  a = np.zeros((3, 2, 4), np.float32)
  for t in range(4):
    a[(t + 1) // 2, t % 2, t] = 1.0
  return a


class UpConv4x4(nn.Module):
  """``nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")``, computed fast.

  Same parameters (kernel [4, 4, C_in, features], bias) and outputs as flax's
  module, [N, H, W, C_in] -> [N, 2H, 2W, features], but evaluated as one 3x3
  stride-1 conv to 4 * features channels followed by depth-to-space: output pixel
  (2p + a, 2q + b) only sees kernel taps of parity (a, b). On XLA's CPU backend
  the weight gradient of the dilated convolution flax uses is ~8x slower.
  """

  features: int
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    cin = x.shape[-1]
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (4, 4, cin, self.features))
    taps = jnp.asarray(_subpixel_taps(), kernel.dtype)
    k3 = jnp.einsum("ypt,xqs,tsio->yxipqo", taps, taps, kernel).reshape(3, 3, cin, 4 * self.features)
    y = jax.lax.conv_general_dilated(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), k3, (1, 1), "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    n, h, w, _ = y.shape
    y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, 2 * h, 2 * w, self.features)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return y


class MLP(nn.Module):
  """Dense layers of widths ``hidden``, each followed by ``activation``, then a linear ``out``.

  [..., d_in] -> [..., out]. ``activation`` in {"relu", "leaky_relu" (slope 0.2)}.
  """

  hidden: Sequence[int]
  out: int
  activation: str = "relu"

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    act = _ACTIVATIONS[self.activation]
    for width in self.hidden:
      x = act(nn.Dense(width)(x))
    return nn.Dense(self.out)(x)


class LineStart(nn.Module):
  """g(z) = (h z_0, 0, ..., 0) + MLP(z) with the MLP's last layer zero at init: [..., k] -> [..., out].

  The generator starts as the segment [-h, h] x {0} for z_0 ~ unif(-1, 1) (the initial
  distribution of OTS/FIT's Figure 1) and learns from there.
  """

  hidden: Sequence[int]
  out: int
  half_length: float = 0.5
  activation: str = "relu"

  @nn.compact
  def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
    act = _ACTIVATIONS[self.activation]
    h = z
    for width in self.hidden:
      h = act(nn.Dense(width)(h))
    line = jnp.zeros(z.shape[:-1] + (self.out,), z.dtype).at[..., 0].set(self.half_length * z[..., 0])
    return line + nn.Dense(self.out, kernel_init=nn.initializers.zeros)(h)


class ConvEncoder(nn.Module):
  """Stride-2 4x4 convs (SAME) with BN + ReLU, then a head to ``latent_dim * outputs``.

  [N, H, W, C] -> [N, latent_dim * outputs] (``outputs=2`` for a Gaussian encoder's
  mean and log-variance). ``head="dense"``: flatten + FC (WAE/TWAE MNIST, CelebA A);
  ``head="conv"``: a 4x4 VALID conv to a 1x1 map (TWAE CelebA B).
  """

  channels: Sequence[int]
  latent_dim: int
  head: str = "dense"
  outputs: int = 1
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    for width in self.channels:
      x = nn.Conv(width, (4, 4), strides=(2, 2), padding="SAME", use_bias=False)(x)
      x = nn.relu(_norm(train, self.axis_name)(x))
    out = self.latent_dim * self.outputs
    if self.head == "dense":
      return nn.Dense(out)(x.reshape(x.shape[0], -1))
    if self.head == "conv":
      x = nn.Conv(out, (4, 4), padding="VALID")(x)
      return x.reshape(x.shape[0], -1)
    raise ValueError(f"head must be 'dense' or 'conv', got {self.head!r}")


class ConvDecoder(nn.Module):
  """z -> (FC to ``start`` map | z as a 1x1 map) -> 4x4 transposed convs with BN + ReLU -> logits.

  [N, latent] -> [N, H, W, out_channels]. Hidden transposed convs have stride 2
  (SAME), except that with ``start=None`` the first one maps the 1x1 map to 4x4
  (VALID). The last transposed conv has stride ``final_stride`` and no BN.
  """

  start: tuple[int, int, int] | None
  channels: Sequence[int]
  out_channels: int
  final_stride: int = 1
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if self.start is None:
      x = z.reshape(z.shape[0], 1, 1, -1)
    else:
      h, w, c = self.start
      x = nn.Dense(h * w * c)(z).reshape(z.shape[0], h, w, c)
    for i, width in enumerate(self.channels):
      if i == 0 and self.start is None:
        x = nn.ConvTranspose(width, (4, 4), padding="VALID", use_bias=False)(x)
      else:
        x = UpConv4x4(width, use_bias=False)(x)
      x = nn.relu(_norm(train, self.axis_name)(x))
    if self.final_stride == 2:
      return UpConv4x4(self.out_channels)(x)
    return nn.ConvTranspose(self.out_channels, (4, 4), padding="SAME")(x)


class MLPEncoder(nn.Module):
  """Fully connected encoder: [N, H, W, C] -> flatten -> MLP -> [N, latent_dim * outputs]."""

  hidden: Sequence[int]
  latent_dim: int
  outputs: int = 1
  activation: str = "relu"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    del train
    return MLP(self.hidden, self.latent_dim * self.outputs, self.activation)(x.reshape(x.shape[0], -1))


class MLPDecoder(nn.Module):
  """Fully connected decoder: [N, latent] -> MLP -> [N, *image_shape] logits."""

  hidden: Sequence[int]
  image_shape: tuple[int, int, int]
  activation: str = "relu"

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    del train
    h, w, c = self.image_shape
    return MLP(self.hidden, h * w * c, self.activation)(z).reshape(z.shape[0], h, w, c)
