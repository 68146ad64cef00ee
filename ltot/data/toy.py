"""Two-dimensional toy distributions used by the papers' toy experiments.

Every sampler is ``f(rng: np.random.Generator, num, ...) -> float32 [num, 2]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eight_gaussians", "moons", "circles", "ring", "line_segment", "TOY_SETS", "toy_split"]


def _check_num(num: int) -> None:
  if int(num) <= 0:
    raise ValueError(f"num must be a positive number of points, got {num}")


def eight_gaussians(rng: np.random.Generator, num: int, *, radius: float = 10.0,
                    std: float = 1.0) -> np.ndarray:
  """Mixture of 8 isotropic Gaussians with centres evenly spaced on a circle.

  AE-OT's protocol: radius 10, sigma^2 = 1, 32 points per mode (num=256). Points
  are split as evenly as possible between the modes (mode i gets point i mod 8).

  Example:
    >>> import numpy as np
    >>> x = eight_gaussians(np.random.default_rng(0), 800)
    >>> x.shape, round(float(np.linalg.norm(x.mean(0))), 1)  # centres at radius 10 around the origin
    ((800, 2), 0.0)
  """
  _check_num(num)
  angles = 2 * np.pi * np.arange(8) / 8
  centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  modes = np.arange(num) % 8
  return (centres[modes] + std * rng.standard_normal((num, 2))).astype(np.float32)


def moons(rng: np.random.Generator, num: int, *, noise: float = 0.05) -> np.ndarray:
  """Two interleaving half circles (sklearn's make_moons geometry) plus Gaussian noise.

  Points are i.i.d.: each picks a half circle with probability 1/2 and a uniform angle on it
  (sklearn spaces the angles evenly instead; two such samples nearly coincide, which would
  make a data-vs-data transport distance an unfairly low floor for a generator's i.i.d. samples).

  Example:
    >>> import numpy as np
    >>> x = moons(np.random.default_rng(0), 1000)
    >>> x.shape, x.dtype.name
    ((1000, 2), 'float32')
  """
  _check_num(num)
  t = rng.uniform(0, np.pi, num)
  outer = np.stack([np.cos(t), np.sin(t)], 1)
  inner = np.stack([1 - np.cos(t), 1 - np.sin(t) - 0.5], 1)
  pts = np.where(rng.random(num)[:, None] < 0.5, outer, inner)
  return (pts + noise * rng.standard_normal((num, 2))).astype(np.float32)


def circles(rng: np.random.Generator, num: int, *, noise: float = 0.05,
            factor: float = 0.5) -> np.ndarray:
  """Two concentric circles of radii 1 and ``factor`` (sklearn's make_circles geometry) plus Gaussian
  noise; i.i.d. points as in ``moons``: a circle with probability 1/2, a uniform angle on it.

  Example:
    >>> import numpy as np
    >>> x = circles(np.random.default_rng(0), 1000, noise=0.0)
    >>> sorted(set(np.round(np.linalg.norm(x, axis=1), 3).tolist()))  # the two radii
    [0.5, 1.0]
  """
  _check_num(num)
  if not 0 < factor < 1:
    raise ValueError(f"factor must be in (0, 1), got {factor}")
  t = rng.uniform(0, 2 * np.pi, num)
  radius = np.where(rng.random(num) < 0.5, 1.0, factor)[:, None]
  pts = radius * np.stack([np.cos(t), np.sin(t)], 1)
  return (pts + noise * rng.standard_normal((num, 2))).astype(np.float32)


def ring(rng: np.random.Generator, num: int, *, radius: float = 1.0,
         width: float = 0.05) -> np.ndarray:
  """OTS/FIT Figure 1's target: uniform angle, radius uniform in [radius - width, radius + width].

  Example:
    >>> import numpy as np
    >>> r = np.linalg.norm(ring(np.random.default_rng(0), 1000), axis=1)
    >>> bool(r.min() >= 0.95 and r.max() <= 1.05)
    True
  """
  _check_num(num)
  theta = rng.uniform(0, 2 * np.pi, num)
  r = rng.uniform(radius - width, radius + width, num)
  return np.stack([r * np.cos(theta), r * np.sin(theta)], 1).astype(np.float32)


def line_segment(rng: np.random.Generator, num: int, *, half_length: float = 0.5) -> np.ndarray:
  """OTS/FIT Figure 1's initial distribution: uniform on a horizontal segment through 0.

  Example:
    >>> import numpy as np
    >>> x = line_segment(np.random.default_rng(0), 100)
    >>> bool(np.all(np.abs(x[:, 0]) <= 0.5)), bool(np.all(x[:, 1] == 0))
    (True, True)
  """
  _check_num(num)
  x = rng.uniform(-half_length, half_length, num)
  return np.stack([x, np.zeros_like(x)], 1).astype(np.float32)


TOY_SETS = {"eight_gaussians": eight_gaussians, "moons": moons, "circles": circles, "ring": ring}


def toy_split(name: str, split: str, *, seed: int, num: int, noise: float | None = None) -> np.ndarray:
  """``num`` points [num, 2] of toy set ``name`` for a run's ``split``: "train" draws from
  ``default_rng([seed, 0])``, "test" from ``default_rng([seed, 1])`` (fresh points, as the
  reproduce scripts score against); ``noise`` sets moons' / circles' noise std.

  Example:
    >>> toy_split('ring', 'train', seed=0, num=5).shape
    (5, 2)
    >>> bool((toy_split('moons', 'train', seed=0, num=5) != toy_split('moons', 'test', seed=0, num=5)).all())
    True
  """
  if name not in TOY_SETS:
    raise ValueError(f"unknown toy set {name!r}; known: {sorted(TOY_SETS)}")
  if split not in ("train", "test"):
    raise ValueError(f"a toy set's split is 'train' or 'test', got {split!r}")
  kwargs = {"noise": noise} if noise is not None and name in ("moons", "circles") else {}
  return TOY_SETS[name](np.random.default_rng([seed, 0 if split == "train" else 1]), num, **kwargs)
