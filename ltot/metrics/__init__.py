"""Evaluation metrics: exact Wasserstein, FID / Inception Score over any feature network, mode coverage.

``ltot.metrics.classifier`` holds the shipped MNIST / Fashion-MNIST feature networks.
"""

from ltot.metrics.scores import FeatureStatistics, class_histogram, frechet_distance, inception_score, mode_kl
from ltot.metrics.wasserstein import wasserstein

__all__ = ["wasserstein", "FeatureStatistics", "frechet_distance", "inception_score", "class_histogram", "mode_kl"]
