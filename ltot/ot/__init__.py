"""Transport solvers: pure functions on arrays, jit/vmap-able, no Flax."""

from ltot.ot.hitchcock import lcm

__all__ = ["lcm"]
