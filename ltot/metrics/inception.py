"""InceptionV3 as the standard FID implementations use it (pytorch-fid's ``FIDInceptionA/C/E`` variant), in Flax.

This is the network whose 2048-d pool features define FID for natural images
(TF's 2015-12-05 graph, which differs from torchvision's InceptionV3 in its pooling
and in having 1008 logits). ltot cannot download weights on its build machines, so
``load_inception`` takes the standard weight file from a path the user gives
(pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``, or the same tensors saved
as ``.npz`` under the same names), or downloads and caches it where the machine
has network. Module and parameter names follow the PyTorch state dict, so the
mapping is name for name: conv ``weight`` [O, I, kH, kW] -> ``kernel`` [kH, kW, I, O],
BatchNorm ``weight``/``bias``/``running_mean``/``running_var`` -> ``scale``/``bias``/``mean``/``var``.

Inputs: images [N, H, W, C] in [0, 1] (C = 1 is repeated to RGB), resized to 299x299
bilinearly without antialiasing (PyTorch's ``interpolate(..., align_corners=False)``)
and scaled to [-1, 1].
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import urllib.request
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ltot.data.pipeline import to_unit_float
from ltot.metrics._chunks import features_in_chunks

__all__ = ["InceptionV3", "Inception", "load_inception", "WEIGHTS_URL", "WEIGHTS_SHA256_PREFIX"]

WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_SHA256_PREFIX = "6726825d"  # PyTorch's convention: the file name carries its SHA-256 prefix
SIZE = 299


class BasicConv2d(nn.Module):
  """Conv (no bias) -> BatchNorm (eps 1e-3, inference statistics) -> ReLU."""

  features: int
  kernel: tuple[int, int]
  strides: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    pad = [(self.padding[0], self.padding[0]), (self.padding[1], self.padding[1])]
    x = nn.Conv(self.features, self.kernel, (self.strides, self.strides), pad, use_bias=False, name="conv")(x)
    return nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x))


def _avg_pool_excluding_padding(x):
  """3x3, stride 1, padding 1 average that divides by the in-image count (``count_include_pad=False``)."""
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, stride: int, pad: int = 0):
  return nn.max_pool(x, (3, 3), (stride, stride), ((pad, pad), (pad, pad)))


def _branch(x, specs: Sequence[tuple[str, int, tuple[int, int], int, tuple[int, int]]]):
  for name, features, kernel, stride, padding in specs:
    x = BasicConv2d(features, kernel, stride, padding, name=name)(x)
  return x


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = _branch(x, [("branch1x1", 64, (1, 1), 1, (0, 0))])
    b5 = _branch(x, [("branch5x5_1", 48, (1, 1), 1, (0, 0)), ("branch5x5_2", 64, (5, 5), 1, (2, 2))])
    b3 = _branch(x, [("branch3x3dbl_1", 64, (1, 1), 1, (0, 0)), ("branch3x3dbl_2", 96, (3, 3), 1, (1, 1)),
                     ("branch3x3dbl_3", 96, (3, 3), 1, (1, 1))])
    bp = _branch(_avg_pool_excluding_padding(x), [("branch_pool", self.pool_features, (1, 1), 1, (0, 0))])
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = _branch(x, [("branch3x3", 384, (3, 3), 2, (0, 0))])
    bd = _branch(x, [("branch3x3dbl_1", 64, (1, 1), 1, (0, 0)), ("branch3x3dbl_2", 96, (3, 3), 1, (1, 1)),
                     ("branch3x3dbl_3", 96, (3, 3), 2, (0, 0))])
    return jnp.concatenate([b3, bd, _max_pool(x, 2)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c = self.channels_7x7
    row, col = ((1, 7), (0, 3)), ((7, 1), (3, 0))
    b1 = _branch(x, [("branch1x1", 192, (1, 1), 1, (0, 0))])
    b7 = _branch(x, [("branch7x7_1", c, (1, 1), 1, (0, 0)), ("branch7x7_2", c, row[0], 1, row[1]),
                     ("branch7x7_3", 192, col[0], 1, col[1])])
    bd = _branch(x, [("branch7x7dbl_1", c, (1, 1), 1, (0, 0)), ("branch7x7dbl_2", c, col[0], 1, col[1]),
                     ("branch7x7dbl_3", c, row[0], 1, row[1]), ("branch7x7dbl_4", c, col[0], 1, col[1]),
                     ("branch7x7dbl_5", 192, row[0], 1, row[1])])
    bp = _branch(_avg_pool_excluding_padding(x), [("branch_pool", 192, (1, 1), 1, (0, 0))])
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = _branch(x, [("branch3x3_1", 192, (1, 1), 1, (0, 0)), ("branch3x3_2", 320, (3, 3), 2, (0, 0))])
    b7 = _branch(x, [("branch7x7x3_1", 192, (1, 1), 1, (0, 0)), ("branch7x7x3_2", 192, (1, 7), 1, (0, 3)),
                     ("branch7x7x3_3", 192, (7, 1), 1, (3, 0)), ("branch7x7x3_4", 192, (3, 3), 2, (0, 0))])
    return jnp.concatenate([b3, b7, _max_pool(x, 2)], axis=-1)


class InceptionE(nn.Module):
  """``pool="avg"``: FIDInceptionE_1 (average pool without padding counts); ``"max"``: FIDInceptionE_2."""

  pool: str

  @nn.compact
  def __call__(self, x):
    b1 = _branch(x, [("branch1x1", 320, (1, 1), 1, (0, 0))])
    t = _branch(x, [("branch3x3_1", 384, (1, 1), 1, (0, 0))])
    b3 = jnp.concatenate([_branch(t, [("branch3x3_2a", 384, (1, 3), 1, (0, 1))]),
                          _branch(t, [("branch3x3_2b", 384, (3, 1), 1, (1, 0))])], axis=-1)
    t = _branch(x, [("branch3x3dbl_1", 448, (1, 1), 1, (0, 0)), ("branch3x3dbl_2", 384, (3, 3), 1, (1, 1))])
    bd = jnp.concatenate([_branch(t, [("branch3x3dbl_3a", 384, (1, 3), 1, (0, 1))]),
                          _branch(t, [("branch3x3dbl_3b", 384, (3, 1), 1, (1, 0))])], axis=-1)
    pooled = _avg_pool_excluding_padding(x) if self.pool == "avg" else _max_pool(x, 1, 1)
    bp = _branch(pooled, [("branch_pool", 192, (1, 1), 1, (0, 0))])
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
  """[N, H, W, C] in [0, 1] -> (pool features [N, 2048], logits [N, 1008])."""

  @nn.compact
  def __call__(self, images):
    x = images if images.shape[-1] == 3 else jnp.repeat(images, 3, axis=-1)
    x = jax.image.resize(x, (x.shape[0], SIZE, SIZE, 3), "bilinear", antialias=False)
    x = 2.0 * x - 1.0
    x = BasicConv2d(32, (3, 3), 2, name="Conv2d_1a_3x3")(x)
    x = BasicConv2d(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv2d(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool(x, 2)
    x = BasicConv2d(80, (1, 1), name="Conv2d_3b_1x1")(x)
    x = BasicConv2d(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool(x, 2)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
      x = InceptionC(c, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE("avg", name="Mixed_7b")(x)
    x = InceptionE("max", name="Mixed_7c")(x)
    feats = jnp.mean(x, axis=(1, 2))
    return feats, nn.Dense(1008, name="fc")(feats)


@functools.partial(jax.jit, static_argnums=0)
def _apply(module, variables, images):
  return module.apply(variables, to_unit_float(images))


@dataclasses.dataclass(frozen=True)
class Inception:
  """Loaded InceptionV3: ``net(images)`` -> (features [N, 2048], logits [N, 1008]) as NumPy, in chunks."""

  variables: Any
  module: InceptionV3 = InceptionV3()

  def __call__(self, images, batch_size: int = 50) -> tuple[np.ndarray, np.ndarray]:
    if np.ndim(images) != 4 or np.shape(images)[-1] not in (1, 3):
      raise ValueError(f"InceptionV3 takes images [N, H, W, 1 or 3], got shape {np.shape(images)}")
    return features_in_chunks(functools.partial(_apply, self.module, self.variables), images, batch_size)


def _template() -> Any:
  return jax.eval_shape(lambda: InceptionV3().init(jax.random.PRNGKey(0), jnp.zeros((1, SIZE, SIZE, 3))))


def variables_from_state_dict(state: dict[str, np.ndarray]) -> dict[str, Any]:
  """Flax variables of ``InceptionV3`` from a pytorch-fid state dict (name -> array); checks every name and shape."""
  template = _template()
  out: dict[str, Any] = {"params": {}, "batch_stats": {}}
  used = set()

  def take(name: str, shape: tuple[int, ...], transform=lambda a: a) -> np.ndarray:
    if name not in state:
      raise ValueError(f"InceptionV3 weights lack {name!r}: not a pytorch-fid FID Inception state dict")
    used.add(name)
    arr = transform(np.asarray(state[name], np.float32))
    if arr.shape != shape:
      raise ValueError(f"InceptionV3 weight {name!r} has shape {np.shape(state[name])}, which does not fit {shape}")
    return arr

  def set_path(tree: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
      tree = tree.setdefault(key, {})
    tree[path[-1]] = value

  for collection, torch_names in (("params", {"kernel": "weight", "scale": "weight", "bias": "bias"}),
                                  ("batch_stats", {"mean": "running_mean", "var": "running_var"})):
    for path, leaf in jax.tree_util.tree_leaves_with_path(template[collection]):
      keys = tuple(k.key for k in path)
      prefix = ".".join(keys[:-1])
      if keys[-1] == "kernel" and keys[-2] == "conv":
        value = take(f"{prefix}.weight", leaf.shape, lambda a: a.transpose(2, 3, 1, 0))
      elif keys[-1] == "kernel":  # the fc layer: torch Linear weight [out, in]
        value = take(f"{prefix}.weight", leaf.shape, lambda a: a.T)
      else:
        value = take(f"{prefix}.{torch_names[keys[-1]]}", leaf.shape)
      set_path(out[collection], keys, jnp.asarray(value))
  unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
  if unused:
    raise ValueError(f"InceptionV3 weights have entries this network does not use: {unused[:5]}")
  return out


def _read_weights(path: str) -> dict[str, np.ndarray]:
  if path.endswith(".npz"):
    with np.load(path, allow_pickle=False) as f:
      return dict(f)
  if path.endswith((".pth", ".pt")):
    try:
      import torch
    except ImportError as e:
      raise ImportError(f"reading {path} needs PyTorch (torch.load with weights_only=True); or convert it once "
                        "to .npz with the same tensor names") from e
    return {k: v.numpy() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}
  raise ValueError(f"InceptionV3 weights must be a .pth/.pt or .npz file, got {path}")


def _download(cache_dir: str) -> str:
  path = os.path.join(cache_dir, os.path.basename(WEIGHTS_URL))
  if not os.path.isfile(path):
    os.makedirs(cache_dir, exist_ok=True)
    try:
      urllib.request.urlretrieve(WEIGHTS_URL, path + ".part")
    except OSError as e:
      raise OSError(f"could not download the FID InceptionV3 weights from {WEIGHTS_URL} ({e}); download them "
                    "elsewhere and pass their path") from e
    os.replace(path + ".part", path)
  return path


def load_inception(path: str | None = None, *, cache_dir: str = "~/.cache/ltot") -> Inception:
  """The FID InceptionV3 with the standard weights from ``path``, or downloaded into ``cache_dir``.

  A file named like the standard one (``...-6726825d.pth``) must have that SHA-256 prefix.

  Example:
    >>> try:
    ...   load_inception('/nonexistent/pt_inception.pth')
    ... except FileNotFoundError as e:
    ...   print(e)
    no InceptionV3 weights at /nonexistent/pt_inception.pth
  """
  path = _download(os.path.expanduser(cache_dir)) if path is None else os.path.expanduser(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no InceptionV3 weights at {path}")
  if os.path.basename(path) == os.path.basename(WEIGHTS_URL):
    with open(path, "rb") as f:
      digest = hashlib.sha256(f.read()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
      raise ValueError(f"{path} has SHA-256 {digest[:8]}..., not {WEIGHTS_SHA256_PREFIX}...: the download is "
                       "corrupt or the file was modified")
  return Inception(variables_from_state_dict(_read_weights(path)))
