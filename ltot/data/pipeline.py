"""Deterministic, step-indexed input pipeline, sharded across devices and hosts.

``Batches(step)`` depends only on the seed and the step: epoch ``e`` is a
permutation drawn from ``np.random.default_rng([seed, e])``, and step ``s`` takes
the ``s``-th slice of the concatenated epochs (the last partial batch of an epoch
is dropped). So a run resumed at step ``s`` sees exactly the batches an
uninterrupted run sees, on any number of devices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Batches", "DataError", "to_unit_float", "check_images", "check_arrays"]


class DataError(ValueError):
  """Data that a method cannot take (shape, dtype, range, NaN); the message says what was found."""


def to_unit_float(images):
  """uint8 images [..., H, W, C] (0..255) -> float32 in [0, 1]; float images pass through.

  NumPy in, NumPy out; JAX in (traced too), JAX out: the one conversion the data
  pipeline, the methods and the feature networks share.

  Example:
    >>> import numpy as np
    >>> to_unit_float(np.array([0, 51, 255], np.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
  """
  if images.dtype == np.uint8:
    return images.astype(np.float32) / np.float32(255.0)
  return images


def check_images(x: np.ndarray, name: str = "images") -> None:
  """Raises DataError (a ValueError) unless ``x`` is finite and in [0, 1].

  Example:
    >>> import numpy as np
    >>> check_images(np.zeros((2, 28, 28, 1)))  # fine: nothing happens
    >>> try:
    ...   check_images(np.full((2, 28, 28, 1), 255.0))
    ... except ValueError as e:
    ...   print('ValueError')
    ValueError
  """
  if x.size == 0:
    raise DataError(f"{name} is empty")
  if not np.all(np.isfinite(x)):
    raise DataError(f"{name} contains NaN or Inf")
  lo, hi = float(x.min()), float(x.max())
  if lo < 0.0 or hi > 1.0:
    hint = " (pixels in 0..255? pass them as uint8, or divide by 255)" if hi > 1.0 and hi <= 255.0 else ""
    raise DataError(f"{name} must lie in [0, 1]; found values in [{lo:g}, {hi:g}]{hint}")


def _shape_text(shape) -> str:
  return "x".join(str(s) for s in shape)


def check_arrays(x, name: str = "data", example_shapes: tuple[tuple[int, ...], ...] | None = None) -> None:
  """The one check of a method's data: images [N, H, W, C] (uint8, or floats in [0, 1]) or points
  [N, d] (finite floats), each example of one of ``example_shapes`` when given. Raises DataError.

  Example:
    >>> import numpy as np
    >>> check_arrays(np.zeros((4, 28, 28, 1), np.uint8), example_shapes=((28, 28, 1),))  # fine
    >>> try:
    ...   check_arrays(np.zeros((4, 32, 32, 3), np.uint8), example_shapes=((28, 28, 1),))
    ... except DataError as e:
    ...   print(e)
    data are examples of shape 32x32x3, but this method takes 28x28x1
  """
  x = np.asarray(x)
  if x.ndim not in (2, 4):
    raise DataError(f"{name} must be images [N, H, W, C] or points [N, d], got an array of shape {x.shape}")
  if example_shapes is not None and tuple(x.shape[1:]) not in {tuple(s) for s in example_shapes}:
    raise DataError(f"{name} are examples of shape {_shape_text(x.shape[1:])}, but this method takes "
                    + " or ".join(_shape_text(s) for s in example_shapes))
  if x.dtype == np.uint8:
    if x.ndim != 4:
      raise DataError(f"{name}: uint8 data must be images [N, H, W, C], got shape {x.shape}")
    if x.size == 0:
      raise DataError(f"{name} is empty")
    return
  if not np.issubdtype(x.dtype, np.floating):
    raise DataError(f"{name} must be uint8 images or floats, got dtype {x.dtype}")
  if x.ndim == 4:
    check_images(x, name)
  elif x.size == 0 or not np.all(np.isfinite(x)):
    raise DataError(f"{name} is empty or contains NaN or Inf")


class Batches:
  """Global batches of ``arrays`` for step ``s``, as this host's per-device shards.

  Args:
    arrays: dict of arrays with a common leading size N.
    batch_size: the global batch size (over all devices of all hosts).
    seed: shuffling seed.
    num_devices: local devices; each gets ``batch_size / (num_devices * process_count)``.
    process_index, process_count: this host's index and the number of hosts.

  Calling ``batches(step)`` returns the same dict with leaves of shape
  ``[num_devices, per_device, ...]``.
  """

  def __init__(self, arrays: dict[str, np.ndarray], batch_size: int, *, seed: int,
               num_devices: int = 1, process_index: int = 0, process_count: int = 1):
    sizes = {k: v.shape[0] for k, v in arrays.items()}
    if not arrays or len(set(sizes.values())) != 1:
      raise ValueError(f"arrays must be non-empty with one leading size, got {sizes}")
    self.num_examples = next(iter(sizes.values()))
    if self.num_examples == 0:
      raise ValueError("the dataset is empty")
    shards = num_devices * process_count
    if batch_size <= 0 or batch_size % shards:
      raise ValueError(f"batch_size={batch_size} must be a positive multiple of the number of "
                       f"devices over all hosts ({num_devices} x {process_count} = {shards})")
    if batch_size > self.num_examples:
      raise ValueError(f"batch_size={batch_size} exceeds the dataset size {self.num_examples}")
    if not 0 <= process_index < process_count:
      raise ValueError(f"process_index={process_index} not in [0, {process_count})")
    self.arrays = arrays
    self.batch_size = batch_size
    self.seed = seed
    self.num_devices = num_devices
    self.process_index = process_index
    self.process_count = process_count
    self.steps_per_epoch = self.num_examples // batch_size
    self._epoch: tuple[int, np.ndarray] | None = None  # the current epoch's permutation

  def _permutation(self, epoch: int) -> np.ndarray:
    if self._epoch is None or self._epoch[0] != epoch:
      self._epoch = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.num_examples))
    return self._epoch[1]

  def global_indices(self, step: int) -> np.ndarray:
    """Indices [batch_size] of the global batch of ``step``."""
    epoch, i = divmod(int(step), self.steps_per_epoch)
    return self._permutation(epoch)[i * self.batch_size:(i + 1) * self.batch_size]

  def __call__(self, step: int) -> dict[str, np.ndarray]:
    per_host = self.batch_size // self.process_count
    idx = self.global_indices(step)[self.process_index * per_host:(self.process_index + 1) * per_host]
    return {k: v[idx].reshape((self.num_devices, per_host // self.num_devices) + v.shape[1:])
            for k, v in self.arrays.items()}
