"""One loader for every image dataset ltot knows, all through TFDS data sources.

``mnist`` and ``fashion_mnist`` are prepared by ltot's own builders from the files
shipped on this kind of machine (same content and splits as TFDS's builders of the
same names); ``celeb_a``, ``lsun/bedroom`` and ``cifar10`` go through TFDS's own
builders and are prepared on first use where the machine can download them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Callable

import numpy as np
from PIL import Image

from ltot.data import sources
from ltot.data.toy import TOY_SETS, toy_split
from ltot.data.user import is_user_dataset, load_user

__all__ = ["ImageData", "DATASETS", "load", "load_split", "is_dataset", "is_image_dataset", "center_crop_resize",
           "default_data_dir"]


@dataclasses.dataclass(frozen=True)
class ImageData:
  """A split held in memory: ``images`` uint8 [N, H, W, C] (or, for the 2-D toys, float32 points
  [N, d]), ``labels`` int64 [N] or None."""

  images: np.ndarray
  labels: np.ndarray | None

  def __len__(self) -> int:
    return self.images.shape[0]


def center_crop_resize(image: np.ndarray, crop: int | None, size: int) -> np.ndarray:
  """Center-crops ``image`` [H, W, C] to ``crop`` x ``crop`` (None: largest square), resizes to ``size``.

  The WAE/TWAE CelebA preprocessing is ``crop=140, size=64``. Resizing is PIL's
  bilinear filter with antialiasing, on the uint8 image.

  Example:
    >>> import numpy as np
    >>> center_crop_resize(np.zeros((218, 178, 3), np.uint8), 140, 64).shape  # CelebA's crop
    (64, 64, 3)
  """
  h, w = image.shape[:2]
  crop = min(h, w) if crop is None else crop
  if crop > min(h, w):
    raise ValueError(f"crop={crop} is larger than the image ({h}x{w})")
  top, left = (h - crop) // 2, (w - crop) // 2
  patch = image[top:top + crop, left:left + crop]
  squeeze = patch.shape[-1] == 1
  pil = Image.fromarray(patch[..., 0] if squeeze else patch)
  out = np.asarray(pil.resize((size, size), Image.BILINEAR))
  return out[..., None] if squeeze else out


@dataclasses.dataclass(frozen=True)
class _Spec:
  tfds_name: str
  howto: str
  transform: Callable[[np.ndarray], np.ndarray] | None = None


_TFDS_HOWTO = ("TFDS downloads it on first use where the machine has network; otherwise "
               "prepare it elsewhere with tfds.builder({name!r}).download_and_prepare("
               "file_format='array_record') and copy the folder into {data_dir}")

DATASETS: dict[str, _Spec] = {
    "mnist": _Spec("ltot_mnist", sources.MNIST_HOWTO),
    "fashion_mnist": _Spec("ltot_fashion_mnist", sources.FASHION_HOWTO),
    "celeb_a": _Spec("celeb_a", _TFDS_HOWTO, lambda im: center_crop_resize(im, 140, 64)),
    "lsun/bedroom": _Spec("lsun/bedroom", _TFDS_HOWTO, lambda im: center_crop_resize(im, None, 64)),
    "cifar10": _Spec("cifar10", _TFDS_HOWTO),
}


def default_data_dir() -> str:
  """The TFDS data folder: ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``.

  Example:
    >>> import os
    >>> os.environ['TFDS_DATA_DIR'] = '/data/tfds'
    >>> default_data_dir()
    '/data/tfds'
    >>> del os.environ['TFDS_DATA_DIR']
  """
  return os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))


def _builder(spec: _Spec, data_dir: str):
  import tensorflow_datasets as tfds  # heavy: imported only when data is loaded
  from ltot.data import builders  # registers ltot_mnist / ltot_fashion_mnist with TFDS
  del builders
  return tfds.builder(spec.tfds_name, data_dir=data_dir, file_format="array_record")


def load(name: str, split: str, *, data_dir: str | None = None, download: bool = True,
         limit: int | None = None) -> ImageData:
  """Loads ``split`` of dataset ``name`` into memory as uint8 images and labels.

  Args:
    name: one of ``DATASETS`` (``mnist``, ``fashion_mnist``, ``celeb_a``,
      ``lsun/bedroom``, ``cifar10``).
    split: a TFDS split name, e.g. ``"train"`` or ``"test"``.
    data_dir: TFDS data folder (default ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
    download: prepare the dataset if it is not there yet.
    limit: keep only the first ``limit`` examples (the split's order is fixed).

  A whole split read once is kept decoded next to the prepared TFDS files
  (``ltot-decoded-v1-SPLIT-{images,labels}.npy``, uint8 and int64 arrays), and later processes
  read those instead of decoding every record again (seconds for MNIST, minutes for CelebA);
  arrays cut short, of another length, or whose first or last example differs from the record's
  are decoded and written again, and a folder that cannot be written goes without them.

  Raises:
    ValueError: unknown ``name`` or ``split``.
    MissingDataError: the data is not prepared and cannot be; the message says how to get it.

  Example:
    >>> test = load('mnist', 'test', limit=5)
    >>> test.images.shape, test.images.dtype.name, test.labels.tolist()
    ((5, 28, 28, 1), 'uint8', [7, 2, 1, 0, 4])
  """
  key = (name, split, os.path.abspath(data_dir or default_data_dir()), limit)
  if key not in _LOADED:
    _LOADED[key] = _read(name, split, data_dir=data_dir, download=download, limit=limit)
  return _LOADED[key]


# Splits read in this process (read-only arrays): reading MNIST's 70,000 records takes seconds, and
# a process (a notebook, the test suite) often asks for the same split again.
_LOADED: dict[tuple, ImageData] = {}


def _read(name: str, split: str, *, data_dir: str | None, download: bool, limit: int | None) -> ImageData:
  """``load`` without the cache."""
  if name not in DATASETS:
    raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
  spec, data_dir = DATASETS[name], data_dir or default_data_dir()
  builder = _builder(spec, data_dir)
  howto = spec.howto.format(name=name, data_dir=data_dir)
  if not builder.is_prepared():
    if not download:
      raise sources.MissingDataError(f"dataset {name!r} is not prepared in {data_dir}. {howto}")
    try:
      builder.download_and_prepare()
    except sources.MissingDataError:
      raise
    except Exception as e:  # network or source failures of TFDS's own builders
      raise sources.MissingDataError(f"could not prepare dataset {name!r} ({type(e).__name__}: {e}). {howto}") from e
  if split not in builder.info.splits:
    raise ValueError(f"dataset {name!r} has no split {split!r}; it has {sorted(builder.info.splits)}")
  source = builder.as_data_source(split)
  total = len(source)
  count = total if limit is None else min(limit, total)
  if count == 0:
    raise ValueError(f"dataset {name!r} split {split!r} is empty")
  paths = _decoded_paths(builder.data_dir, split)
  result = _read_decoded(paths, count, _decode(source, spec, [0, total - 1]))
  if result is None:
    result = _decode(source, spec, range(count))
    if count == total:
      _write_decoded(paths, result)
  for array in (result.images, result.labels):
    if array is not None:
      array.flags.writeable = False  # shared by every caller of the cache
  return result


def _decode(source, spec: _Spec, indices) -> ImageData:
  """Records ``indices`` of a TFDS data source, decoded (and transformed) into uint8 images and labels."""
  indices = list(indices)
  images, labels = [], []
  for start in range(0, len(indices), 10_000):
    for record in source.__getitems__(indices[start:start + 10_000]):
      image = np.asarray(record["image"])
      images.append(spec.transform(image) if spec.transform else image)
      if "label" in record:
        labels.append(record["label"])
  return ImageData(np.stack(images).astype(np.uint8), np.asarray(labels, np.int64) if labels else None)


# A whole split, once decoded, is kept next to the prepared TFDS files as .npy arrays: decoding
# MNIST's 70,000 PNG records takes seconds in every new process (a run, `ltot eval`, a notebook),
# reading the arrays back a few milliseconds. Bump the version when a transform changes.
_DECODED_VERSION = 1


def _decoded_paths(folder: str, split: str) -> tuple[str, str]:
  stem = os.path.join(folder, f"ltot-decoded-v{_DECODED_VERSION}-{split}")
  return f"{stem}-images.npy", f"{stem}-labels.npy"


def _read_decoded(paths: tuple[str, str], count: int, ends: ImageData) -> ImageData | None:
  """The first ``count`` examples of a decoded split, or None where its files are missing, cut short,
  of another length, or disagree with ``ends`` (the split's first and last records, freshly decoded)."""
  try:
    images = np.load(paths[0], mmap_mode="r", allow_pickle=False)
    labels = np.load(paths[1], mmap_mode="r", allow_pickle=False) if ends.labels is not None else None
  except (OSError, ValueError):
    return None
  if images.dtype != np.uint8 or images.ndim != 4 or not np.array_equal(images[[0, -1]], ends.images):
    return None
  if labels is not None and (labels.shape != images.shape[:1] or not np.array_equal(labels[[0, -1]], ends.labels)):
    return None
  return ImageData(np.array(images[:count]), None if labels is None else np.array(labels[:count]))


def _write_decoded(paths: tuple[str, str], data: ImageData) -> None:
  """Writes ``_read_decoded``'s files (each complete or not at all); a data folder that cannot be
  written just goes without them."""
  for path, array in ((paths[1], data.labels), (paths[0], data.images)):
    if array is None:
      continue
    tmp = None
    try:
      fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
      with os.fdopen(fd, "wb") as f:
        np.save(f, array)
      os.chmod(tmp, os.stat(os.path.dirname(path)).st_mode & 0o666)  # readable as the folder is, not mkstemp's 0600
      os.replace(tmp, path)
    except OSError:
      if tmp is not None and os.path.exists(tmp):
        os.remove(tmp)
      return


def is_dataset(name: str) -> bool:
  """Whether ``name`` is a dataset of ``DATASETS``, a 2-D toy set of ``TOY_SETS``, or the user's
  own images, ``npy:PATH`` / ``folder:PATH`` (``ltot.data.user``).

  Example:
    >>> is_dataset('mnist'), is_dataset('moons'), is_dataset('folder:/data/faces'), is_dataset('mnsit')
    (True, True, True, False)
  """
  return name in DATASETS or name in TOY_SETS or is_user_dataset(name)


def is_image_dataset(name: str) -> bool:
  """Whether ``name`` is a dataset of images: one of ``DATASETS`` or the user's own (not a 2-D toy set).

  Example:
    >>> is_image_dataset('mnist'), is_image_dataset('npy:/data/x'), is_image_dataset('moons')
    (True, True, False)
  """
  return name in DATASETS or is_user_dataset(name)


def load_split(config, split: str) -> ImageData:
  """The ``split`` of the data a run config names: ``config.dataset`` of ``DATASETS`` (``load``),
  the user's images ``npy:PATH`` / ``folder:PATH`` (``ltot.data.user.load_user``), or a 2-D toy of
  ``TOY_SETS`` drawn from the run's seed (``toy_split``): ``config.num_train`` points for
  "train", ``config.num_eval_examples`` fresh ones for "test", moons / circles with noise
  ``config.toy_noise`` where the config has one. For a dataset of ``DATASETS``, an optional
  ``config.num_train`` (0 or absent: all) keeps the first ``num_train`` examples of the train
  split, in the split's fixed order (a budget for the runs that keep the dataset on the devices).

  Example:
    >>> import ml_collections
    >>> c = ml_collections.ConfigDict(dict(dataset='ring', seed=0, num_train=100, num_eval_examples=50))
    >>> load_split(c, 'train').images.shape, load_split(c, 'test').images.shape
    ((100, 2), (50, 2))
  """
  if config.dataset in TOY_SETS:
    num = config.num_train if split == "train" else config.num_eval_examples
    return ImageData(toy_split(config.dataset, split, seed=config.seed, num=num, noise=config.get("toy_noise")), None)
  if is_user_dataset(config.dataset):
    return ImageData(load_user(config.dataset, split), None)
  limit = config.get("num_train") if split == "train" else None
  data = load(config.dataset, split, limit=limit or None)
  if limit and len(data) < limit:
    raise ValueError(f"num_train={limit} but the {config.dataset} train split has {len(data)} examples")
  return data
