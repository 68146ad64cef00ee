"""Warm-started auction (transport(..., prices=, start_epsilon=)): the optimum from any start, fewer
sequential iterations from good prices, batched prices, and a clear error for a wrong shape."""

import jax
import numpy as np
import ot as pot
import pytest
from scipy.optimize import linear_sum_assignment

from ltot.ot import transport


def _cost(n, m, seed):
  rng = np.random.default_rng(seed)
  x, y = rng.normal(size=(n, 8)), rng.normal(size=(m, 8))
  return ((x[:, None] - y[None]) ** 2).sum(-1).astype(np.float32)


@pytest.mark.parametrize("start", [None, 1e-3, 10.0])
def test_any_prices_give_the_optimum(start):
  cost = _cost(40, 40, 0)
  rows, cols = linear_sum_assignment(cost.astype(np.float64))
  for seed in range(3):  # random, even adversarial, prices: still optimal within the certificate
    prices = np.random.default_rng(seed).random(40).astype(np.float32) * 50
    sol = transport(cost, 1, prices=prices, start_epsilon=start)
    got = cost.astype(np.float64)[np.arange(40), np.asarray(sol.labels)].sum()
    assert bool(sol.ok) and got - cost[rows, cols].sum() <= float(sol.gap) + 1e-4


def test_the_previous_problems_prices_save_iterations():
  cost, nxt = _cost(300, 30, 1), _cost(300, 30, 1) + 0.05 * np.random.default_rng(2).random((300, 30)).astype(np.float32)
  cold = transport(nxt, 10)
  spread = float((nxt - nxt.min(1, keepdims=True)).max())
  warm = transport(nxt, 10, prices=transport(cost, 10).column_price, start_epsilon=1e-3 * spread)
  optimum = pot.emd2(np.ones(300), np.full(30, 10.0), nxt.astype(np.float64))
  for sol in (cold, warm):
    assert nxt.astype(np.float64)[np.arange(300), np.asarray(sol.labels)].sum() == pytest.approx(optimum, rel=1e-5)
  assert int(warm.iterations) * 2 < int(cold.iterations)


def test_batched_prices_and_bad_shapes():
  cost = np.stack([_cost(12, 12, s) for s in range(3)])
  prev = jax.jit(lambda c: transport(c, 1))(cost)
  warm = jax.jit(lambda c, p: transport(c, 1, prices=p, start_epsilon=1e-2))(cost, prev.column_price)
  for b in range(3):
    assert cost[b][np.arange(12), warm.labels[b]].sum() == pytest.approx(cost[b][np.arange(12), prev.labels[b]].sum(),
                                                                         rel=1e-5)
  with pytest.raises(ValueError, match=r"prices must have shape \(3, 12\)"):
    transport(cost, 1, prices=np.zeros(12))
