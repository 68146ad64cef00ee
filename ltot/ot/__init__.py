"""Transport solvers: pure functions on arrays, jit/vmap-able, no Flax."""

from ltot.ot.auction import (HOST_MAX_ENTRIES, SOLVERS, Transport, assignment, balanced_assignment,
                             kantorovich_potentials, transport)
from ltot.ot.hitchcock import lcm
from ltot.ot.semidiscrete import (COSTS, AssignmentWindow, CTransform, OTSResult, c_transform, dual_gradient, ots,
                                  ots_update, pairwise_cost, semidiscrete_dual, semidiscrete_map, window_balanced,
                                  window_init, window_push)

__all__ = ["COSTS", "HOST_MAX_ENTRIES", "SOLVERS", "AssignmentWindow", "CTransform", "OTSResult", "Transport",
           "assignment", "balanced_assignment",
           "c_transform", "dual_gradient", "kantorovich_potentials", "lcm", "ots", "ots_update", "pairwise_cost",
           "semidiscrete_dual", "semidiscrete_map", "transport", "window_balanced", "window_init", "window_push"]
