"""Median wall times: of a jitted call after compilation, of a host (NumPy/SciPy/POT) call, and of
several calls timed side by side."""

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


def alternating_medians(calls: dict, repeats: int, block: int = 1,
                        uncounted: int = 0) -> tuple[dict[str, float], dict[str, object]]:
  """Times ``calls`` ({name: fn()}, each blocking until its result is ready) side by side: one
  warm-up call each (JAX compiles), then ``repeats`` rounds in which each runs ``block`` times in
  turn, the first ``uncounted`` calls of each block not timed (where one framework's worker threads,
  still spinning after the other's call, would slow the next). Returns the median seconds per name
  and each warm-up call's result."""
  first = {k: f() for k, f in calls.items()}
  times = {k: [] for k in calls}
  for _ in range(repeats):
    for k, f in calls.items():
      for i in range(block):
        t = time.perf_counter()
        f()
        if i >= uncounted:
          times[k].append(time.perf_counter() - t)
  return {k: statistics.median(v) for k, v in times.items()}, first
