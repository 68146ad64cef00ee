"""ltot._reduce.min_argmin: both of its forms against NumPy, and the accelerator form where the CPU
form is known to break (experiments/results/test_suite.md)."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot._reduce import _one_argmin, _two_reductions, min_argmin


@pytest.mark.parametrize("form", [min_argmin, _one_argmin, _two_reductions])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_min_and_first_index_of_the_min_with_ties(form, axis):
  x = np.random.default_rng(0).integers(0, 4, size=(40, 30)).astype(np.float32)  # many ties per row and column
  low, index = jax.jit(lambda v: form(v, axis))(jnp.asarray(x))
  np.testing.assert_array_equal(index, x.argmin(axis))  # NumPy's argmin: the first index of the min
  np.testing.assert_array_equal(low, x.min(axis))
  assert index.dtype == jnp.int32
  rows = jax.vmap(min_argmin)(jnp.asarray(x))[1]
  np.testing.assert_array_equal(rows, x.argmin(1))


_RECOMPUTED = """
import jax, jax.numpy as jnp, numpy as np
from ltot._reduce import _one_argmin
from ltot.ot.semidiscrete import pairwise_cost
y = jnp.asarray(np.sort(np.random.default_rng(3).uniform(size=(10, 1)), axis=0), jnp.float32)
grid = jnp.asarray((np.arange(20000)[:, None] + 0.5) / 20000, jnp.float32)
psi = jnp.asarray(np.random.default_rng(0).normal(size=10) * 0.01, jnp.float32)
cost = lambda g, y, p: pairwise_cost(g, y) - p[None, :]
_, index = jax.jit(lambda g, y, p: _one_argmin(cost(g, y, p), 1))(grid, y, psi)
values = np.asarray(jax.jit(cost)(grid, y, psi))
assert np.array_equal(np.asarray(index), values.argmin(1)), np.bincount(np.asarray(index))
"""


@pytest.mark.slow
def test_the_argmin_form_holds_where_the_cost_is_recomputed_differently():
  """XLA's classic CPU emitters at -O0 recompute the cost inside the second reduction with other
  rounding, and the two-reduction form then returned the axis length for most rows; the one-argmin
  form (min_argmin's choice off CPUs) stays the argmin of the materialized costs there."""
  flags = "--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=0"
  r = subprocess.run([sys.executable, "-c", _RECOMPUTED], capture_output=True, text=True, timeout=300,
                     env={**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"})
  if "Unknown flag" in r.stderr:
    pytest.skip("this XLA has no classic CPU emitters")
  assert r.returncode == 0, r.stderr[-2000:]
