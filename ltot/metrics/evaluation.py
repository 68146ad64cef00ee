"""Scores of a generator against real images under a feature network, streamed chunk by chunk."""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np
import tqdm

from ltot.data.pipeline import to_unit_float
from ltot.metrics.scores import FeatureStatistics, class_histogram, frechet_distance, inception_score, mode_kl
from ltot.metrics.wasserstein import wasserstein

__all__ = ["generator_scores", "reconstruction_fid"]

FeatureNet = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def generator_scores(generate: Callable[[jax.Array, int], np.ndarray], rng: jax.Array, num_samples: int,
                     real_images: np.ndarray, features: FeatureNet, *, batch_size: int = 500,
                     num_wasserstein: int = 1000, progress: bool = False) -> dict[str, float | list[float]]:
  """FID, Inception Score, mode KL and exact W1 (l1) of ``generate`` against ``real_images``.

  Args:
    generate: ``(rng, n) -> images [n, H, W, C]`` in [0, 1] (e.g. ``method.sample``).
    rng: key; chunk ``i`` is drawn with ``fold_in(rng, i)``.
    num_samples: generated images scored; only ``batch_size`` of them exist at a time
      (plus the first ``num_wasserstein`` kept for the W1 distance).
    real_images: uint8 or [0, 1] float [M, H, W, C], e.g. the test split.
    features: ``images -> (features [n, k], logits [n, c])``, e.g. a ``classifier.Classifier``.
    num_wasserstein: sample size of the exact W1 between generated and real images on
      l1 pixel distances (the OTS/FIT paper's "WD"; pixels in [0, 1]); 0 skips it.
    progress: a tqdm bar over the generated images on stderr.

  Returns:
    ``fid``, ``inception_score`` and ``inception_score_std`` (10 splits), ``mode_kl``
    (KL(real || generated) of the classes the feature net predicts) with the generated
    ``class_histogram``, ``real_inception_score`` (the same score of ``real_images``,
    the ceiling to compare with) and ``w1_l1`` where asked for.

  Example:
    >>> import jax, numpy as np
    >>> from ltot import data
    >>> from ltot.metrics import classifier
    >>> real = data.load('mnist', 'test', limit=1000).images
    >>> fake = lambda key, n: np.asarray(jax.random.uniform(key, (n, 28, 28, 1)))  # noise images
    >>> s = generator_scores(fake, jax.random.key(0), 500, real, classifier.load('mnist'), num_wasserstein=100)
    >>> s['fid'] > 100, round(s['real_inception_score'], 1) > 8
    (True, True)
  """
  if num_samples < 10:
    raise ValueError(f"num_samples must be at least 10 (the Inception Score uses 10 splits), got {num_samples}")
  if num_wasserstein > min(num_samples, len(real_images)):
    raise ValueError(f"num_wasserstein={num_wasserstein} exceeds num_samples={num_samples} or the "
                     f"{len(real_images)} real images")
  real_feats, real_logits = features(real_images)
  real_stats = FeatureStatistics.of(real_feats)
  stats, logits, kept = None, [], []
  bar = tqdm.tqdm(total=num_samples, desc="scoring samples", unit="img", disable=not progress, mininterval=2.0)
  for i, start in enumerate(range(0, num_samples, batch_size)):
    chunk = np.asarray(generate(jax.random.fold_in(rng, i), min(batch_size, num_samples - start)))
    if not np.all(np.isfinite(chunk)):
      raise FloatingPointError(f"generated images (chunk {i}) contain NaN or Inf")
    feats, lg = features(chunk)
    part = FeatureStatistics.of(feats)
    stats = part if stats is None else stats.merge(part)
    logits.append(lg)
    if sum(len(k) for k in kept) < num_wasserstein:
      kept.append(chunk)
    bar.update(len(chunk))
  bar.close()
  logits = np.concatenate(logits)
  num_classes = logits.shape[1]
  gen_hist = class_histogram(np.argmax(logits, 1), num_classes)
  real_hist = class_histogram(np.argmax(real_logits, 1), num_classes)
  score, score_std = inception_score(logits)
  out = {"fid": frechet_distance(stats, real_stats), "inception_score": score,
         "inception_score_std": score_std, "real_inception_score": inception_score(real_logits)[0],
         "mode_kl": mode_kl(gen_hist, real_hist, num_samples), "class_histogram": gen_hist.tolist()}
  if num_wasserstein:
    gen = np.concatenate(kept)[:num_wasserstein].reshape(num_wasserstein, -1)
    real = to_unit_float(np.asarray(real_images[:num_wasserstein])).reshape(num_wasserstein, -1)
    out["w1_l1"] = float(wasserstein(gen, real, p=1, ground="l1"))
  return out


def reconstruction_fid(reconstruct: Callable[[np.ndarray], np.ndarray], images: np.ndarray, features: FeatureNet, *,
                       batch_size: int = 500) -> float:
  """FID between ``images`` [M, H, W, C] and their reconstructions under the feature network.

  The part of a sample FID that the decoder alone decides: an autoencoder whose reconstructions
  score far below its samples fits its prior badly; one whose reconstructions score as badly as
  its samples is limited by reconstruction. ``reconstruct``: ``images -> [0, 1] images`` (e.g.
  ``lambda x: method.reconstruct(state, x)``), called on chunks of ``batch_size``.

  Example:
    >>> import numpy as np
    >>> from ltot import data
    >>> from ltot.metrics import classifier
    >>> real = data.load('mnist', 'test', limit=500).images
    >>> abs(reconstruction_fid(lambda x: x.astype(np.float32) / 255, real, classifier.load('mnist'))) < 1e-4  # perfect
    True
  """
  real_stats = FeatureStatistics.of(features(images)[0])
  stats = None
  for start in range(0, len(images), batch_size):
    chunk = np.asarray(reconstruct(images[start:start + batch_size]))
    if not np.all(np.isfinite(chunk)):
      raise FloatingPointError(f"reconstructions (from image {start}) contain NaN or Inf")
    part = FeatureStatistics.of(features(chunk)[0])
    stats = part if stats is None else stats.merge(part)
  return frechet_distance(stats, real_stats)
