"""Plain transcriptions of the papers' algorithms, the independent references for tests and benchmarks."""

import numpy as np


def lcm_literal(cost: np.ndarray, capacity: int) -> np.ndarray:
  """TWAE Algorithm 2 as written: take the smallest unmasked entry (first in row-major
  order on ties), assign, mask the row; mask the column once it holds `capacity` rows."""
  masked = np.array(cost, np.float64)
  n, m = masked.shape
  labels = np.full(n, -1)
  count = np.zeros(m, int)
  for _ in range(n):
    i, j = np.unravel_index(np.argmin(masked), masked.shape)  # argmin: first flat index among ties
    labels[i] = j
    count[j] += 1
    masked[i, :] = np.inf
    if count[j] == capacity:
      masked[:, j] = np.inf
  return labels


def lcm_single_pass(cost: np.ndarray, capacity: int) -> np.ndarray:
  """One pass over the entries in (value, flat index) order: accept if row free and column not full."""
  n, m = cost.shape
  labels = np.full(n, -1)
  count = np.zeros(m, int)
  done = 0
  for flat in np.argsort(cost, axis=None, kind="stable"):
    i, j = divmod(int(flat), m)
    if labels[i] < 0 and count[j] < capacity:
      labels[i], count[j], done = j, count[j] + 1, done + 1
      if done == n:
        break
  return labels
