"""Datasets (real images through TFDS, 2-D toys) and the input pipeline."""

from ltot.data.datasets import (DATASETS, ImageData, center_crop_resize, default_data_dir, is_dataset, is_image_dataset,
                                load, load_split)
from ltot.data.pipeline import Batches, DataError, check_arrays, check_images, to_unit_float
from ltot.data.sources import MissingDataError
from ltot.data.toy import TOY_SETS, circles, eight_gaussians, line_segment, moons, ring, toy_split

__all__ = [
    "DATASETS", "ImageData", "center_crop_resize", "default_data_dir", "is_dataset", "is_image_dataset", "load",
    "load_split",
    "Batches", "DataError", "check_arrays", "check_images", "to_unit_float", "MissingDataError",
    "TOY_SETS", "circles", "eight_gaussians", "line_segment", "moons", "ring", "toy_split",
]
