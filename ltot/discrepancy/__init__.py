"""Estimators of D(Q_z, P_z): ``f(x [n, d], y [n, d], *, rng=None, ...) -> scalar``."""

from ltot.discrepancy.mmd import mmd, pairwise_sq_dists

__all__ = ["mmd", "pairwise_sq_dists"]
