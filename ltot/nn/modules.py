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

import functools
import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["init_variables", "BN_MOMENTUM", "BatchNorm", "MLP", "LineStart", "ConvEncoder", "ConvDecoder", "MLPEncoder",
           "MLPDecoder", "DownConv4x4", "UpConv4x4", "ConvTranspose4x4", "CONV_IMPLS", "conv_impl"]

_ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, negative_slope=0.2),
}


def _lecun_normal(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jnp.ndarray:
  """flax's default kernel initializer (``nn.initializers.lecun_normal()``) with its numbers drawn as a
  flat vector: bitwise the same values, as JAX's threefry numbers elements by their flat index.

  Why: XLA's CPU compiler takes several times longer over a 4-D truncated-normal draw than over a
  flat one (jax 0.10), and a model's first init compiles one draw per kernel shape.
  """
  size = math.prod(shape)
  fan_in = shape[-2] * (size / shape[-2] / shape[-1])  # input features times the receptive field
  stddev = jnp.sqrt(jnp.array(1.0 / fan_in, dtype)) / jnp.array(.87962566103423978, dtype)  # truncation at 2
  return jax.random.truncated_normal(key, -2, 2, (size,), dtype).reshape(shape) * stddev


# flax's layers with the cheaper-to-compile (and identical) default kernel draw
Dense = functools.partial(nn.Dense, kernel_init=_lecun_normal)
Conv = functools.partial(nn.Conv, kernel_init=_lecun_normal)
ConvTranspose = functools.partial(nn.ConvTranspose, kernel_init=_lecun_normal)


def init_variables(module: nn.Module, rng: jax.Array, *inputs: jnp.ndarray, **kwargs) -> dict:
  """``module.init(rng, *inputs, **kwargs)`` compiled as one program: the same variables, sooner.

  flax's init runs the forward pass op by op, and XLA compiles each op at its first call; one
  program compiles several times faster, and is reused for an equal module and input shapes.
  ``kwargs`` are static (e.g. ``train=False``).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> variables = init_variables(MLP((4,), 2), jax.random.key(0), jnp.zeros((1, 3)))
    >>> jax.tree.map(jnp.shape, variables)['params']['Dense_0']
    {'bias': (4,), 'kernel': (3, 4)}
  """
  return _jitted_init(module, tuple(sorted(kwargs.items())), rng, *inputs)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _jitted_init(module: nn.Module, kwargs: tuple, rng: jax.Array, *inputs: jnp.ndarray) -> dict:
  # module and kwargs static: equal modules (flax modules compare by their fields) share the program
  return module.init(rng, *inputs, **dict(kwargs))


BN_MOMENTUM = 0.9  # flax's convention: running = momentum * running + (1 - momentum) * batch


class BatchNorm(nn.Module):
  """flax's ``nn.BatchNorm`` (the same variables, statistics and normalisation: its own functions),
  with two call-time controls that methods need on top of ``train``:

  - ``frozen`` (a bool, traced or not): in train mode, normalise with the running statistics and
    leave them unchanged, as eval mode does, while still in the train-mode program. TWAE switches
    BatchNorm off after its first round this way (``ltot.methods.twae``) without a second program.
  - ``momentum``: of this call's running-average update; 0 makes the stored statistics exactly
    this batch's (TWAE's round statistics).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.normal(jax.random.key(0), (64, 3)) * 2.0 + 5.0
    >>> bn = BatchNorm()
    >>> v = bn.init(jax.random.key(1), x, train=False)
    >>> y, new = bn.apply(v, x, train=True, momentum=0.0, mutable=['batch_stats'])
    >>> bool(jnp.allclose(new['batch_stats']['mean'], x.mean(0)))  # momentum 0: exactly this batch's statistics
    True
    >>> y, same = bn.apply({**v, **new}, x, train=True, frozen=True, mutable=['batch_stats'])
    >>> bool(jnp.all(same['batch_stats']['mean'] == new['batch_stats']['mean']))  # frozen: left unchanged
    True
  """

  epsilon: float = 1e-5
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool, frozen=False, momentum: float = BN_MOMENTUM) -> jnp.ndarray:
    from flax.linen.normalization import _compute_stats, _normalize
    features = (x.shape[-1],)
    ra_mean = self.variable("batch_stats", "mean", lambda s: jnp.zeros(s, jnp.float32), features)
    ra_var = self.variable("batch_stats", "var", lambda s: jnp.ones(s, jnp.float32), features)
    reduction = tuple(range(x.ndim - 1))
    if train:
      mean, var = _compute_stats(x, reduction, dtype=None,
                                 axis_name=self.axis_name if not self.is_initializing() else None)
      if not self.is_initializing():
        ra_mean.value = jnp.where(frozen, ra_mean.value, momentum * ra_mean.value + (1 - momentum) * mean)
        ra_var.value = jnp.where(frozen, ra_var.value, momentum * ra_var.value + (1 - momentum) * var)
      mean, var = jnp.where(frozen, ra_mean.value, mean), jnp.where(frozen, ra_var.value, var)
    else:
      mean, var = ra_mean.value, ra_var.value
    return _normalize(self, x, mean, var, reduction, (x.ndim - 1,), None, jnp.float32, self.epsilon, True, True,
                      nn.initializers.zeros, nn.initializers.ones)


