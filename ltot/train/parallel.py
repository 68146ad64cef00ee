"""Data parallelism: the pmap axis and the helpers every method's step and the loop share.

A step runs mapped over the device axis AXIS (``map_step``: ``jax.pmap`` on K devices of all
processes, a jit of a shard_map on one device); each device holds an equal share of the global batch.
``gather``, ``local_rows`` and ``device_share`` move between a device's share and the whole batch
inside a step, so that N devices compute the 1-device step;
``replicate`` / ``unreplicate`` and ``place_strided`` put states and datasets on the devices.
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["AXIS", "local_rows", "device_share", "gather", "replicate", "unreplicate", "place_strided", "map_step"]

AXIS = "devices"  # the pmap axis name: methods reduce gradients and BatchNorm statistics over it


def local_rows(full: jnp.ndarray, n: int) -> jnp.ndarray:
  """This device's n rows [n, ...] of a whole-batch array [n * devices, ...], under the named axis AXIS.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> full = jnp.arange(6)  # the whole batch, seen by each of 3 devices (a vmap stands in for pmap here)
    >>> jax.vmap(lambda _: local_rows(full, 2), axis_name=AXIS)(jnp.zeros(3)).tolist()
    [[0, 1], [2, 3], [4, 5]]
  """
  return jax.lax.dynamic_slice_in_dim(full, jax.lax.axis_index(AXIS) * n, n)


def device_share(sample: Callable[[jax.Array, int], jnp.ndarray], rng: jax.Array, n: int) -> jnp.ndarray:
  """This device's n rows of ``sample(rng, n * num_devices)``, under the named axis AXIS.

  Every device draws the whole batch's sample from the shared step key and keeps its
  slice, so N devices see exactly the 1-device draw.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> draw = lambda key, n: jax.random.normal(key, (n,))
    >>> shares = jax.vmap(lambda _: device_share(draw, jax.random.key(0), 2), axis_name=AXIS)(jnp.zeros(3))
    >>> bool(jnp.all(shares.reshape(-1) == draw(jax.random.key(0), 6)))  # the shares make the 1-device draw
    True
  """
  return local_rows(sample(rng, n * jax.lax.axis_size(AXIS)), n)


def gather(x: jnp.ndarray) -> jnp.ndarray:
  """The whole batch [n * devices, ...] from each device's rows [n, ...], under the named axis AXIS.

  Gradients through it are summed over devices (the transpose of all_gather); the step's
  final pmean makes that the whole-batch gradient, so N devices give the 1-device step.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> rows = jnp.arange(6).reshape(3, 2)  # 3 devices' rows
    >>> jax.vmap(gather, axis_name=AXIS)(rows)[0].tolist()  # every device sees the whole batch
    [0, 1, 2, 3, 4, 5]
  """
  return jax.lax.all_gather(x, AXIS, tiled=True)


def map_step(step: Callable, devices, *, all_processes: bool = False, donate_state: bool | None = None) -> Callable:
  """``step(state, batch, rng)`` mapped over the leading device axis (named AXIS) of its state and batch.

  On several devices (or ``all_processes``: every process's devices) it is ``jax.pmap`` over them,
  with the same ``rng`` for all. On one device of one process it is ``jax.jit`` of a
  ``jax.shard_map`` over a one-device mesh, whose reductions are then identities: the same step,
  with the rounding of pmap's. (Not a ``jax.vmap`` over the axis of size 1: under vmap a
  ``lax.cond`` on the state becomes a select that runs both branches at every step, e.g. TWAE's
  round plan at every region step.)

  ``donate_state`` lets the step reuse the old state's buffers for the new one; by default only
  on accelerators, where it halves the state's memory. On XLA's CPU backend a donated step ran
  1.5-1.8x slower (benchmarks rows ``step_one_device_program``), and host memory is rarely the limit.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> step = lambda s, b, r: (s + jax.lax.pmean(b.sum(), AXIS), b.mean())
    >>> new, metric = map_step(step, jax.local_devices()[:1])(jnp.zeros(1), jnp.ones((1, 4)), jax.random.key(0))
    >>> new.tolist(), metric.tolist()
    ([4.0], [1.0])
  """
  if donate_state is None:
    donate_state = devices[0].platform != "cpu"
  donate = (0,) if donate_state else ()
  if len(devices) == 1 and not all_processes:
    def on_device(state, batch, rng):  # the device's block [1, ...] -> its share, and back
      out = step(*jax.tree.map(lambda x: x[0], (state, batch)), rng)
      return jax.tree.map(lambda x: x[None], out)
    spec = jax.sharding.PartitionSpec(AXIS)
    # check_vma=False: pmap's semantics (the solvers' while-loops start from values equal on all devices)
    return jax.jit(jax.shard_map(on_device, mesh=_mesh(devices), in_specs=(spec, spec, jax.sharding.PartitionSpec()),
                                 out_specs=spec, check_vma=False), donate_argnums=donate)
  return jax.pmap(step, axis_name=AXIS, devices=None if all_processes else devices, in_axes=(0, 0, None),
                  donate_argnums=donate)


def replicate(tree, devices):
  """One copy of ``tree`` per device, stacked on a leading axis (what pmap consumes).

  Example:
    >>> import jax, numpy as np
    >>> out = replicate({'w': np.ones(3)}, jax.local_devices()[:1])
    >>> out['w'].shape, unreplicate(out)['w'].shape
    ((1, 3), (3,))
  """
  sharding = jax.sharding.NamedSharding(_mesh(devices), jax.sharding.PartitionSpec(AXIS))
  return jax.device_put(jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (len(devices),) + np.shape(x)), tree),
                        sharding)


def place_strided(arrays: Mapping[str, np.ndarray], devices) -> dict[str, jax.Array]:
  """The whole dataset laid out on the devices once, strided: of K devices in all (every process's),
  global device k holds rows k, k + K, k + 2K, ... (``ltot.ot.c_transform``'s layout), so a
  prefix of every device's rows is a prefix of the dataset whatever K is.

  Example:
    >>> import jax, numpy as np
    >>> placed = place_strided({'x': np.arange(4)}, jax.local_devices()[:1])
    >>> placed['x'].shape  # [devices, rows per device]
    (1, 4)
  """
  count = len(devices) * jax.process_count()
  n = len(next(iter(arrays.values())))
  if n % count:
    raise ValueError(f"this method keeps the whole dataset on the devices: its {n} rows must divide evenly over "
                     f"{count} devices (drop {n % count} rows or change num_devices)")
  first = jax.process_index() * len(devices)
  sharding = jax.sharding.NamedSharding(_mesh(devices), jax.sharding.PartitionSpec(AXIS))
  return {k: jax.device_put(np.stack([np.asarray(v)[first + i::count] for i in range(len(devices))]), sharding)
          for k, v in arrays.items()}


def _mesh(devices) -> jax.sharding.Mesh:
  """The one-axis (AXIS) mesh of ``devices``."""
  return jax.sharding.Mesh(np.array(devices), (AXIS,))


def unreplicate(tree):
  """The first device's copy of a replicated tree, as arrays on that device alone (see ``replicate``).

  Example:
    >>> import jax, numpy as np
    >>> unreplicate(replicate(np.arange(2), jax.local_devices()[:1])).tolist()
    [0, 1]
  """
  return _first_copies(jax.tree.map(lambda x: x.addressable_shards[0].data, tree))


@jax.jit
def _first_copies(tree):
  # one program for the whole tree: indexing leaf by leaf compiles an XLA slice (and a squeeze)
  # per distinct leaf shape
  return jax.tree.map(lambda x: x[0], tree)
