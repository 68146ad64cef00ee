"""Median wall time of a jitted call after compilation."""

from __future__ import annotations

import statistics
import time

import jax


def median_seconds(fn, *args, repeats: int = 5) -> float:
  """Calls ``fn(*args)`` once to compile, then ``repeats`` times; returns the median seconds."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t)
  return statistics.median(times)
