"""One module per paper; ``build(config, steps_per_epoch)`` looks a method up by ``config.method``."""

from __future__ import annotations

from typing import Callable

from ltot.methods import ae_ot, ot_gen, ots_fit, twae, vae, wae

__all__ = ["METHODS", "build", "ae_ot", "ot_gen", "ots_fit", "twae", "vae", "wae"]

METHODS: dict[str, Callable] = {
    "ae_ot": ae_ot.from_config,
    "ot_gen": ot_gen.from_config,
    "ots_fit": ots_fit.from_config,
    "twae": twae.from_config,
    "vae": vae.from_config,
    "wae": wae.from_config,
}


def build(config, steps_per_epoch: int):
  """The ``ltot.train.Method`` named by ``config.method``, configured from ``config``.

  Example:
    >>> import jax, numpy as np
    >>> from ltot import configs
    >>> method = build(configs.toy('wae', 100), steps_per_epoch=20)
    >>> state = method.init(jax.random.key(0), {'x': np.zeros((4, 2), np.float32)})
    >>> type(method).__name__, method.sample(state, jax.random.key(1), 3).shape
    ('WAE', (3, 2))
  """
  if config.method not in METHODS:
    raise ValueError(f"config.method={config.method!r} is not one of {sorted(METHODS)}")
  return METHODS[config.method](config, steps_per_epoch)
