"""The training state and the protocol every method implements for the generic loop."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training import train_state

__all__ = ["AXIS", "TrainState", "Method", "apply_loss", "adam_with_schedule", "device_share", "gather", "local_rows"]

AXIS = "devices"  # the pmap axis name: methods reduce gradients and BatchNorm statistics over it

Metrics = Mapping[str, jnp.ndarray]


class TrainState(train_state.TrainState):
  """flax's immutable TrainState plus the BatchNorm statistics (empty dict if none)."""

  batch_stats: Any = struct.field(default_factory=dict)


class Method:
  """What the training loop needs from a method, with the defaults of its optional members.

  Every method subclasses it (as a frozen dataclass) and implements ``init``, ``train_step``,
  ``sample``, ``sample_with_source``, ``reconstruct`` and ``evaluate``; the engine and the
  report use nothing else. ``train_step`` runs under ``jax.pmap(axis_name=AXIS)``: ``batch``
  is this device's shard, ``rng`` is the same key on every device, and the step must
  reduce whatever depends on the whole batch over ``AXIS`` so that N devices give the
  1-device result.

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
    training_data(rng, arrays): what the steps consume, made once from the dataset before
      training (codes of a frozen autoencoder, OTtrans's matched pairs). Default: the dataset.
  """

  updates_per_batch: int = 1
  resident_data: bool = False

  @property
  def reconstructs(self) -> bool:
    return False

  @property
  def data_shapes(self) -> tuple[tuple[int, ...], ...] | None:
    return None

  def training_data(self, rng: jax.Array, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays the steps consume, made once before training; by default the dataset itself."""
    del rng
    return dict(arrays)

  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> Any:
    """Initial state (a pytree, e.g. a TrainState) from a single-device example batch."""
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


def local_rows(full: jnp.ndarray, n: int) -> jnp.ndarray:
  """This device's n rows [n, ...] of a whole-batch array [n * devices, ...], under the named axis AXIS."""
  return jax.lax.dynamic_slice_in_dim(full, jax.lax.axis_index(AXIS) * n, n)


def device_share(sample: Callable[[jax.Array, int], jnp.ndarray], rng: jax.Array, n: int) -> jnp.ndarray:
  """This device's n rows of ``sample(rng, n * num_devices)``, under the named axis AXIS.

  Every device draws the whole batch's sample from the shared step key and keeps its
  slice, so N devices see exactly the 1-device draw.
  """
  return local_rows(sample(rng, n * jax.lax.axis_size(AXIS)), n)


def gather(x: jnp.ndarray) -> jnp.ndarray:
  """The whole batch [n * devices, ...] from each device's rows [n, ...], under the named axis AXIS.

  Gradients through it are summed over devices (the transpose of all_gather); the step's
  final pmean makes that the whole-batch gradient, so N devices give the 1-device step.
  """
  return jax.lax.all_gather(x, AXIS, tiled=True)


def apply_loss(state: TrainState,
               loss_fn: Callable[[Any, Any], tuple[jnp.ndarray, tuple[Metrics, Any]]],
               axis_name: str | None = AXIS) -> tuple[TrainState, Metrics]:
  """One gradient step of ``state`` on ``loss_fn(params, batch_stats) -> (loss, (metrics, batch_stats))``.

  Gradients and metrics are averaged over ``axis_name`` (each device's loss is the
  mean over its equal-size shard, so the average is the whole batch's gradient).

  Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> state = TrainState.create(apply_fn=None, params={'w': jnp.array(3.0)}, tx=optax.sgd(0.5))
    >>> loss_fn = lambda p, stats: (p['w'] ** 2, ({}, stats))  # (loss, (metrics, new batch_stats))
    >>> new, metrics = apply_loss(state, loss_fn, axis_name=None)  # no device axis: a plain step
    >>> float(new.params['w']), float(metrics['loss'])  # w - 0.5 * 2w = 0
    (0.0, 9.0)
  """
  (loss, (metrics, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params, state.batch_stats)
  metrics = {"loss": loss, **metrics}
  if axis_name is not None:
    grads = jax.lax.pmean(grads, axis_name)
    metrics = jax.lax.pmean(metrics, axis_name)
  return state.apply_gradients(grads=grads, batch_stats=batch_stats), metrics


def adam_with_schedule(lr: float, b1: float, b2: float, steps_per_epoch: int,
                       decay_epochs: Mapping[int, float] | None = None) -> optax.GradientTransformation:
  """Adam with a piecewise-constant learning rate: ``decay_epochs`` maps epoch -> lr multiplier.

  WAE's MNIST schedule is lr 1e-3, x0.5 after 30 epochs and x0.1 after 50
  (``{30: 0.5, 50: 0.1}`` as absolute multipliers of the base rate).

  Example:
    >>> import jax.numpy as jnp
    >>> tx = adam_with_schedule(1e-3, 0.5, 0.999, steps_per_epoch=2, decay_epochs={1: 0.5})
    >>> p = jnp.zeros(())
    >>> opt, sizes = tx.init(p), []
    >>> for _ in range(4):
    ...   update, opt = tx.update(jnp.ones(()), opt, p)
    ...   sizes.append(round(-float(update), 6))
    >>> sizes  # a constant gradient: Adam's step is the learning rate, halved after epoch 1
    [0.001, 0.001, 0.0005, 0.0005]
  """
  if lr <= 0:
    raise ValueError(f"learning rate must be positive, got {lr}")
  boundaries = {}
  previous = 1.0
  for epoch, mult in sorted((decay_epochs or {}).items()):
    boundaries[int(epoch) * steps_per_epoch] = mult / previous
    previous = mult
  schedule = optax.piecewise_constant_schedule(lr, boundaries)
  return optax.adam(schedule, b1=b1, b2=b2)
