"""Your own images as a dataset: ``npy:PATH`` (an array) and ``folder:PATH`` (PNG / JPEG files).

``config.dataset`` may name either; ``ltot train``, ``eval`` and ``sample`` read them like the
shipped datasets (``ltot.data.load_split``):

- ``npy:FILE.npy``: one array, images [N, H, W, C] (or [N, H, W], taken as one channel), uint8 or
  floats in [0, 1]. It is both the train and the test split (there is no held-out part: the
  scores of ``ltot eval`` are then on the training images). ``npy:DIR`` reads ``DIR/train.npy``
  and ``DIR/test.npy``.
- ``folder:DIR``: every ``.png`` / ``.jpg`` / ``.jpeg`` under ``DIR`` (sorted paths, sub-folders
  included); with ``DIR/train`` and ``DIR/test`` sub-folders, each is its split. All images must
  have one size and one channel count (greyscale L, or RGB); they are read with Pillow.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ltot.data.pipeline import DataError, check_arrays

__all__ = ["PREFIXES", "is_user_dataset", "load_user"]

PREFIXES = ("npy:", "folder:")
_EXTENSIONS = (".png", ".jpg", ".jpeg")
_CACHE: dict[tuple, np.ndarray] = {}


def is_user_dataset(name: str) -> bool:
  """Whether ``name`` is ``npy:PATH`` or ``folder:PATH``.

  Example:
    >>> is_user_dataset('npy:/data/faces.npy'), is_user_dataset('mnist')
    (True, False)
  """
  return isinstance(name, str) and name.startswith(PREFIXES) and len(name.partition(":")[2]) > 0


def _npy(path: str, split: str) -> np.ndarray:
  if os.path.isdir(path):
    path = os.path.join(path, f"{split}.npy")
  if not os.path.isfile(path):
    raise DataError(f"npy dataset: {path} is not a file (give FILE.npy, or a folder with train.npy and test.npy)")
  try:
    x = np.load(path, allow_pickle=False)
  except ValueError as e:
    raise DataError(f"npy dataset: cannot read {path} as a plain array ({e})") from e
  return x[..., None] if x.ndim == 3 else x


def _read_image(path: str) -> np.ndarray:
  try:
    with Image.open(path) as im:
      if im.mode not in ("L", "RGB"):
        im = im.convert("RGB" if im.mode in ("RGBA", "P", "CMYK", "YCbCr") else "L")
      x = np.asarray(im)
  except OSError as e:
    raise DataError(f"folder dataset: cannot read the image {path} ({e})") from e
  return x[..., None] if x.ndim == 2 else x


def _folder(path: str, split: str) -> np.ndarray:
  if not os.path.isdir(path):
    raise DataError(f"folder dataset: {path} is not a folder")
  if os.path.isdir(os.path.join(path, "train")):
    path = os.path.join(path, split)
    if not os.path.isdir(path):
      raise DataError(f"folder dataset: {os.path.dirname(path)} has a train/ sub-folder but no {split}/")
  files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names
                 if f.lower().endswith(_EXTENSIONS))
  if not files:
    raise DataError(f"folder dataset: no {'/'.join(_EXTENSIONS)} images under {path}")
  images = [_read_image(f) for f in files]
  shapes: dict[tuple, str] = {}
  for f, x in zip(files, images):
    shapes.setdefault(x.shape, f)
  if len(shapes) > 1:
    kinds = "; ".join(f"{'x'.join(map(str, s))} (e.g. {f})" for s, f in list(shapes.items())[:3])
    raise DataError(f"folder dataset: the images under {path} differ in size or channels: {kinds}. "
                    "Resize them to one size (and one of greyscale / RGB) first")
  return np.stack(images)


def _stamp(path: str) -> tuple:
  """(file, size, mtime) of every file under ``path`` (or of ``path`` itself): a changed dataset reads anew."""
  if os.path.isfile(path):
    files = [path]
  else:
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names)
  return tuple((f, os.path.getsize(f), os.path.getmtime(f)) for f in files)


def load_user(name: str, split: str) -> np.ndarray:
  """Images [N, H, W, C] of split ``split`` ("train" or "test") of ``npy:PATH`` / ``folder:PATH``.

  Raises DataError naming the file and the problem (missing, unreadable, mixed sizes or channels,
  values outside [0, 1], NaN). Arrays are read once per process (again if a file changes).

  Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), 'faces.npy')
    >>> np.save(path, np.zeros((10, 32, 32, 3), np.uint8))
    >>> load_user(f'npy:{path}', 'train').shape
    (10, 32, 32, 3)
  """
  if not is_user_dataset(name):
    raise ValueError(f"a user dataset is npy:PATH or folder:PATH, got {name!r}")
  if split not in ("train", "test"):
    raise ValueError(f"split must be 'train' or 'test', got {split!r}")
  kind, _, path = name.partition(":")
  path = os.path.abspath(os.path.expanduser(path))
  key = (kind, path, split, _stamp(path))
  if key not in _CACHE:
    x = _npy(path, split) if kind == "npy" else _folder(path, split)
    check_arrays(x, f"the images of {name}")
    if x.ndim != 4:
      raise DataError(f"{name} must hold images [N, H, W, C], got an array of shape {x.shape}")
    x.flags.writeable = False
    _CACHE[key] = x
  return _CACHE[key]
