"""Jitted solvers on NaN/Inf costs: every loop is bounded, and the result says the solve failed.

Run in a fresh process with a timeout: a solver that loops forever would otherwise stall the suite
(``jax.jit(lcm)`` on a cost with one NaN ran for good before its loops were bounded).
"""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import COMPILE_FLAGS

CHECK = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from ltot import ot
    cost = np.random.default_rng(0).random((10, 3)).astype(np.float32)
    for bad in (np.nan, np.inf, -np.inf):
      c = cost.copy(); c[4, 1] = bad
      labels = jax.jit(ot.lcm, static_argnums=1)(c, 4)
      assert np.all(np.asarray(labels) == -1), labels
      sol = jax.jit(ot.transport, static_argnums=1)(c, 4)
      assert not bool(sol.ok) and np.all(np.asarray(sol.labels) == -1) and np.isnan(float(sol.gap))
      assert np.all(np.asarray(jax.jit(ot.balanced_assignment, static_argnums=1)(c, 4)) == -1)
      square = np.random.default_rng(1).random((6, 6)).astype(np.float32); square[2, 3] = bad
      assert np.all(np.asarray(jax.jit(ot.assignment)(square)) == -1)
      x = np.random.default_rng(2).normal(size=(5, 2)).astype(np.float32); x[0, 0] = bad
      hx, hy = jax.jit(ot.kantorovich_potentials)(x, x[::-1])
      assert np.all(np.isnan(np.asarray(hx))) and np.all(np.isnan(np.asarray(hy)))
    # Costs so large that prices would overflow float32 fail the same way instead of looping.
    huge = np.random.default_rng(3).random((8, 8)).astype(np.float32) * np.float32(3e38)
    assert not bool(jax.jit(ot.transport, static_argnums=1)(huge, 1).ok)
    # A clean solve says ok, and the one-column shortcut too.
    assert bool(jax.jit(ot.transport, static_argnums=1)(cost, 4).ok)
    assert bool(ot.transport(cost[:, :1], 10).ok) and not bool(jax.jit(ot.transport, static_argnums=1)(
        np.full((3, 1), np.nan, np.float32), 3).ok)
    print("ok")
""")


@pytest.mark.slow
def test_jitted_solvers_on_nonfinite_costs_return_the_failure_flag_and_never_hang():
  r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300,
                     env={**os.environ, "XLA_FLAGS": COMPILE_FLAGS})
  assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]
