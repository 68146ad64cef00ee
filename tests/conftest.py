"""Shared fixtures. Tests run on the CPU; data-parallel tests force 4 host devices
in a subprocess-free way by setting XLA_FLAGS before jax is first imported."""

import atexit
import os
import shutil
import tempfile

# Four CPU devices for the data-parallel tests; 1-device runs select devices[:1]. The suite's
# programs are small and run a few steps, so compiling them is most of its time, and LLVM's
# optimisation level 0 compiles them in about half the time (experiments/results/test_suite.md).
# (XLA's classic CPU fusion emitters, --xla_cpu_use_fusion_emitters=false, compile the train steps
# in about half that again, but with -O0 they break ltot._reduce.min_argmin: test_suite.md.)
# Subprocesses that set their own XLA_FLAGS keep COMPILE_FLAGS in them.
COMPILE_FLAGS = "--xla_backend_optimization_level=0"
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count=4 {COMPILE_FLAGS}")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# One persistent compilation cache for the session, shared with the `ltot` subprocesses the CLI
# tests start (they inherit the environment): many tests compile the same programs, and XLA's
# CPU compiler is a large part of the suite's time.
# Every program is cached, however quick to compile; the folder goes when the session ends.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="ltot-tests-jax-cache-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], True)
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ltot.train.host import keep_freed_host_memory  # noqa: E402

keep_freed_host_memory()  # the tests' steps use host memory as `ltot`'s command line does


def pytest_configure(config):
  """Prepares the real datasets once, before pytest-xdist starts its workers (``-n``, the suite's
  default): two workers preparing one TFDS folder at the same time would race on its rename."""
  if os.environ.get("PYTEST_XDIST_WORKER") is None:
    from ltot import data
    for name in ("mnist", "fashion_mnist"):
      try:
        data.load(name, "test", limit=1)
      except data.MissingDataError:
        pass  # the tests that need it fail (MNIST) or skip (Fashion-MNIST) with the how-to
    _write_small_mnist()


def _write_small_mnist():
  """Writes the ``small_mnist`` folder once for the session (the workers inherit its path)."""
  from ltot import data
  try:
    splits = {"train": data.load("mnist", "train", limit=1000), "test": data.load("mnist", "test", limit=200)}
  except data.MissingDataError:
    return
  folder = tempfile.mkdtemp(prefix="ltot-tests-small-mnist-")
  atexit.register(shutil.rmtree, folder, True)
  for split, d in splits.items():
    np.save(os.path.join(folder, f"{split}.npy"), d.images)
  os.environ["LTOT_TEST_SMALL_MNIST"] = "npy:" + folder


@pytest.fixture(scope="session")
def small_mnist(mnist):
  """``npy:DIR``, a dataset of real MNIST images (the first 1,000 training and 200 test images)
  for runs whose subject is not the data (resume, faults, processes): a full MNIST split costs a
  process seconds of TFDS decoding, and the final report scores the whole test split."""
  del mnist  # fails the test with the how-to where MNIST is missing
  return os.environ["LTOT_TEST_SMALL_MNIST"]


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


def tiny_config(**overrides):
  """A small MNIST config (1/32 width, batch 16, every family's section) that tests override by flattened key."""
  c = ml_collections.ConfigDict(dict(
      method="wae", dataset="mnist", seed=0, num_devices=1, batch_size=16, num_steps=4, log_every=1,
      eval_every=0, num_eval_examples=64, checkpoint_every=2, max_checkpoints=5,
      model=dict(arch="mnist_conv", latent_dim=8, width=1 / 32),
      optim=dict(lr=1e-3, b1=0.5, b2=0.999, decay_epochs=((30, 0.5),)),
      wae=dict(penalty="mmd", lam=10.0, kernel="imq", kernel_scales=(1.0,), prior_var=1.0, recon_weight=1.0,
               prior="gaussian", penalty_options={}, disc_lr=5e-4, disc_hidden=(16, 16)),
      vae=dict(likelihood="bernoulli", decoder_var=1.0, beta=1.0),
      twae=dict(tessellation="cvt", num_regions=2, tessellation_seed=0, cvt_samples=200, cvt_iters=3, penalty="sw",
                penalty_options={"num_projections": 20}, lam=1.0, assign="lcm", alpha=0.0, recon_weight=1.0,
                bn_policy="train", region_prior="exact")))
  c.update_from_flattened_dict(overrides)
  return c


def run_dir_at(run, step, workdir):
  """A new run directory holding only checkpoint ``step`` of ``run`` (none for step 0): a run there resumes from it."""
  os.makedirs(workdir / "checkpoints")
  if step:
    shutil.copytree(run / "checkpoints" / str(step), workdir / "checkpoints" / str(step))
  return workdir


def assert_same_step(before, expected, actual):
  """Leaf by leaf, the step from ``before`` to ``actual`` is the one to ``expected``: unchanged and
  non-float leaves exactly, moved float leaves to 1% of the step's norm.

  Not element by element: a data-parallel sum groups its terms in another order than one device's,
  and Adam divides a near-zero gradient element by its own scale, so one such element can move by
  a few percent of the learning rate (measured: 1 of 8,192 weights of WAE-GAN's first conv layer,
  6e-4 apart at step 1). A wrong reduction (a sum for a mean, a missing psum) moves every leaf.
  """
  for s, x, y in zip(*(map(np.asarray, leaves) for leaves in (before, expected, actual))):
    if not np.issubdtype(x.dtype, np.floating) or np.array_equal(x, s):
      np.testing.assert_array_equal(y, x)
      continue
    step_expected, step_actual = (x - s).astype(np.float64), (y - s).astype(np.float64)
    assert np.linalg.norm(step_actual - step_expected) <= 1e-2 * np.linalg.norm(step_expected)
