import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot.ot import lcm
from tests.ot.reference import lcm_literal, lcm_single_pass


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_equals_algorithm_2_random(seed):
  rng = np.random.default_rng(seed)
  n, m = int(rng.integers(1, 120)), int(rng.integers(1, 15))
  capacity = int(-(-n // m) + rng.integers(0, 3))
  cost = rng.normal(size=(n, m)).astype(np.float32)
  np.testing.assert_array_equal(lcm(cost, capacity), lcm_literal(cost, capacity))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_equals_algorithm_2_with_many_ties(seed):
  rng = np.random.default_rng(100 + seed)
  n, m = int(rng.integers(20, 150)), int(rng.integers(2, 12))
  capacity = -(-n // m)
  cost = rng.integers(0, 3, (n, m)).astype(np.float32)  # integer costs: ties everywhere
  got = np.asarray(lcm(cost, capacity))
  np.testing.assert_array_equal(got, lcm_literal(cost, capacity))
  assert np.bincount(got, minlength=m).max() <= capacity and got.min() >= 0


def test_larger_problem_equals_single_pass_and_respects_capacity():
  rng = np.random.default_rng(7)
  x, y = rng.normal(size=(3000, 16)), rng.normal(size=(60, 16))
  cost = ((x[:, None] - y[None]) ** 2).sum(-1).astype(np.float32)
  got = np.asarray(lcm(cost, 50))
  np.testing.assert_array_equal(got, lcm_single_pass(cost, 50))
  assert np.all(np.bincount(got, minlength=60) == 50)  # N = capacity * m: every column exactly full


def test_jit_vmap_and_float64():
  rng = np.random.default_rng(3)
  costs = rng.normal(size=(3, 40, 5))
  batched = jax.jit(jax.vmap(lambda c: lcm(c, 8)))(jnp.asarray(costs, jnp.float32))
  for c, got in zip(costs, batched):
    np.testing.assert_array_equal(got, lcm_literal(c.astype(np.float32), 8))
  with jax.enable_x64(True):
    c64 = costs[0] + 1e-12 * rng.normal(size=(40, 5))  # differences float32 cannot see
    np.testing.assert_array_equal(lcm(jnp.asarray(c64), 8), lcm_literal(c64, 8))


def test_bad_input():
  with pytest.raises(ValueError, match="do not fit"):
    lcm(np.zeros((11, 2)), 5)
  with pytest.raises(ValueError, match="shape"):
    lcm(np.zeros(5), 5)
  with pytest.raises(ValueError, match="capacity"):
    lcm(np.zeros((4, 2)), 0)
  with pytest.raises(ValueError, match="NaN or Inf"):
    lcm(np.array([[0.0, np.nan]]), 1)
