"""The end-of-run report of a trained state: metrics.json and PNGs of samples, reconstructions, interpolations."""

from __future__ import annotations

import json
import os
import platform
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ltot import viz
from ltot.data.pipeline import to_unit_float
from ltot.train.loop import evaluate
from ltot.train.method import Method

__all__ = ["runtime", "write_images", "write_report", "latent_path", "latent_interpolations", "compare_runs"]


def runtime() -> dict[str, str]:
  """Where this process computes: ``device`` ("cpu" or the accelerator's name, e.g. "NVIDIA H100 80GB
  HBM3") and ``machine`` (cores, CPU, OS, jax version and platform). Stored in every metrics.json, so
  a results table assembled elsewhere still says where each run was measured."""
  d = jax.devices()[0]
  where = d.platform if d.platform == "cpu" else f"{d.platform} ({d.device_kind})"
  return {"device": "cpu" if d.platform == "cpu" else d.device_kind,
          "machine": f"{os.cpu_count()}-core {platform.processor() or platform.machine()} CPU, "
                     f"{platform.system()}; jax {jax.__version__} on {where}"}


def latent_path(a: np.ndarray, b: np.ndarray, steps: int, kind: str = "linear") -> np.ndarray:
  """Paths from codes a [k, d] to b [k, d] in ``steps`` points, ends included: [k, steps, d].

  ``kind="linear"``: the straight segment. ``kind="near_surface"``: TWAE Sec. 5.3's curve for
  the unit-ball prior, whose mass lies near the sphere: the direction moves along the great
  circle (slerp) while the radius moves linearly from |a| to |b|, so the path never cuts
  through the sparsely populated centre of the ball.
  """
  t = np.linspace(0.0, 1.0, steps)[None, :, None]
  if kind == "linear":
    return (1 - t) * a[:, None] + t * b[:, None]
  if kind != "near_surface":
    raise ValueError(f"kind must be 'linear' or 'near_surface', got {kind!r}")
  ra, rb = np.linalg.norm(a, axis=1, keepdims=True), np.linalg.norm(b, axis=1, keepdims=True)
  ua, ub = a / np.maximum(ra, 1e-12), b / np.maximum(rb, 1e-12)
  cos = np.clip(np.sum(ua * ub, axis=1, keepdims=True), -1.0, 1.0)
  # The great circle through ua and ub: ua cos(s) + v sin(s) with v the unit vector of ub's part
  # orthogonal to ua; for antipodal codes any orthogonal v will do (the least aligned axis's).
  v = ub - cos * ua
  norm_v = np.linalg.norm(v, axis=1, keepdims=True)
  axis = np.eye(a.shape[1])[np.argmin(np.abs(ua), axis=1)]
  fallback = axis - np.sum(axis * ua, axis=1, keepdims=True) * ua
  v = np.where(norm_v > 1e-9, v, fallback)
  v /= np.linalg.norm(v, axis=1, keepdims=True)
  angle = t * np.arccos(cos)[:, None]
  direction = np.cos(angle) * ua[:, None] + np.sin(angle) * v[:, None]
  return ((1 - t) * ra[:, None] + t * rb[:, None]) * direction


