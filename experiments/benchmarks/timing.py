"""Median wall times: of a jitted call after compilation, and of a host (NumPy/SciPy/POT) call."""

from __future__ import annotations

import statistics
import time

import jax
import numpy as np


def median_seconds(fn, *args, repeats: int = 5) -> float:
  """Calls ``fn(*args)`` once to compile, then ``repeats`` times; returns the median seconds."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t)
  return statistics.median(times)


def host_median(fn, *args, repeats: int = 5) -> tuple[float, object]:
  """(median seconds over ``repeats`` calls of fn(*args), the last result); for non-JAX peers."""
  times, out = [], None
  for _ in range(repeats):
    t = time.perf_counter()
    out = fn(*args)
    times.append(time.perf_counter() - t)
  return float(np.median(times)), out
