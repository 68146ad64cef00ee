import numpy as np
import pytest

from ltot.data import Batches


def _data(n=50):
  return {"x": np.arange(n), "y": np.arange(n) * 10}


def test_epochs_are_permutations_and_deterministic():
  b = Batches(_data(), 10, seed=3)
  epoch = np.concatenate([b(s)["x"].ravel() for s in range(5)])
  assert sorted(epoch.tolist()) == list(range(50))
  again = Batches(_data(), 10, seed=3)
  for s in (0, 7, 23):
    np.testing.assert_array_equal(b(s)["x"], again(s)["x"])
  assert not np.array_equal(b(0)["x"], b(5)["x"])  # a new epoch reshuffles
  np.testing.assert_array_equal(b(4)["y"], b(4)["x"] * 10)  # leaves stay aligned


def test_device_and_host_sharding_partition_the_global_batch():
  one = Batches(_data(48), 12, seed=0)
  four = Batches(_data(48), 12, seed=0, num_devices=4)
  assert four(2)["x"].shape == (4, 3)
  np.testing.assert_array_equal(four(2)["x"].ravel(), one(2)["x"].ravel())
  hosts = [Batches(_data(48), 12, seed=0, num_devices=2, process_index=i, process_count=2)(2)["x"]
           for i in range(2)]
  np.testing.assert_array_equal(np.concatenate(hosts).ravel(), four(2)["x"].ravel())


def test_bad_configurations():
  with pytest.raises(ValueError, match="multiple of the number of devices"):
    Batches(_data(), 6, seed=0, num_devices=4)
  with pytest.raises(ValueError, match="exceeds the dataset size"):
    Batches(_data(), 64, seed=0)
  with pytest.raises(ValueError, match="empty"):
    Batches({"x": np.zeros((0, 2))}, 1, seed=0)
  with pytest.raises(ValueError, match="one leading size"):
    Batches({"x": np.zeros(3), "y": np.zeros(4)}, 1, seed=0)
