"""The method protocol: what the training loop and the report need from a method, with defaults."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

__all__ = ["Method", "Metrics"]

Metrics = Mapping[str, jnp.ndarray]


class Method:
  """What the training loop needs from a method, with the defaults of its optional members.

  Every method subclasses it (as a frozen dataclass) and implements ``init``, ``train_step``,
  ``sample``, ``sample_with_source``, ``reconstruct`` and ``evaluate``; the engine and the
  report use nothing else. ``train_step`` runs mapped over the device axis ``AXIS``
  (``ltot.train.parallel.map_step``): ``batch`` is this device's shard, ``rng`` is the same key
  on every device, and the step must reduce whatever depends on the whole batch over ``AXIS`` so
  that N devices give the 1-device result.

  Batches: every family reads its data under the one key ``"x"``: images [n, H, W, C] (uint8 or
  floats in [0, 1]) or points / codes [n, d]; a method may add keys of its own in
  ``training_data`` (OTtrans: its matched ``"noise"``).

  Optional members (defaults here):
    updates_per_batch: the loop feeds each batch for that many consecutive steps (TWAE: a
      round of m region updates). Default 1.
    resident_data: the whole dataset is every step's ``batch``, placed on the devices once in
      the strided layout of ``ltot.ot.c_transform``, and ``init`` gets the whole dataset as its
      example batch (OTS/FIT). Default False.
    data_shapes: the shapes of one example the method accepts (the loop checks the user's data
      against them before training); None accepts any.
    reconstructs: whether ``reconstruct`` works (the method has an encoder). Default False.
    interpolations(state, images, rng): the report's ``interpolations.png``, samples along paths
      (an autoencoder's decoded paths between the codes of image pairs, a latent map's noise
      paths), or None for none. Default None.
    prepare(state): what a new run needs from outside itself, loaded into the state that ``init``
      made, once, before the first step (a latent map's frozen first stage: its parameters, read
      from the first stage's run directory). What it loads is checkpointed with the state, so a
      run directory alone defines its model; a resumed run, ``ltot eval`` and ``ltot sample`` never
      call it. Default: the state unchanged.
    training_data(state, rng, arrays): what the steps consume, made once from the dataset before
      training, given the initial or restored state (codes of a frozen autoencoder, OTtrans's
      matched pairs). Default: the dataset.
  """

  updates_per_batch: int = 1
  resident_data: bool = False

  @property
  def reconstructs(self) -> bool:
    return False

  @property
  def data_shapes(self) -> tuple[tuple[int, ...], ...] | None:
    return None

  def interpolations(self, state: Any, images: Any, rng: jax.Array) -> jnp.ndarray | None:
    """Samples along paths [num_paths * steps, ...] for the report (rows of ``steps``), or None."""
    del state, images, rng
    return None

  def prepare(self, state: Any) -> Any:
    """The state of a new run, with what it needs from outside the run loaded; by default ``state``."""
    return state

  def training_data(self, state: Any, rng: jax.Array, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays the steps consume, made once before training; by default the dataset itself."""
    del state, rng
    return dict(arrays)

  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> Any:
    """Initial state (a pytree, e.g. a TrainState) from a single-device example batch of the
    dataset (before ``training_data``; with ``resident_data``, the whole dataset)."""
    raise NotImplementedError

  def train_step(self, state: Any, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> tuple[Any, Metrics]:
    """One optimisation step: ``state, batch, rng -> state, metrics`` (metrics reduced over devices)."""
    raise NotImplementedError

  def sample(self, state: Any, rng: jax.Array, num: int) -> jnp.ndarray:
    """``num`` generated images [num, H, W, C] in [0, 1], or points [num, d] (single device)."""
    return self.sample_with_source(state, rng, num)[1]

  def sample_with_source(self, state: Any, rng: jax.Array, num: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(source [num, k], samples): the generator as a map, from the prior or noise draws it is
    fed to what it makes of them; ``sample`` returns the second part with the same key."""
    raise NotImplementedError

  def reconstruct(self, state: Any, images: jnp.ndarray) -> jnp.ndarray:
    """Reconstructions of ``images`` [n, H, W, C] (uint8 or [0, 1] floats), in [0, 1]."""
    raise NotImplementedError(f"{type(self).__name__} has no encoder: it does not reconstruct")

  def evaluate(self, state: Any, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> Metrics:
    """Held-out metrics on a single-device batch."""
    raise NotImplementedError
