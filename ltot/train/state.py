"""The training state, one gradient step of it, and Adam with a piecewise-constant schedule."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training import train_state

from ltot.train.method import Metrics
from ltot.train.parallel import AXIS

__all__ = ["TrainState", "apply_loss", "adam_with_schedule"]


class TrainState(train_state.TrainState):
  """flax's immutable TrainState plus the BatchNorm statistics (empty dict if none)."""

  batch_stats: Any = struct.field(default_factory=dict)

  @classmethod
  def create(cls, *, apply_fn, params, tx, **kwargs):
    """flax's ``create``, the optimiser state built by one compiled program: optax's init makes
    each moment eagerly, an XLA program per leaf shape. (flax's special case of fp8
    ``OVERWRITE_WITH_GRADIENT`` params is left out: no ltot model has them.)"""
    return cls(step=0, apply_fn=apply_fn, params=params, tx=tx, opt_state=jax.jit(tx.init)(params), **kwargs)


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
