"""The host solver (solver="host"): the same optimum as POT and the auction, a feasible dual with a
zero gap, and correct under jit, vmap and pmap (4 forced CPU devices)."""

import jax
import jax.numpy as jnp
import numpy as np
import ot as pot
import pytest

from ltot.ot import assignment, kantorovich_potentials, transport
from ltot.train import parallel


def _check_dual(cost, sol, capacity):
  cost = np.asarray(cost, np.float64)
  u, p = np.asarray(sol.row_potential, np.float64), np.asarray(sol.column_price, np.float64)
  scale = np.abs(cost).max()
  assert np.all(u[:, None] - p[None, :] <= cost + 1e-5 * scale)  # feasible
  assert np.all(p >= -1e-6 * scale)
  primal = cost[np.arange(len(cost)), np.asarray(sol.labels)].sum()
  assert primal - (u.sum() - capacity * p.sum()) == pytest.approx(float(sol.gap), abs=1e-4 * scale)
  assert abs(float(sol.gap)) <= 1e-5 * scale * len(cost)


@pytest.mark.parametrize("n,m,capacity,integer", [(12, 12, 1, False), (12, 12, 1, True), (30, 5, 6, False),
                                                  (23, 5, 6, False), (7, 10, 1, True), (9, 1, 9, False)])
@pytest.mark.slow
def test_host_solver_matches_the_auction_and_pot(n, m, capacity, integer):
  rng = np.random.default_rng(n * m + capacity)
  cost = (rng.integers(0, 4, (n, m)) if integer else rng.random((n, m))).astype(np.float32)  # integer: many ties
  host, auction = transport(cost, capacity, solver="host"), transport(cost, capacity, solver="auction")
  assert bool(host.ok) and int(host.iterations) == 0
  assert np.bincount(np.asarray(host.labels), minlength=m).max() <= capacity
  total = lambda sol: float(cost.astype(np.float64)[np.arange(n), np.asarray(sol.labels)].sum())
  assert total(host) == pytest.approx(total(auction), rel=1e-5, abs=1e-5)
  if n == capacity * m:  # POT's exact LP on the same problem (rows of mass 1, columns of mass capacity)
    assert total(host) == pytest.approx(pot.emd2(np.ones(n), np.full(m, float(capacity)), cost.astype(np.float64)),
                                        rel=1e-6, abs=1e-6)
  _check_dual(cost, host, capacity)


def test_host_solver_under_jit_and_vmap_and_on_nonfinite_costs():
  cost = np.random.default_rng(0).random((3, 10, 10)).astype(np.float32)
  cost[1, 2, 3] = np.nan
  out = jax.jit(lambda c: transport(c, 1, solver="host"))(cost)
  assert out.ok.tolist() == [True, False, True] and np.all(np.asarray(out.labels[1]) == -1)
  assert np.isnan(float(out.gap[1]))
  for b in (0, 2):
    np.testing.assert_array_equal(out.labels[b], assignment(cost[b], solver="auction"))
  np.testing.assert_array_equal(jax.vmap(lambda c: assignment(c, solver="host"))(cost[::2]), out.labels[::2])
  with pytest.raises(ValueError, match="solver must be one of"):
    transport(cost[0], 1, solver="scipy")


def test_host_solver_under_pmap_on_four_devices():
  devices = jax.local_devices(backend="cpu")
  assert len(devices) == 4  # conftest forces 4 CPU devices
  x, y = np.random.default_rng(3).normal(size=(2, 4, 16, 3)).astype(np.float32)
  hx, hy = jax.pmap(lambda a, b: kantorovich_potentials(a, b, solver="host"), axis_name=parallel.AXIS)(x, y)
  for d in range(4):
    ex, ey = kantorovich_potentials(x[d], y[d], solver="auction")
    # The optimal duals are unique up to a common constant where the optimum is unique; compare their
    # objective (equal to the OT cost) and feasibility rather than the free constant.
    cost = 0.5 * np.sum((x[d][:, None] - y[d][None]) ** 2, -1)
    assert float(jnp.mean(hy[d]) - jnp.mean(hx[d])) == pytest.approx(float(jnp.mean(ey) - jnp.mean(ex)), rel=1e-4)
    assert np.all(np.asarray(hy[d])[None, :] - np.asarray(hx[d])[:, None] <= cost + 1e-4)


def test_host_solver_before_a_collective_does_not_wait_on_device_0(monkeypatch):
  """Device 0 solves at once and enters the all-reduce while devices 1-3 are still on the host. With
  ``jax.pure_callback`` (which copies its inputs to CPU device 0 first) that step hung until XLA's
  rendezvous timeout aborted the process."""
  import time

  from ltot.ot import host
  solve_numpy = host.solve_numpy

  def late_unless_device_0(cost, capacity):
    if cost[0, 0] > 0:  # device 0's problem has cost[0, 0] == 0
      time.sleep(0.5)
    return solve_numpy(cost, capacity)

  monkeypatch.setattr(host, "solve_numpy", late_unless_device_0)
  cost = np.random.default_rng(4).uniform(0.1, 1.0, size=(4, 512, 512)).astype(np.float32)  # large enough that copying it is asynchronous
  cost[0, 0, 0] = 0.0
  total = jax.pmap(lambda c: jax.lax.psum(transport(c, 1, solver="host").labels, parallel.AXIS),
                   axis_name=parallel.AXIS)(cost)
  expected = sum(pot.emd(np.full(512, 1 / 512), np.full(512, 1 / 512), c.astype(np.float64)).argmax(1) for c in cost)
  np.testing.assert_array_equal(total[0], expected)