def _patches(x: jnp.ndarray, k: int) -> jnp.ndarray:
  """[N, H, W, C] -> [N, H - k + 1, W - k + 1, k * k * C]: every k x k window, taps in (dy, dx, c) order."""
  _, h, w, _ = x.shape
  return jnp.concatenate([x[:, dy:dy + h - k + 1, dx:dx + w - k + 1] for dy in range(k) for dx in range(k)], -1)


def _same_padding(size: int) -> tuple[int, int]:
  """SAME padding (before, after) of a 4-wide, stride-2 window along an axis of ``size``."""
  total = max((-(-size // 2) - 1) * 2 + 4 - size, 0)
  return total // 2, total - total // 2


# Why matrix products: XLA's CPU convolutions run well below its matrix product's speed, and the
# weight gradient of a strided or dilated one is slower still by more than an order of magnitude
# (the WAE-MMD rows of experiments/results/benchmarks.md went from 0.06 to 0.27 steps/s with this).
# Written as windows times a matrix, the forward and both gradients are matrix products.


class _MatrixConv4x4(nn.Module):
  """The parameters shared by the 4x4 matrix-product convs: kernel [4, 4, C_in, features], bias."""

  features: int
  use_bias: bool = True

  def _kernel(self, cin: int) -> jnp.ndarray:
    return self.param("kernel", _lecun_normal, (4, 4, cin, self.features))

  def _with_bias(self, y: jnp.ndarray) -> jnp.ndarray:
    return y + self.param("bias", nn.initializers.zeros_init(), (self.features,)) if self.use_bias else y


class DownConv4x4(_MatrixConv4x4):
  """``nn.Conv(features, (4, 4), strides=(2, 2), padding="SAME")`` as matrix products.

  Same parameters (kernel [4, 4, C_in, features], optional bias) and outputs as flax's
  module, [N, H, W, C_in] -> [N, ceil(H/2), ceil(W/2), features]: the padded input is
  folded 2x2 into channels (space-to-depth), after which the stride-2 4x4 conv is a
  stride-1 2x2 one, i.e. its 2x2 windows times the kernel as a [16 C_in, features] matrix.
  """

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    n, h, w, cin = x.shape
    kernel = self._kernel(cin)
    x = jnp.pad(x, ((0, 0), _same_padding(h), _same_padding(w), (0, 0)))
    hh, ww = x.shape[1] // 2, x.shape[2] // 2
    x = x.reshape(n, hh, 2, ww, 2, cin).transpose(0, 1, 3, 2, 4, 5).reshape(n, hh, ww, 4 * cin)
    # tap (2a + p, 2b + q) of the kernel meets channel block (p, q) of window offset (a, b)
    matrix = kernel.reshape(2, 2, 2, 2, cin, self.features).transpose(0, 2, 1, 3, 4, 5)
    y = _patches(x, 2) @ matrix.reshape(16 * cin, self.features)
    return self._with_bias(y)


def _tap_products(x: jnp.ndarray, kernel: jnp.ndarray) -> list[jnp.ndarray]:
  """Every pixel of x [N, H, W, C_in] times each tap of kernel [4, 4, C_in, F], as one matrix
  product: 16 maps [N, H, W, F], tap (a, b) at 4a + b. They are split apart, not sliced out, so
  that the gradient concatenates their gradients instead of adding 16 zero-padded copies."""
  n, h, w, cin = x.shape
  features = kernel.shape[-1]
  products = x.reshape(-1, cin) @ kernel.transpose(2, 0, 1, 3).reshape(cin, 16 * features)
  return jax.lax.split(products.reshape(n, h, w, 16 * features), [features] * 16, axis=3)


def _moved(t: jnp.ndarray, rows: int, cols: int) -> jnp.ndarray:
  """t [N, H, W, F] moved down by ``rows`` and right by ``cols`` (negative: up, left), zeros shifted in."""
  zero = jnp.zeros((), t.dtype)
  return jax.lax.pad(t, zero, ((0, 0, 0), (rows, -rows, 0), (cols, -cols, 0), (0, 0, 0)))


class UpConv4x4(_MatrixConv4x4):
  """``nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")`` as one matrix product.

  Same parameters (kernel [4, 4, C_in, features], bias) and outputs as flax's module,
  [N, H, W, C_in] -> [N, 2H, 2W, features]. Input pixel (i, j) adds tap (a, b) times itself
  to output pixel (2i + 2 - a, 2j + 2 - b): so output phase (p, q) (pixels (2u + p, 2v + q))
  sums the four taps with a = p and b = q modulo 2, each tap's map moved by (1 - (a + 1) // 2,
  1 - (b + 1) // 2). All 16 tap maps come from one product of every input pixel with the
  kernel ([C_in, 16 features]; exactly the transposed conv's multiply-adds), and the gradients
  are products and concatenations of moved maps. Measured on the 2-core CPU (forward and both
  gradients, batch 100, 2026-12-07, ad hoc), against the product of 2 x 2 windows it replaced:
  [7, 7, 64] -> 32 9.9 vs 13.0 ms, [14, 14, 32] -> 16 10.4 vs 12.3 ms, [14, 14, 512] -> 256
  1.51 vs 1.90 s, [7, 7, 1024] -> 512 1.25 vs 1.30 s.
  """

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    n, h, w, cin = x.shape
    taps = _tap_products(x, self._kernel(cin))
    move = lambda a: 1 - (a + 1) // 2
    phases = [[sum(_moved(taps[4 * a + b], move(a), move(b)) for a in (p, p + 2) for b in (q, q + 2))
               for q in (0, 1)] for p in (0, 1)]
    y = jnp.stack([jnp.stack(row, 3) for row in phases], 2).reshape(n, 2 * h, 2 * w, self.features)
    return self._with_bias(y)


class ConvTranspose4x4(_MatrixConv4x4):
  """``nn.ConvTranspose(features, (4, 4), padding="SAME")`` (stride 1) as one matrix product.

  Same parameters (kernel [4, 4, C_in, features], bias) and outputs as flax's module,
  [N, H, W, C_in] -> [N, H, W, features]: y[i, j] = sum over taps (a, b) of
  x[i + a - 2, j + b - 2] kernel[a, b], the 16 tap maps of one product (as in ``UpConv4x4``),
  each moved by (2 - a, 2 - b), summed. In the 1/16-width MNIST decoder's forward and backward
  (16 -> 1 channels, batch 100, 2-core CPU, per-kernel trace) the layer took 3.1 ms against
  about 14 ms for XLA's convolution, most of which is its kernel gradient (two transposed copies
  of the input, then a product).
  """

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    taps = _tap_products(x, self._kernel(x.shape[-1]))
    return self._with_bias(sum(_moved(taps[4 * a + b], 2 - a, 2 - b) for a in range(4) for b in range(4)))


CONV_IMPLS = ("auto", "matrix", "xla")


def conv_impl(name: str) -> str:
  """The 4x4 conv implementation ``name`` stands for: "matrix" (``DownConv4x4`` / ``UpConv4x4`` /
  ``ConvTranspose4x4``), "xla" (flax's ``nn.Conv`` / ``nn.ConvTranspose``, XLA's convolutions), or for
  "auto" the faster one on the default backend: "matrix" on CPUs, "xla" on accelerators (whose
  convolution kernels are tuned libraries; experiments/results/benchmarks.md has the CPU rows).

  Both have the same parameters and compute the same function, so a checkpoint trained with one
  restores into the other; only rounding differs.

  Example:
    >>> conv_impl('xla'), conv_impl('matrix')
    ('xla', 'matrix')
    >>> conv_impl('auto') in ('matrix', 'xla')
    True
  """
  if name not in CONV_IMPLS:
    raise ValueError(f"conv must be one of {CONV_IMPLS}, got {name!r}")
  if name == "auto":
    return "matrix" if jax.default_backend() == "cpu" else "xla"
  return name


def _down_conv(impl: str, features: int, name: str) -> nn.Module:
  """A bias-free stride-2 4x4 SAME conv, [N, H, W, C] -> [N, ceil(H/2), ceil(W/2), features]."""
  if conv_impl(impl) == "matrix":
    return DownConv4x4(features, use_bias=False, name=name)
  return Conv(features, (4, 4), strides=(2, 2), padding="SAME", use_bias=False, name=name)


def _up_conv(impl: str, features: int, use_bias: bool, name: str) -> nn.Module:
  """A stride-2 4x4 SAME transposed conv, [N, H, W, C] -> [N, 2H, 2W, features]."""
  if conv_impl(impl) == "matrix":
    return UpConv4x4(features, use_bias=use_bias, name=name)
  return ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME", use_bias=use_bias, name=name)


def _out_conv(impl: str, features: int, name: str) -> nn.Module:
  """A decoder's last layer: a stride-1 4x4 SAME transposed conv with bias, [N, H, W, C] -> [N, H, W, features]."""
  if conv_impl(impl) == "matrix":
    return ConvTranspose4x4(features, name=name)
  return ConvTranspose(features, (4, 4), padding="SAME", name=name)


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
      x = act(Dense(width)(x))
    return Dense(self.out)(x)


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
      h = act(Dense(width)(h))
    line = jnp.zeros(z.shape[:-1] + (self.out,), z.dtype).at[..., 0].set(self.half_length * z[..., 0])
    return line + nn.Dense(self.out, kernel_init=nn.initializers.zeros)(h)


class ConvEncoder(nn.Module):
  """Stride-2 4x4 convs (SAME) with BN + ReLU, then a head to ``latent_dim * outputs``.

  [N, H, W, C] -> [N, latent_dim * outputs] (``outputs=2`` for a Gaussian encoder's
  mean and log-variance). ``head="dense"``: flatten + FC (WAE/TWAE MNIST, CelebA A);
  ``head="conv"``: a 4x4 VALID conv to a 1x1 map (TWAE CelebA B). ``conv``: the stride-2
  convs' implementation (``CONV_IMPLS``, see ``conv_impl``).
  """

  channels: Sequence[int]
  latent_dim: int
  head: str = "dense"
  outputs: int = 1
  axis_name: str | None = None
  conv: str = "auto"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False, frozen=False, momentum: float = BN_MOMENTUM) -> jnp.ndarray:
    for i, width in enumerate(self.channels):
      x = _down_conv(self.conv, width, f"Conv_{i}")(x)
      x = nn.relu(BatchNorm(axis_name=self.axis_name)(x, train, frozen, momentum))
    out = self.latent_dim * self.outputs
    if self.head == "dense":
      return Dense(out)(x.reshape(x.shape[0], -1))
    if self.head == "conv":
      x = Conv(out, (4, 4), padding="VALID", name=f"Conv_{len(self.channels)}")(x)
      return x.reshape(x.shape[0], -1)
    raise ValueError(f"head must be 'dense' or 'conv', got {self.head!r}")


class ConvDecoder(nn.Module):
  """z -> (FC to ``start`` map | z as a 1x1 map) -> 4x4 transposed convs with BN + ReLU -> logits.

  [N, latent] -> [N, H, W, out_channels]. Hidden transposed convs have stride 2
  (SAME), except that with ``start=None`` the first one maps the 1x1 map to 4x4
  (VALID). The last transposed conv has stride ``final_stride`` and no BN. ``conv``: the
  implementation of the stride-2 transposed convs and of a stride-1 last one (``CONV_IMPLS``,
  see ``conv_impl``).
  """

  start: tuple[int, int, int] | None
  channels: Sequence[int]
  out_channels: int
  final_stride: int = 1
  axis_name: str | None = None
  conv: str = "auto"

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool = False, frozen=False, momentum: float = BN_MOMENTUM) -> jnp.ndarray:
    if self.start is None:
      x = z.reshape(z.shape[0], 1, 1, -1)
    else:
      h, w, c = self.start
      x = Dense(h * w * c)(z).reshape(z.shape[0], h, w, c)
    strided = 0  # the stride-2 layers keep the names flax gave UpConv4x4, whichever implementation
    for i, width in enumerate(self.channels):
      if i == 0 and self.start is None:
        x = ConvTranspose(width, (4, 4), padding="VALID", use_bias=False)(x)
      else:
        x = _up_conv(self.conv, width, False, f"UpConv4x4_{strided}")(x)
        strided += 1
      x = nn.relu(BatchNorm(axis_name=self.axis_name)(x, train, frozen, momentum))
    if self.final_stride == 2:
      return _up_conv(self.conv, self.out_channels, True, f"UpConv4x4_{strided}")(x)
    return _out_conv(self.conv, self.out_channels, "ConvTranspose_0")(x)


class MLPEncoder(nn.Module):
  """Fully connected encoder: [N, H, W, C] -> flatten -> MLP -> [N, latent_dim * outputs]."""

  hidden: Sequence[int]
  latent_dim: int
  outputs: int = 1
  activation: str = "relu"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False, frozen=False, momentum: float = BN_MOMENTUM) -> jnp.ndarray:
    del train, frozen, momentum  # no BatchNorm
    return MLP(self.hidden, self.latent_dim * self.outputs, self.activation)(x.reshape(x.shape[0], -1))


class MLPDecoder(nn.Module):
  """Fully connected decoder: [N, latent] -> MLP -> [N, *image_shape] logits (any example shape)."""

  hidden: Sequence[int]
  image_shape: tuple[int, ...]
  activation: str = "relu"

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool = False, frozen=False, momentum: float = BN_MOMENTUM) -> jnp.ndarray:
    del train, frozen, momentum  # no BatchNorm
    return MLP(self.hidden, math.prod(self.image_shape), self.activation)(z).reshape(z.shape[0], *self.image_shape)
