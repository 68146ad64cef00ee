"""The peer side of the CPU benchmarks, in plain PyTorch: ltot's MNIST conv autoencoder
(``ltot.nn.make_autoencoder("mnist_conv")``: same layers, shapes and parameter count) and one
TWAE round (encode N, NumPy LCM, m region updates with the sliced-Wasserstein penalty).

Needs ``pip install torch==2.13.0`` (and pythae for experiments/benchmarks/wae_vs_pythae.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tests.ot.reference import lcm_single_pass


def _same_pad(size: int, stride: int, kernel: int = 4) -> tuple[int, int]:
  """TensorFlow's SAME padding (before, after) along one axis."""
  total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, stride: int) -> torch.Tensor:
  (t, b), (l, r) = _same_pad(x.shape[2], stride), _same_pad(x.shape[3], stride)
  return F.pad(x, (l, r, t, b))


class Encoder(nn.Module):
  """[N, 1, 28, 28] -> [N, latent]: 4x4 stride-2 SAME convs with BN + ReLU, flatten (H, W, C order), FC."""

  def __init__(self, widths: tuple[int, ...], latent_dim: int):
    super().__init__()
    chans = (1,) + tuple(widths)
    self.convs = nn.ModuleList(nn.Conv2d(a, b, 4, 2, bias=False) for a, b in zip(chans, chans[1:]))
    self.norms = nn.ModuleList(nn.BatchNorm2d(b) for b in widths)
    self.fc = nn.Linear(2 * 2 * widths[-1], latent_dim)

  def forward(self, x):
    for conv, norm in zip(self.convs, self.norms):
      x = F.relu(norm(conv(_pad_same(x, 2))))
    return self.fc(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))


class Decoder(nn.Module):
  """[N, latent] -> [N, 1, 28, 28] in (0, 1): FC to 7x7 x widths[-1], two 4x4 stride-2 transposed convs
  with BN + ReLU, a 4x4 SAME conv to one channel, sigmoid."""

  def __init__(self, widths: tuple[int, ...], latent_dim: int):
    super().__init__()
    top, mid = widths[-1], (widths[2], widths[1])
    self.fc = nn.Linear(latent_dim, 7 * 7 * top)
    self.ups = nn.ModuleList([nn.ConvTranspose2d(top, mid[0], 4, 2, 1, bias=False),
                              nn.ConvTranspose2d(mid[0], mid[1], 4, 2, 1, bias=False)])
    self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in mid)
    self.out = nn.Conv2d(mid[1], 1, 4)

  def forward(self, z):
    x = self.fc(z).reshape(z.shape[0], 7, 7, -1).permute(0, 3, 1, 2)
    for up, norm in zip(self.ups, self.norms):
      x = F.relu(norm(up(x)))
    return torch.sigmoid(self.out(_pad_same(x, 1)))


def to_nchw(images: np.ndarray) -> torch.Tensor:
  """uint8 images [N, H, W, C] as the float tensor [N, C, H, W] in [0, 1] the torch models take."""
  return torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()


def widths_for(width: float) -> tuple[int, ...]:
  """The hidden widths of ltot's mnist_conv at ``width`` (as ``ltot.nn.architectures`` rounds them)."""
  return tuple(max(1, int(round(c * width))) for c in (128, 256, 512, 1024))


def sliced_w2(z: torch.Tensor, prior: torch.Tensor, num_projections: int, gen: torch.Generator) -> torch.Tensor:
  """Mean over random unit directions of the squared W2 between the projected samples (equal sizes)."""
  theta = torch.randn(num_projections, z.shape[1], generator=gen)
  theta = theta / theta.norm(dim=1, keepdim=True)
  a, _ = torch.sort(z @ theta.T, dim=0)
  b, _ = torch.sort(prior @ theta.T, dim=0)
  return ((a - b) ** 2).mean()


def region_priors(generators: np.ndarray, per_region: int, rng: np.random.Generator) -> np.ndarray:
  """[m, n, d]: n uniform points of the unit ball in each generator's Voronoi cell (draw, keep the first n)."""
  m, d = generators.shape
  kept = [[] for _ in range(m)]
  while min(len(k) for k in kept) < per_region:
    x = rng.standard_normal((2 * m * per_region, d))
    x *= rng.random((len(x), 1)) ** (1 / d) / np.linalg.norm(x, axis=1, keepdims=True)
    owner = np.argmin(((x[:, None] - generators[None]) ** 2).sum(-1), axis=1)
    for r in range(m):
      kept[r].extend(x[owner == r][:per_region - len(kept[r])])
  return np.stack([np.stack(k) for k in kept]).astype(np.float32)


def twae_round(encoder: Encoder, decoder: Decoder, opt: torch.optim.Optimizer, images: torch.Tensor,
               generators: np.ndarray, *, lam: float, recon_weight: float, num_projections: int,
               rng: np.random.Generator, gen: torch.Generator) -> float:
  """One TWAE round (Algorithm 1) on images [N, 1, 28, 28]; returns the last region's loss."""
  m = len(generators)
  per_region = len(images) // m
  with torch.no_grad():  # codes for the assignment from a train-mode pass, as ltot does
    z = encoder(images).numpy()
  labels = lcm_single_pass(((z[:, None] - generators[None]) ** 2).sum(-1), per_region)
  members = np.argsort(labels, kind="stable").reshape(m, per_region)
  priors = torch.from_numpy(region_priors(generators, per_region, rng))
  for k in range(m):
    x = images[torch.from_numpy(members[k])]
    codes = encoder(x)
    recon = ((decoder(codes) - x) ** 2).sum(dim=(1, 2, 3)).mean()
    loss = recon_weight * recon + lam * sliced_w2(codes, priors[k], num_projections, gen)
    opt.zero_grad()
    loss.backward()
    opt.step()
  return loss.item()
