"""One module per paper; ``build(config, steps_per_epoch)`` looks a method up by ``config.method``."""

from __future__ import annotations

import copy
from typing import Callable

from ltot.methods import ae_ot, ot_gen, ots_fit, twae, vae, wae
from ltot.methods.autoencoder import AutoencoderMethod
from ltot.train.checkpoint import read_run_config

__all__ = ["METHODS", "FIRST_STAGE_METHODS", "build", "prepare_config", "ae_ot", "ot_gen", "ots_fit", "twae", "vae",
           "wae"]

METHODS: dict[str, Callable] = {
    "ae_ot": ae_ot.from_config,
    "ot_gen": ot_gen.from_config,
    "ots_fit": ots_fit.from_config,
    "twae": twae.from_config,
    "vae": vae.from_config,
    "wae": wae.from_config,
}
# Methods whose section (named like the method) may name a frozen autoencoder: ``autoencoder``, its
# run directory, and ``first_stage``, its run config as ``prepare_config`` recorded it.
FIRST_STAGE_METHODS = ("ae_ot", "ot_gen")


def build(config, steps_per_epoch: int):
  """The ``ltot.train.Method`` named by ``config.method``, configured from ``config``; reads nothing.

  A latent map's first stage is built from the config its section records (``prepare_config``).

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
  if config.method not in FIRST_STAGE_METHODS:
    return METHODS[config.method](config, steps_per_epoch)
  section = config[config.method]
  stage = section.get("first_stage")
  if section.get("autoencoder") and not stage:
    raise ValueError(f"{config.method}.autoencoder names a first stage whose config is not recorded: pass the config "
                     "through ltot.methods.prepare_config first (ltot train does)")
  autoencoder = build(stage, steps_per_epoch=1) if stage else None
  if autoencoder is not None and not isinstance(autoencoder, AutoencoderMethod):
    raise ValueError(f"{config.method}.first_stage is a {stage.method!r} run, not an autoencoder (vae, wae, twae)")
  return METHODS[config.method](config, steps_per_epoch, autoencoder)


def prepare_config(config):
  """A copy of ``config`` that records its latent map's first stage: the run config of the run
  directory in ``config[method].autoencoder`` as ``config[method].first_stage``, so that ``build``
  needs no disk and the run's own config.json describes the whole model. Other configs come back
  as copies, unchanged.

  Raises:
    FileNotFoundError: the named first stage is not a run directory.
    ValueError: it is not an autoencoder's run.

  Example:
    >>> from ltot import configs
    >>> prepare_config(configs.toy('otgen', 10)).ot_gen.get('first_stage') is None  # points: no first stage
    True
  """
  config = copy.deepcopy(config)
  if config.get("method") in FIRST_STAGE_METHODS and config[config.method].get("autoencoder"):
    stage = read_run_config(config[config.method].autoencoder)
    if stage.get("method") not in ("vae", "wae", "twae"):
      raise ValueError(f"{config[config.method].autoencoder} is a {stage.get('method')!r} run, not an autoencoder "
                       "(vae, wae, twae)")
    with config.unlocked():  # configs from the command line are locked against new keys
      config[config.method].first_stage = stage
  return config
