"""Image grids as PNG files."""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image

__all__ = ["image_grid", "plot_tessellation", "region_image", "save_image_grid", "save_points"]


def image_grid(images: np.ndarray, ncol: int | None = None, pad: int = 1) -> np.ndarray:
  """Tiles images [N, H, W, C] in [0, 1] into one uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C] array.

  Example:
    >>> import numpy as np
    >>> image_grid(np.zeros((6, 28, 28, 1)), ncol=3).shape  # 2 rows of 3, 1-pixel padding
    (59, 88, 1)
  """
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
  """Writes ``image_grid(images, ncol)`` to ``path`` (PNG).

  Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), 'grid.png')
    >>> save_image_grid(np.random.default_rng(0).uniform(size=(4, 8, 8, 3)), path)
    >>> os.path.getsize(path) > 0
    True
  """
  grid = image_grid(images, ncol)
  Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)


def save_points(points: np.ndarray, path: str | os.PathLike, *, reference: np.ndarray | None = None,
                paths: np.ndarray | None = None, title: str | None = None) -> None:
  """Scatter plot (PNG) of 2-D points [n, 2] (the first two coordinates of [n, d]), over grey
  ``reference`` points [m, 2] (e.g. data) and with polylines ``paths`` [k, steps, 2] when given.

  Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), 'points.png')
    >>> save_points(np.random.default_rng(0).normal(size=(100, 2)), path)
    >>> os.path.getsize(path) > 0
    True
  """
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  points = np.asarray(points)
  if points.ndim != 2 or points.shape[1] < 2:
    raise ValueError(f"points must have shape [n, d >= 2], got {points.shape}")
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  if reference is not None:
    ax.scatter(reference[:, 0], reference[:, 1], s=3, c="0.75", label="data")
  ax.scatter(points[:, 0], points[:, 1], s=3, c="C0", label="samples")
  for line in () if paths is None else paths:
    ax.plot(line[:, 0], line[:, 1], c="C3", lw=1)
  ax.set_aspect("equal")
  if title:
    ax.set_title(title)
  if reference is not None:
    ax.legend(fontsize="small", loc="upper right")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def region_image(generators: np.ndarray, resolution: int = 400) -> np.ndarray:
  """Region index [resolution, resolution] int32 of a grid over [-1, 1]^2 (row 0 at y = 1), -1 outside the unit disk.

  Example:
    >>> import numpy as np
    >>> img = region_image(np.array([[-0.5, 0.0], [0.5, 0.0]]), resolution=50)
    >>> img.shape
    (50, 50)
  """
  from ltot.tessellation import assign_regions  # viz sits on top of the library; import on use keeps it light

  generators = np.asarray(generators)
  if generators.ndim != 2 or generators.shape[1] != 2:
    raise ValueError(f"generators must have shape [m, 2], got {generators.shape}")
  t = (np.arange(resolution) + 0.5) / resolution * 2 - 1
  xx, yy = np.meshgrid(t, t[::-1])
  grid = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
  labels = np.asarray(assign_regions(grid, generators.astype(np.float32))).reshape(resolution, resolution)
  return np.where(xx**2 + yy**2 <= 1, labels, -1).astype(np.int32)


def plot_tessellation(generators: np.ndarray, *, ax=None, samples: np.ndarray | None = None, resolution: int = 400):
  """Draws the Voronoi regions of 2-D generators [m, 2] inside the unit disk, the generators, and
  optionally samples [..., 2]; returns the matplotlib Axes.

  Example:
    >>> import matplotlib
    >>> matplotlib.use('Agg')
    >>> import numpy as np
    >>> ax = plot_tessellation(np.array([[-0.5, 0.0], [0.5, 0.0]]), resolution=50)
    >>> type(ax).__name__
    'Axes'
  """
  import matplotlib.pyplot as plt

  regions = region_image(generators, resolution)
  if ax is None:
    _, ax = plt.subplots(figsize=(5, 5))
  shown = np.ma.masked_less(regions, 0)
  ax.imshow(shown % 20, cmap="tab20", extent=(-1, 1, -1, 1), interpolation="nearest", alpha=0.6, vmin=0, vmax=19)
  if samples is not None:
    pts = np.asarray(samples).reshape(-1, 2)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, c="k", alpha=0.4)
  g = np.asarray(generators)
  ax.scatter(g[:, 0], g[:, 1], s=25, c="red", marker="x")
  ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="k"))
  ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), aspect="equal")
  ax.set_axis_off()
  return ax
