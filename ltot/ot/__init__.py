"""Transport solvers: pure functions on arrays, jit/vmap-able, no Flax."""

from ltot.ot.auction import Transport, assignment, balanced_assignment, kantorovich_potentials, transport
from ltot.ot.hitchcock import lcm
from ltot.ot.semidiscrete import COSTS, OTSResult, ots, pairwise_cost, semidiscrete_dual, semidiscrete_map

__all__ = ["COSTS", "OTSResult", "Transport", "assignment", "balanced_assignment", "kantorovich_potentials", "lcm",
           "ots", "pairwise_cost", "semidiscrete_dual", "semidiscrete_map", "transport"]
