"""ltot: optimal-transport-based, non-adversarial generative models in JAX/Flax.

Subpackages are imported on first attribute access (``ltot.discrepancy.mmd``), so
``import ltot`` stays light.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["configs", "data", "discrepancy", "methods", "metrics", "nn", "ot", "tessellation", "train", "viz"]


def __getattr__(name):
  if name in __all__:
    return importlib.import_module(f"ltot.{name}")
  raise AttributeError(f"module 'ltot' has no attribute {name!r}")
