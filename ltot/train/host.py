"""The host process's memory allocator, as XLA's CPU runtime needs it.

Every run of a compiled XLA program on the CPU allocates its temporaries as one block (a
training step at the ``cpu`` presets' 1/16 width: about 56 MB) and frees it when the run ends.
glibc's malloc hands such a block back to the kernel when it is freed (``munmap``, or trimming
the top of a thread's heap), so the next step faults every page in again and the kernel zeroes
it: measured on the 2-core CPU, the loop's step of the ``cpu`` presets took about 16,200 page
faults and 42 ms of system time a step, and keeping the memory made the WAE-MMD and VAE steps 1.17x
and 1.30x faster (experiments/results/benchmarks.md, ``host_memory_kept``).
"""

from __future__ import annotations

import ctypes
import os
import sys

# glibc's mallopt parameters (malloc.h), and the size of its thread heaps on 64-bit Linux
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
_HEAP_MAX = 64 * 2 ** 20


def glibc() -> bool:
  """Whether this process runs on Linux with glibc, whose malloc ``keep_freed_host_memory`` tunes
  (musl and others have a ``mallopt`` that is not glibc's)."""
  return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


def keep_freed_host_memory() -> bool:
  """Makes glibc's malloc keep freed memory in the process for reuse; returns whether it applied.

  After the call, freed blocks stay in malloc's heaps, so a training step reuses the pages of
  the step before. Blocks larger than a thread heap (64 MB on 64-bit Linux; a wider model's
  step) are still mapped afresh on XLA's worker threads: glibc's thread heaps cannot hold them.
  It acts on what is allocated after it, so call it early; it can be called more than once.
  The price: memory the process freed is not returned to the system, so its resident size stays
  at its peak. No numbers change, only where buffers live.

  ``ltot``'s command line calls this first; a script or notebook that trains through the API
  calls it before its first JAX computation. A no-op returning False where the C library is
  not glibc (macOS, musl), or where the environment sets ``LTOT_KEEP_HOST_MEMORY=0`` (to keep
  malloc's defaults, e.g. beside other work that needs the memory back).

  Example:
    >>> keep_freed_host_memory() in (True, False)
    True
  """
  if not glibc() or os.environ.get("LTOT_KEEP_HOST_MEMORY") == "0":
    return False
  libc = ctypes.CDLL(None)
  # no block mapped on its own; no heap top handed back; and a pad of a whole thread heap, which
  # keeps a thread's emptied extra heaps from being unmapped (glibc's heap_trim)
  settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2 ** 31 - 1), (_M_TOP_PAD, _HEAP_MAX))
  return all([bool(libc.mallopt(param, value)) for param, value in settings])
