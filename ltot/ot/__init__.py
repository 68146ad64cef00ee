"""Transport solvers: pure functions on arrays, jit/vmap-able, no Flax."""

from ltot.ot.auction import Transport, assignment, balanced_assignment, kantorovich_potentials, transport
from ltot.ot.hitchcock import lcm
from ltot.ot.semidiscrete import (COSTS, CTransform, OTSResult, c_transform, dual_gradient, ots, pairwise_cost,
                                  semidiscrete_dual, semidiscrete_map)

__all__ = ["COSTS", "CTransform", "OTSResult", "Transport", "assignment", "balanced_assignment", "c_transform",
           "dual_gradient", "kantorovich_potentials", "lcm", "ots", "pairwise_cost", "semidiscrete_dual",
           "semidiscrete_map", "transport"]
