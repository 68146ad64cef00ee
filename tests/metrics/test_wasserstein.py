import jax
import numpy as np
import ot as pot
import pytest

from ltot.metrics import wasserstein
from ltot.ot import transport


@pytest.mark.slow
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("ground", ["l1", "l2"])
def test_equals_pot(p, ground):
  rng = np.random.default_rng(p)
  x, y = rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 0.5
  metric = "cityblock" if ground == "l1" else "euclidean"
  want = pot.emd2(np.full(60, 1 / 60), np.full(60, 1 / 60), pot.dist(x, y, metric=metric) ** p) ** (1 / p)
  with jax.enable_x64(True):
    got = float(wasserstein(x, y, p=p, ground=ground))
  np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.slow
def test_one_dimensional_closed_form():
  # In 1-D the optimal matching pairs the sorted samples.
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(500, 1)), rng.exponential(size=(500, 1))
  want = np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2) ** 0.5
  with jax.enable_x64(True):
    np.testing.assert_allclose(float(wasserstein(x, y, p=2)), want, rtol=1e-12)
  # float32: prices resolve only ~2^-19 of the cost range, so the result is optimal up to the
  # solver's certificate (1-D and 2-D squared costs are the hardest case for that resolution).
  cost = ((x - y.T) ** 2).astype(np.float32)
  sol = transport(cost, 1)
  got = np.mean(cost.astype(np.float64)[np.arange(500), np.asarray(sol.labels)])
  assert 0 <= got - want**2 <= float(sol.gap) / 500 + 1e-7
  np.testing.assert_allclose(float(wasserstein(x.astype(np.float32), y.astype(np.float32), p=2)), want, rtol=1e-4)


def test_errors():
  x = np.zeros((4, 2), np.float32)
  with pytest.raises(ValueError, match="ground"):
    wasserstein(x, x, ground="linf")
  with pytest.raises(ValueError, match="p must"):
    wasserstein(x, x, p=0.5)
  with pytest.raises(ValueError, match="same number"):
    wasserstein(x, x[:3])
