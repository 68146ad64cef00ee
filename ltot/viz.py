"""Image grids as PNG files."""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image

__all__ = ["image_grid", "save_image_grid"]


def image_grid(images: np.ndarray, ncol: int | None = None, pad: int = 1) -> np.ndarray:
  """Tiles images [N, H, W, C] in [0, 1] into one uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C] array."""
  images = np.asarray(images, np.float32)
  if images.ndim != 4:
    raise ValueError(f"images must have shape [N, H, W, C], got {images.shape}")
  n, h, w, c = images.shape
  ncol = ncol or int(math.ceil(math.sqrt(n)))
  nrow = int(math.ceil(n / ncol))
  grid = np.ones((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), np.float32)
  for i, image in enumerate(np.clip(images, 0.0, 1.0)):
    r, col = divmod(i, ncol)
    grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (w + pad):pad + col * (w + pad) + w] = image
  return np.round(grid * 255).astype(np.uint8)


def save_image_grid(images: np.ndarray, path: str | os.PathLike, ncol: int | None = None) -> None:
  """Writes ``image_grid(images, ncol)`` to ``path`` (PNG)."""
  grid = image_grid(images, ncol)
  Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
