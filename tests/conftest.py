"""Shared fixtures. Tests run on the CPU; data-parallel tests force 4 host devices
in a subprocess-free way by setting XLA_FLAGS before jax is first imported."""

import atexit
import os
import shutil
import tempfile

# Four CPU devices for the data-parallel tests; 1-device runs select devices[:1]. The suite's
# programs are small and run a few steps, so compiling them is most of its time: LLVM's
# optimisation level 0 compiles a 2-step WAE run's programs in 6.3 s instead of 11.6 s, and ran
# tests/ot, tessellation and discrepancy in 293 s instead of 359 s on the 2-core CPU.
# Subprocesses that set their own XLA_FLAGS keep COMPILE_FLAGS in them.
COMPILE_FLAGS = "--xla_backend_optimization_level=0"
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count=4 {COMPILE_FLAGS}")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# One persistent compilation cache for the session, shared with the `ltot` subprocesses the CLI
# tests start (they inherit the environment): many tests compile the same programs, and XLA's
# CPU compiler is a large part of the suite's time (the SIGKILL test's three runs: 160 s -> 96 s).
# Every program is cached, however quick to compile; the folder goes when the session ends.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="ltot-tests-jax-cache-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], True)
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
  """Real MNIST (prepared once into the TFDS data dir); skips with the how-to if absent."""
  from ltot import data
  try:
    return {"train": data.load("mnist", "train"), "test": data.load("mnist", "test")}
  except data.MissingDataError as e:
    pytest.fail(f"real MNIST is required by the test suite: {e}")


@pytest.fixture
def rng():
  return np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
  """Drops JAX's compiled programs after each test module.

  A full run compiles hundreds of XLA programs in one process; without this, XLA's
  CPU compiler aborted late in the suite (in a TWAE compile) while each module passed
  alone. Freeing the earlier executables keeps the process's JIT mappings bounded.
  """
  yield
  import jax
  jax.clear_caches()
