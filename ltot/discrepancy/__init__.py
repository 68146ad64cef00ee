"""Estimators of D(Q_z, P_z): ``f(x [n, d], y [n, d], *, rng=None, ...) -> scalar``, differentiable in x."""

from ltot.discrepancy.gaussian import gaussian_w2, nuclear_norm
from ltot.discrepancy.mmd import mmd, pairwise_sq_dists
from ltot.discrepancy.sliced import (distributional_sliced_wasserstein, generalized_sliced_wasserstein,
                                     max_sliced_wasserstein, projected_wasserstein, random_directions, sort_last_axis,
                                     sliced_wasserstein)

__all__ = [
    "gaussian_w2", "nuclear_norm", "mmd", "pairwise_sq_dists", "distributional_sliced_wasserstein",
    "generalized_sliced_wasserstein", "max_sliced_wasserstein", "projected_wasserstein",
    "random_directions", "sliced_wasserstein", "sort_last_axis",
]

# Latent penalties by the short names the configs and papers use ("GW" is TWAE's eq. 4).
DISCREPANCIES = {
    "mmd": mmd,
    "sw": sliced_wasserstein,
    "max_sw": max_sliced_wasserstein,
    "dsw": distributional_sliced_wasserstein,
    "gsw": generalized_sliced_wasserstein,
    "gw": gaussian_w2,
}
__all__ += ["DISCREPANCIES"]
