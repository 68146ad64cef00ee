"""Shipped LeNet-style classifiers for MNIST and Fashion-MNIST: the FID/IS feature networks for 28x28 data.

No InceptionV3 weights can be had on the machines ltot is built on, and Inception
features are a poor fit for 28x28 digits anyway; the OT papers scored MNIST with a
classifier of their own too. ``load(dataset)`` returns a frozen ``Classifier``
whose 128-d penultimate activations are the FID features and whose logits feed the
Inception Score and the mode histogram.

The weights live in ``ltot/metrics/weights/`` as flax msgpack (no pickle), with a
manifest that records each file's SHA-256, the seed, the test accuracy and the
command that made them (``python -m experiments.reproduce.classifiers``); ``load``
refuses a file whose checksum differs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ltot.data.pipeline import to_unit_float
from ltot.metrics._chunks import features_in_chunks

__all__ = ["CLASSIFIERS", "LeNet", "Classifier", "load", "train_classifier", "save", "WEIGHTS_DIR"]

WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")
MANIFEST = "manifest.json"
CLASSIFIERS = ("mnist", "fashion_mnist")
IMAGE_SHAPE = (28, 28, 1)


class LeNet(nn.Module):
  """Conv32 5x5 -> pool -> Conv64 5x5 -> pool -> FC ``feature_dim`` -> FC ``num_classes``.

  [N, 28, 28, 1] floats in [0, 1] -> (features [N, feature_dim] after ReLU, logits [N, num_classes]).
  VALID convolutions and 2x2 max-pooling (28 -> 24 -> 12 -> 8 -> 4), ReLU throughout,
  dropout before the last layer when ``train``.
  """

  num_classes: int = 10
  feature_dim: int = 128
  dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
    x = (x - 0.5) / 0.5
    for width in (32, 64):
      x = nn.relu(nn.Conv(width, (5, 5), padding="VALID")(x))
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    feats = nn.relu(nn.Dense(self.feature_dim)(x.reshape(x.shape[0], -1)))
    h = nn.Dropout(self.dropout, deterministic=not train)(feats)
    return feats, nn.Dense(self.num_classes)(h)


@functools.partial(jax.jit, static_argnums=0)
def _apply(module: LeNet, params, images):
  return module.apply({"params": params}, to_unit_float(images))


@dataclasses.dataclass(frozen=True)
class Classifier:
  """A trained LeNet: ``clf(images)`` -> (features [N, 128], logits [N, 10]) as NumPy arrays.

  ``images``: uint8 [N, 28, 28, 1] (0..255) or floats in [0, 1], evaluated in chunks of
  ``batch_size`` so N can be large.
  """

  dataset: str
  params: Any
  module: LeNet = LeNet()

  def __call__(self, images, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    if tuple(np.shape(images)[1:]) != IMAGE_SHAPE:
      raise ValueError(f"the {self.dataset} classifier takes images [N, 28, 28, 1], got shape {np.shape(images)}")
    return features_in_chunks(functools.partial(_apply, self.module, self.params), images, batch_size)

  def accuracy(self, images, labels) -> float:
    return float(np.mean(np.argmax(self(images)[1], axis=1) == np.asarray(labels)))


def _template(module: LeNet = LeNet()) -> Any:
  """LeNet's parameter tree as shapes alone (as inception.py's): the structure weights are read into,
  without compiling and running an init."""
  return jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, *IMAGE_SHAPE)))["params"]


def _sha256(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def _read_manifest(weights_dir: str) -> dict[str, Any]:
  path = os.path.join(weights_dir, MANIFEST)
  if not os.path.isfile(path):
    return {}
  with open(path) as f:
    return json.load(f)


def load(dataset: str, *, weights_dir: str = WEIGHTS_DIR) -> Classifier:
  """The shipped classifier for ``dataset`` in ``CLASSIFIERS``, checksum-verified.

  Raises:
    ValueError: unknown dataset, or a weights file whose SHA-256 differs from the
      manifest's (corrupted or modified) or whose arrays do not fit ``LeNet``.
    FileNotFoundError: no weights for ``dataset`` (the message says how to make them).

  Example:
    >>> import numpy as np
    >>> from ltot import data
    >>> net = load('mnist')
    >>> test = data.load('mnist', 'test', limit=200)
    >>> features, logits = net(test.images)
    >>> features.shape, float(np.mean(np.argmax(logits, 1) == test.labels)) > 0.95
    ((200, 128), True)
  """
  if dataset not in CLASSIFIERS:
    raise ValueError(f"no shipped classifier for dataset {dataset!r}; there are {CLASSIFIERS}")
  entry = _read_manifest(weights_dir).get(dataset)
  how = "train them with `python -m experiments.reproduce.classifiers`"
  if entry is None:
    raise FileNotFoundError(f"{weights_dir}/{MANIFEST} lists no weights for {dataset!r}; {how}")
  path = os.path.join(weights_dir, entry["file"])
  if not os.path.isfile(path):
    raise FileNotFoundError(f"classifier weights {path} are missing; {how}")
  with open(path, "rb") as f:
    data = f.read()
  if _sha256(data) != entry["sha256"]:
    raise ValueError(f"classifier weights {path} have SHA-256 {_sha256(data)}, but {MANIFEST} records "
                     f"{entry['sha256']}: the file is corrupted or was modified; restore it from git or {how}")
  try:
    params = flax.serialization.from_state_dict(_template(), flax.serialization.msgpack_restore(data))
  except Exception as e:  # msgpack or structure errors
    raise ValueError(f"classifier weights {path} do not fit LeNet: {type(e).__name__}: {e}") from e
  return Classifier(dataset, params)


def save(dataset: str, params: Any, record: dict[str, Any], *, weights_dir: str = WEIGHTS_DIR) -> str:
  """Writes ``params`` as msgpack and its manifest entry (SHA-256 plus ``record``); returns the path.

  Example:
    >>> import os, tempfile
    >>> from ltot import data
    >>> train = data.load('mnist', 'train', limit=256)
    >>> params = train_classifier(train.images, train.labels, seed=0, epochs=1)
    >>> weights = tempfile.mkdtemp()
    >>> os.path.basename(save('mnist', params, {'epochs': 1}, weights_dir=weights))
    'mnist_lenet.msgpack'
    >>> load('mnist', weights_dir=weights).dataset
    'mnist'
  """
  os.makedirs(weights_dir, exist_ok=True)
  name = f"{dataset}_lenet.msgpack"
  data = flax.serialization.msgpack_serialize(flax.serialization.to_state_dict(jax.device_get(params)))
  with open(os.path.join(weights_dir, name), "wb") as f:
    f.write(data)
  manifest = _read_manifest(weights_dir)
  manifest[dataset] = {"file": name, "sha256": _sha256(data), **record}
  with open(os.path.join(weights_dir, MANIFEST), "w") as f:
    json.dump(manifest, f, indent=2, sort_keys=True)
    f.write("\n")
  return os.path.join(weights_dir, name)


def train_classifier(images: np.ndarray, labels: np.ndarray, *, seed: int, epochs: int,
                     batch_size: int = 128, learning_rate: float = 1e-3) -> Any:
  """Trains a ``LeNet`` with Adam on uint8 ``images`` [N, 28, 28, 1] and int ``labels`` [N]; returns params.

  Deterministic given ``seed``: batch order from ``np.random.default_rng([seed, epoch])``,
  initialisation and dropout from ``jax.random.PRNGKey(seed)``. The learning rate
  decays by cosine to 0 over the run.

  Example:
    >>> from ltot import data
    >>> train = data.load('mnist', 'train', limit=512)
    >>> params = train_classifier(train.images, train.labels, seed=0, epochs=1)
    >>> sorted(params)
    ['Conv_0', 'Conv_1', 'Dense_0', 'Dense_1']
  """
  if images.shape[1:] != IMAGE_SHAPE or len(images) != len(labels):
    raise ValueError(f"need images [N, 28, 28, 1] and labels [N], got {images.shape} and {np.shape(labels)}")
  module = LeNet()
  init_key, drop_key = jax.random.split(jax.random.PRNGKey(seed))
  params = module.init(init_key, jnp.zeros((1, *IMAGE_SHAPE)))["params"]
  steps_per_epoch = len(images) // batch_size
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate, epochs * steps_per_epoch))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y, key):
    def loss_fn(p):
      _, logits = module.apply({"params": p}, to_unit_float(x), train=True, rngs={"dropout": key})
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for epoch in range(epochs):
    order = np.random.default_rng([seed, epoch]).permutation(len(images))
    for i in range(steps_per_epoch):
      idx = order[i * batch_size:(i + 1) * batch_size]
      params, opt_state = step(params, opt_state, images[idx], labels[idx],
                               jax.random.fold_in(drop_key, epoch * steps_per_epoch + i))
  return params