def latent_interpolations(method: Method, state: Any, images: np.ndarray, steps: int = 10) -> np.ndarray:
  """Decoded paths between the codes of image pairs: [len(images) // 2 * steps, H, W, C].

  Row ``i`` walks from the code of ``images[2i]`` to that of ``images[2i + 1]`` in
  ``steps`` points (ends included): along ``latent_path``'s near-surface curve for a
  unit-ball prior (TWAE), a straight line otherwise. ``method``: an autoencoder's
  (``ltot.methods.autoencoder.AutoencoderMethod``: ``encode``, ``decode``, ``prior``).

  Example:
    >>> import jax, numpy as np
    >>> from ltot import configs, data, methods
    >>> method = methods.build(configs.toy('wae', 10), steps_per_epoch=1)  # 2-D points, 2-D codes
    >>> points = data.moons(np.random.default_rng(0), 4)
    >>> state = method.init(jax.random.key(0), {'x': points})
    >>> latent_interpolations(method, state, points, steps=5).shape  # 2 pairs, 5 points each
    (10, 2)
  """
  z = np.asarray(jax.jit(method.encode)(state, images[:len(images) // 2 * 2]))
  kind = "near_surface" if method.prior == "ball" else "linear"
  path = latent_path(z[0::2], z[1::2], steps, kind).reshape(-1, z.shape[1])
  return np.asarray(jax.jit(method.decode)(state, jnp.asarray(path, jnp.float32)))


def write_images(method: Method, state: Any, images: np.ndarray, rng: jax.Array, workdir: str) -> None:
  """Writes ``samples.png`` (64 samples), ``reconstructions.png`` (rows: data, reconstruction) for
  methods that reconstruct, and ``interpolations.png``, the method's ``interpolations`` (8 latent
  paths between test images for autoencoders, 8 noise paths for latent generators).

  Example:
    >>> import os, tempfile, jax
    >>> from ltot import configs, data, methods
    >>> config = configs.base('cpu', method='wae', arch='mnist_mlp')
    >>> config.wae = configs.wae_section()
    >>> method = methods.build(config, steps_per_epoch=1)
    >>> images = data.load('mnist', 'test', limit=48).images
    >>> state = method.init(jax.random.key(0), {'x': images[:2]})
    >>> workdir = tempfile.mkdtemp()
    >>> write_images(method, state, images, jax.random.key(1), workdir)
    >>> sorted(os.listdir(workdir))
    ['interpolations.png', 'reconstructions.png', 'samples.png']
  """
  # Each model call runs jitted: one compile costs less than running the model op by op.
  if np.ndim(images) == 2:  # 2-D points: a scatter plot of samples over the data
    samples = np.asarray(jax.jit(method.sample, static_argnums=2)(state, rng, min(2000, max(len(images), 64))))
    viz.save_points(samples, os.path.join(workdir, "samples.png"), reference=np.asarray(images))
    return
  samples = jax.jit(method.sample, static_argnums=2)(state, rng, 64)
  viz.save_image_grid(np.asarray(samples), os.path.join(workdir, "samples.png"), 8)
  if method.reconstructs:
    # Up to 4 rows of 8 images, each over its reconstruction; then 8 paths between the next 16 images
    # (a small split lends its images to both).
    cols = min(8, len(images))
    shown = images[:min(32, len(images)) // cols * cols]
    originals = to_unit_float(np.asarray(shown))
    recons = np.asarray(jax.jit(method.reconstruct)(state, shown))
    rows = np.concatenate([originals.reshape(-1, cols, *originals.shape[1:]),
                           recons.reshape(-1, cols, *recons.shape[1:])], axis=1).reshape(-1, *originals.shape[1:])
    viz.save_image_grid(rows, os.path.join(workdir, "reconstructions.png"), cols)
  pairs = images[32:48] if len(images) >= 48 else images[-min(16, len(images) // 2 * 2):]
  paths = method.interpolations(state, pairs, jax.random.fold_in(rng, 1))
  if paths is not None:
    viz.save_image_grid(np.asarray(paths), os.path.join(workdir, "interpolations.png"), 10)


def write_report(method: Method, state: Any, eval_images: np.ndarray, rng: jax.Array, workdir: str,
                 step: int, *, dataset: str | None = None, num_samples: int = 0,
                 extra: Mapping[str, Any] | None = None, progress: bool = False) -> dict[str, Any]:
  """Evaluates on ``eval_images`` and writes ``metrics.json`` and the PNGs of ``write_images``.

  With ``num_samples > 0`` and a ``dataset`` that ltot ships a classifier for
  (``ltot.metrics.classifier.CLASSIFIERS``), also scores ``num_samples`` generated
  images against ``eval_images`` under it: FID, Inception Score, mode KL and the
  exact W1 on l1 pixel distances (``ltot.metrics.evaluation.generator_scores``; a
  progress bar with ``progress``), and for autoencoders ``fid_recon``, the FID of the
  reconstructions of ``eval_images`` (``ltot.metrics.evaluation.reconstruction_fid``). For points [N, d] (the 2-D toys), the exact W1
  (Euclidean ground) between min(num_samples, N) samples and as many of ``eval_images``.

  Example:
    >>> import os, tempfile, jax
    >>> from ltot import configs, data, methods
    >>> config = configs.base('cpu', method='wae', arch='mnist_mlp')
    >>> config.wae = configs.wae_section()
    >>> method = methods.build(config, steps_per_epoch=1)
    >>> images = data.load('mnist', 'test', limit=48).images
    >>> state = method.init(jax.random.key(0), {'x': images[:2]})
    >>> workdir = tempfile.mkdtemp()
    >>> metrics = write_report(method, state, images, jax.random.key(1), workdir, step=0)
    >>> sorted(os.listdir(workdir)), 'recon_mse' in metrics
    (['interpolations.png', 'metrics.json', 'reconstructions.png', 'samples.png'], True)
  """
  from ltot.metrics import classifier, evaluation
  metrics = {"step": step, **evaluate(method, state, eval_images, rng), **(extra or {}), **runtime()}
  if num_samples and dataset in classifier.CLASSIFIERS:
    sample = jax.jit(method.sample, static_argnums=2)
    scores = evaluation.generator_scores(lambda key, n: sample(state, key, n), jax.random.fold_in(rng, 3),
                                         num_samples, eval_images, classifier.load(dataset),
                                         num_wasserstein=min(1000, num_samples, len(eval_images)), progress=progress)
    metrics.update({**scores, "num_samples": num_samples, "feature_net": f"ltot {dataset} LeNet"})
    if method.reconstructs:  # the decoder's share of the sample FID
      reconstruct = jax.jit(method.reconstruct)
      metrics["fid_recon"] = evaluation.reconstruction_fid(lambda x: reconstruct(state, x), eval_images,
                                                           classifier.load(dataset))
  elif num_samples and np.ndim(eval_images) == 2:
    from ltot.metrics import wasserstein
    n = min(num_samples, len(eval_images))
    samples = jax.jit(method.sample, static_argnums=2)(state, jax.random.fold_in(rng, 3), n)
    metrics.update({"w1_l2": float(wasserstein(samples, eval_images[:n], p=1)), "num_samples": n})
  with open(os.path.join(workdir, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2, sort_keys=True)
  write_images(method, state, eval_images, jax.random.fold_in(rng, 1), workdir)
  return metrics


def _read_run(run_dir: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
  """(metrics.json, the lines of metrics.jsonl) of a run directory."""
  path = os.path.join(run_dir, "metrics.json")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{run_dir} has no metrics.json: run `ltot eval --workdir {run_dir}` first")
  with open(path) as f:
    final = json.load(f)
  lines = []
  log = os.path.join(run_dir, "metrics.jsonl")
  if os.path.isfile(log):
    with open(log) as f:
      lines = [json.loads(line) for line in f if line.strip()]
  return final, lines


def _cell(v: Any) -> str:
  return f"{v:.4g}" if isinstance(v, float) else str(v)


def compare_runs(run_dirs: list[str], out: str) -> list[str]:
  """Writes ``out`` (markdown: one row per run, one column per scalar final metric) and, next to it,
  ``<out stem>_<split>_<metric>.png`` plots of each logged metric against the step; returns the files written."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  if not run_dirs:
    raise ValueError("report needs at least one run directory")
  runs = {os.path.normpath(d): _read_run(d) for d in run_dirs}
  columns = sorted({k for final, _ in runs.values() for k, v in final.items()
                    if isinstance(v, (int, float)) and k != "step"})
  lines = ["| run | step | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
  for name, (final, _) in runs.items():
    lines.append(f"| {name} | {final.get('step', '')} | "
                 + " | ".join(_cell(final[c]) if c in final else "" for c in columns) + " |")
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
  written = [out]
  stem = os.path.splitext(out)[0]
  series: dict[tuple[str, str], dict[str, tuple[list, list]]] = {}
  for name, (_, log) in runs.items():
    for entry in log:
      for k, v in entry.items():
        if k in ("step", "split") or not isinstance(v, (int, float)):
          continue
        xs, ys = series.setdefault((entry.get("split", "train"), k), {}).setdefault(name, ([], []))
        xs.append(entry["step"])
        ys.append(v)
  for (split, key), by_run in sorted(series.items()):
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, (xs, ys) in by_run.items():
      ax.plot(xs, ys, label=os.path.basename(name), marker="." if len(xs) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel(key)
    ax.set_title(f"{split}: {key}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = f"{stem}_{split}_{key}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
  return written
