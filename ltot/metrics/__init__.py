"""Evaluation metrics."""

from ltot.metrics.wasserstein import wasserstein

__all__ = ["wasserstein"]
