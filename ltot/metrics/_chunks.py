"""Running a feature network over many images a chunk at a time (shared by the shipped feature nets)."""

from __future__ import annotations

from typing import Callable

import numpy as np

FeatureFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def features_in_chunks(apply: FeatureFn, images, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """(features [N, k], logits [N, c]) as NumPy, from ``apply`` on ``images[i:i + batch_size]`` in turn."""
  feats, logits = [], []
  for start in range(0, len(images), batch_size):
    f, lg = apply(images[start:start + batch_size])
    feats.append(np.asarray(f))
    logits.append(np.asarray(lg))
  return np.concatenate(feats), np.concatenate(logits)
