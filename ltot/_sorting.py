"""Sorting that is fast on every backend.

XLA's CPU sort is many times slower than NumPy's (experiments/benchmarks/sliced.py), so
on the CPU backend the permutation comes from NumPy through ``pure_callback`` and
the rest stays in XLA; other backends use ``lax.sort``. The sorted values are identical
(the programs around them may round differently). A callback costs about 0.2 ms, so
XLA sorts arrays of fewer than ``_MIN_CALLBACK_SIZE`` elements itself.
With more than one local CPU device the callback is not used: executions on several
CPU devices at once that call back into Python can hang (seen as TWAE's data-parallel
MNIST step stopping for good at 2 and 4 forced devices, and in a bare pmap of this sort).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _numpy_argsort(a: jax.Array) -> np.ndarray:
  """NumPy's argsort of the callback's argument (a ``jax.Array``: ``np.argsort`` of one would call
  its ``argsort`` method, a JAX sort dispatched from inside the callback, about 9 ms each time)."""
  return np.argsort(np.asarray(a), axis=-1).astype(np.int32)


# Below this many elements XLA's sort is about as fast as the callback: the gradient of a sort of
# [100, 20] took 0.21 ms through the callback and 0.33 ms in XLA, of [100, 50] 0.26 and 0.86 ms.
_MIN_CALLBACK_SIZE = 1 << 12


def _several_cpu_devices() -> bool:
  """Whether this process has more than one CPU device (False without a CPU backend, e.g. JAX_PLATFORMS=cuda)."""
  try:
    return len(jax.local_devices(backend="cpu")) > 1
  except RuntimeError:  # jax: "Unknown backend cpu"; the CPU branch below is then never lowered
    return False


def sort_last_axis(a: jnp.ndarray) -> jnp.ndarray:
  """``jnp.sort(a, axis=-1)``, differentiable (the gradient flows through a gather).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> sort_last_axis(jnp.array([[3.0, 1.0, 2.0]])).tolist()
    [[1.0, 2.0, 3.0]]
    >>> jax.grad(lambda a: sort_last_axis(a)[0])(jnp.array([3.0, 1.0, 2.0])).tolist()  # d min / d a
    [0.0, 1.0, 0.0]
  """
  if a.size < _MIN_CALLBACK_SIZE or _several_cpu_devices():
    return jnp.sort(a, axis=-1)

  def on_cpu(a):
    perm = jax.pure_callback(_numpy_argsort, jax.ShapeDtypeStruct(a.shape, jnp.int32),
                             jax.lax.stop_gradient(a), vmap_method="broadcast_all")
    return jnp.take_along_axis(a, perm, axis=-1)

  return jax.lax.platform_dependent(a, cpu=on_cpu, default=lambda a: jnp.sort(a, axis=-1))
