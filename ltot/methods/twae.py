"""Tessellated Wasserstein auto-encoders (Gai & Zhang), Algorithms 1 and 3.

A round of Algorithm 1 takes a batch of N images: encode all N, assign the codes to
the m generators of a tessellation of the unit ball (CVT or E8) with capacity n = N / m
each, by TWAE's least cost method (``assign="lcm"``, the paper) or the exact Hitchcock
solution (``assign="exact"``, ltot's extension), draw n uniform prior points in each
region, then take m optimiser steps, region by region, on
L_k = L_recons(S_k) + lambda * D(Q_n|S_k, P_n|V_k).

Each training step of the generic loop is one region's update (``updates_per_batch = m``:
the loop feeds the same N images for m steps). The tessellation's generators (fitted by
``init``) and the round's plan (regions, prior samples, and Algorithm 3's previous batch and
gradient) live in ``TWAEState``, so a checkpoint defines the model and resumes mid-round
exactly. (Running the m updates in one ``lax.scan`` would be simpler, but XLA's CPU backend
runs convolutions inside loops several times slower.)

BatchNorm on region batches (``bn_policy``). A region batch holds similar codes, so train-mode
BatchNorm removes from it exactly the per-batch mean that the region penalty acts on:
- "train": every region step normalises with its own batch's statistics and updates the running
  averages (ltot's behaviour before the option existed).
- "frozen_after_first_round": the authors' training script: train mode during the first round,
  then eval mode for good (their model.eval() after round 1): from the second round on, the
  assignment's codes and every region step use the running statistics, which no longer change.
- "round_statistics" (ltot's alternative): at each round's start, the statistics of the round's
  N shuffled images (and of their codes, for the decoder) are computed exactly in the encoding
  pass that feeds the assignment; the round's m region steps normalise with them (no gradient
  through them), and they are the stored statistics that evaluation uses afterwards. So the
  normalisation follows the network round by round without depending on a region's make-up.
Region priors (``region_prior``): "exact" draws uniform samples of each region; "assigned" is
the authors' code: N uniform ball points split into the regions by the same assignment rule
as the codes (``assign``), so a region's prior is only approximately uniform on it.

With ``alpha > 0`` each region step uses Algorithm 3's gradient
g_k = grad f_k(theta_k) + alpha * (grad f_{S(k-1)}(theta_k) - grad f_{S(k-1)}(theta_{k-1})),
where S(k) is a batch of n points drawn uniformly from the round's N (the k = 1 step of
a round uses grad f_k alone). Choices the paper leaves open, made here:
- f_S is the TWAE loss on S with a fresh global prior sample of n points of the ball
  (S is not a region, so its prior is the whole ball); the sample and the penalty's
  random directions are kept with S, so both gradients of the difference see the same
  estimate, as Theorem 4 asks.
- the combined gradient goes to the configured optimiser (the paper writes plain SGD).
- codes for the assignment come from a train-mode forward pass (BatchNorm statistics
  of the N points; the running statistics are only updated by the region steps).

Remaining differences from the authors' setup that ltot knows of (the MNIST presets
``twae_mnist.py:m100/m200/m400-*``, which follow the authors' optimiser and BatchNorm policy):
- width: the conv nets at 1/16 of the paper's channels (the ``paper`` preset is full width);
- budget: 6,000 region updates (60 rounds of N = 10,000, 10 epochs), a tenth of the ``paper``
  preset's 100 epochs; the m = 200 / 400 presets run the same 6,000 updates, so they see a half /
  a quarter of the images (the paper trains every m for the same epochs: ``python -m
  experiments.reproduce.mnist_twae --equal-epochs`` trains m / 100 times the updates);
- region priors: exact uniform samples of each region by default; the authors' assigned ball
  samples are ``region_prior="assigned"``;
- the reconstruction term is the per-pixel mean squared error (the paper leaves the
  normalisation open; it sets lambda's strength);
- scores: FID under ltot's MNIST LeNet features, so not comparable with the paper's Inception FIDs.

Data parallelism: the N images are sharded; every device gathers them and all codes,
computes the same assignment and prior samples, and takes an equal slice of each
region's n points (n must be divisible by the device count); gradients and BatchNorm
statistics are averaged over devices, and penalties see the whole region's codes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from ltot import discrepancy, tessellation
from ltot.data.pipeline import to_unit_float
from ltot.methods.autoencoder import AutoencoderMethod
from ltot.nn import make_autoencoder, model_options
from ltot.ot import balanced_assignment, lcm, pairwise_cost
from ltot.train.parallel import AXIS, gather, local_rows
from ltot.train.state import TrainState, adam_with_schedule

__all__ = ["ASSIGNERS", "BN_POLICIES", "REGION_PRIORS", "TWAE", "TWAEState", "from_config", "make_generators",
           "regularized_gradient"]

ASSIGNERS = ("lcm", "exact")
BN_POLICIES = ("train", "frozen_after_first_round", "round_statistics")
REGION_PRIORS = ("exact", "assigned")


def make_generators(kind: str, num_regions: int, dim: int, *, seed: int = 0, num_samples: int = 100_000,
                    num_iters: int = 50, progress: bool | None = False) -> jnp.ndarray:
  """Generators [m, d]: "cvt" (Lloyd on Monte-Carlo points of the ball, TWAE Sec. 2.4) or "e8" (d = 8, m = 241).

  Example:
    >>> make_generators('cvt', 10, 2, num_samples=2_000, num_iters=5).shape
    (10, 2)
  """
  if kind == "e8":
    if dim != 8 or num_regions != 241:
      raise ValueError(f"the E8 tessellation has 241 regions in 8 dimensions, got m={num_regions}, d={dim}")
    return tessellation.e8_tessellation()
  if kind != "cvt":
    raise ValueError(f"tessellation must be 'cvt' or 'e8', got {kind!r}")
  return tessellation.cvt(jax.random.key(seed), num_regions, dim, num_samples=num_samples,
                          num_iters=num_iters, progress=progress).generators


class TWAEState(TrainState):
  """TrainState plus the tessellation and the current round's plan.

  generators [m, d]: the tessellation (fitted by ``TWAE.init``, then carried in checkpoints, so a
  run directory alone defines the model). region: the next region to update (0 starts a round);
  members [m, n]: indices of each region's points in the round's batch; priors [m, n, d]: the
  regions' prior samples; prev_idx [n], prev_prior [n, d], prev_key (key data), prev_grads
  (params-shaped, None without Algorithm 3): the previous random batch S(k-1) and its gradient
  at theta_{k-1}.
  """

  generators: jnp.ndarray = None
  region: jnp.ndarray = None
  members: jnp.ndarray = None
  priors: jnp.ndarray = None
  prev_idx: jnp.ndarray = None
  prev_prior: jnp.ndarray = None
  prev_key: jnp.ndarray = None
  prev_grads: Any = None


def regularized_gradient(grad_k, grad_prev_now, grad_prev_then, alpha: float, first):
  """Algorithm 3, line 12: grad_k + alpha * (grad f_{S(k-1)}(theta_k) - grad f_{S(k-1)}(theta_{k-1})),
  or grad_k alone on a round's first region (line 9); pytrees of equal structure.

  Example:
    >>> import jax.numpy as jnp
    >>> g = regularized_gradient({'w': jnp.array(1.0)}, {'w': jnp.array(3.0)}, {'w': jnp.array(2.0)}, 0.5, first=False)
    >>> float(g['w'])  # 1 + 0.5 * (3 - 2)
    1.5
  """
  return jax.tree.map(lambda g, a, b: jnp.where(first, g, g + alpha * (a - b)), grad_k, grad_prev_now, grad_prev_then)


@dataclasses.dataclass(frozen=True)
class TWAE(AutoencoderMethod):
  """TWAE; implements ``ltot.train.Method``. The prior is the uniform unit ball.

  Attributes (besides ``AutoencoderMethod``'s):
    num_regions: m. tessellation: "cvt" or "e8"; tessellation_seed, cvt_samples, cvt_iters: the
      CVT's Lloyd fit (``make_generators``), done by ``init``.
    per_region: n, the points per region in a round (the loop's batch size is N = m * n).
    lam: lambda (TWAE: 1 for SW, 0.01 for GW, GSW, DSW).
    penalty: a key of ``ltot.discrepancy.DISCREPANCIES`` ("sw", "gw", ...).
    penalty_options: its keyword arguments as (name, value) pairs.
    assign: "lcm" (Algorithm 2) or "exact" (``ltot.ot.balanced_assignment``).
    alpha: Algorithm 3's weight; 0 runs Algorithm 1.
    recon_weight: multiplier of the reconstruction cost.
    bn_policy: BatchNorm on region batches (see the module docstring): "train",
      "frozen_after_first_round" (the authors' code) or "round_statistics".
    region_prior: "exact" (uniform samples of each region) or "assigned" (the authors' code:
      N uniform ball points split into the regions by ``assign``).
  """

  num_regions: int = 10
  tessellation: str = "cvt"
  tessellation_seed: int = 0
  cvt_samples: int = 100_000
  cvt_iters: int = 50
  per_region: int = 100
  lam: float = 1.0
  penalty: str = "sw"
  penalty_options: tuple[tuple[str, Any], ...] = ()
  assign: str = "lcm"
  alpha: float = 0.0
  recon_weight: float = 1.0
  bn_policy: str = "train"
  region_prior: str = "exact"

  def __post_init__(self):
    if self.prior != "ball":
      raise ValueError(f"TWAE's prior is the unit ball, got prior={self.prior!r}")
    super().__post_init__()
    if self.tessellation not in ("cvt", "e8"):
      raise ValueError(f"tessellation must be 'cvt' or 'e8', got {self.tessellation!r}")
    if self.tessellation == "e8" and (self.latent_dim, self.num_regions) != (8, 241):
      raise ValueError(f"the E8 tessellation has 241 regions in 8 dimensions, got m={self.num_regions}, "
                       f"d={self.latent_dim}")
    if self.num_regions < 1 or self.per_region < 2:
      raise ValueError(f"need num_regions >= 1 and per_region >= 2, got {self.num_regions} and {self.per_region}")
    if self.penalty not in discrepancy.DISCREPANCIES:
      raise ValueError(f"penalty must be one of {sorted(discrepancy.DISCREPANCIES)}, got {self.penalty!r}")
    if self.assign not in ASSIGNERS:
      raise ValueError(f"assign must be one of {ASSIGNERS}, got {self.assign!r}")
    if self.bn_policy not in BN_POLICIES:
      raise ValueError(f"bn_policy must be one of {BN_POLICIES}, got {self.bn_policy!r}")
    if self.region_prior not in REGION_PRIORS:
      raise ValueError(f"region_prior must be one of {REGION_PRIORS}, got {self.region_prior!r}")
    if self.lam < 0 or self.alpha < 0 or self.recon_weight <= 0:
      raise ValueError(f"need lam >= 0, alpha >= 0, recon_weight > 0; "
                       f"got {self.lam}, {self.alpha}, {self.recon_weight}")

  def sample_penalty(self, z, z_prior, rng):
    return discrepancy.DISCREPANCIES[self.penalty](z, z_prior, rng=rng, **dict(self.penalty_options))

  # -- Algorithm 1: the assignment round ----------------------------------------
  def _labels(self, points: jnp.ndarray, generators: jnp.ndarray, capacity: int) -> jnp.ndarray:
    """Region [N] of each point [N, d], ``capacity`` per region, by LCM or the exact solution."""
    solve = lcm if self.assign == "lcm" else balanced_assignment
    return solve(pairwise_cost(points, jnp.asarray(generators, points.dtype), "sqeuclidean"), capacity)

  def regions(self, state: TWAEState, z_all: jnp.ndarray) -> jnp.ndarray:
    """Members [m, n] (indices into z_all [N, d]) of each region of ``state.generators``, n = N / m."""
    n_total, m = z_all.shape[0], self.num_regions
    if n_total % m:
      raise ValueError(f"the batch of N={n_total} codes must split into m={m} regions of equal size")
    labels = self._labels(z_all, state.generators, n_total // m)
    return jnp.argsort(labels, stable=True).reshape(m, n_total // m)

  def _local(self, idx: jnp.ndarray) -> jnp.ndarray:
    """This device's equal slice of the n indices idx."""
    n, devices = idx.shape[0], jax.lax.axis_size(AXIS)
    if n % devices:
      raise ValueError(f"region batches of n={n} points do not split over {devices} devices")
    return local_rows(idx, n // devices)

  def _frozen(self, state: TWAEState) -> jnp.ndarray:
    """Whether this step's BatchNorm keeps (and normalises with) the stored statistics."""
    if self.bn_policy == "train":
      return jnp.array(False)
    if self.bn_policy == "round_statistics":
      return jnp.array(True)
    return state.step >= self.num_regions  # frozen_after_first_round: from the second round on

  def batch_loss(self, params, stats, x, z_prior, rng, frozen):
    """(loss, (metrics, new_stats)) of this device's share x of a batch whose prior sample is z_prior [n, d]."""
    z, enc_stats = self.encoder_outputs(params, stats, x, True, frozen=frozen)
    logits, dec_stats = self.decoder_logits(params, stats, z, True, frozen=frozen)
    recon = jnp.mean(self.squared_error(logits, x))
    penalty = self.sample_penalty(gather(z), z_prior, rng)
    new_stats = {"encoder": enc_stats["batch_stats"], "decoder": dec_stats["batch_stats"]}
    return self.recon_weight * recon + self.lam * penalty, ({"recon": recon, "penalty": penalty}, new_stats)

  def _grad(self, state, x_all, idx, z_prior, rng, frozen):
    """(device-averaged gradient, metrics, new BatchNorm stats) of the loss on the points x_all[idx]."""
    x = to_unit_float(x_all[self._local(idx)])
    (loss, (metrics, new_stats)), grads = jax.value_and_grad(self.batch_loss, has_aux=True)(
        state.params, state.batch_stats, x, z_prior, rng, frozen)
    return jax.lax.pmean(grads, AXIS), {"loss": loss, **metrics}, new_stats

  @property
  def updates_per_batch(self) -> int:
    """The loop feeds each batch of N images for m consecutive steps (one round)."""
    return self.num_regions

  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> TWAEState:
    """The autoencoder's initial state with the tessellation: fits the CVT (Lloyd; a progress bar
    where stderr is a terminal). To shape a checkpoint's restore, use ``jax.eval_shape`` of it,
    which fits nothing."""
    base = super().init(rng, batch)
    m, n, d = self.num_regions, self.per_region, self.latent_dim
    generators = make_generators(self.tessellation, m, d, seed=self.tessellation_seed, num_samples=self.cvt_samples,
                                 num_iters=self.cvt_iters, progress=None)
    zeros_key = jax.random.key_data(jax.random.key(0))
    return TWAEState.create(apply_fn=None, params=base.params, tx=self.tx, batch_stats=base.batch_stats,
                            generators=jnp.asarray(generators, jnp.float32),
                            region=jnp.zeros((), jnp.int32), members=jnp.zeros((m, n), jnp.int32),
                            priors=jnp.zeros((m, n, d)), prev_idx=jnp.zeros((n,), jnp.int32),
                            prev_prior=jnp.zeros((n, d)), prev_key=zeros_key,
                            prev_grads=jax.tree.map(jnp.zeros_like, base.params) if self.alpha > 0 else None)

  def _region_priors(self, generators: jnp.ndarray, rng: jax.Array) -> jnp.ndarray:
    """Prior samples [m, n, d] of the round: exact per-region samples, or the authors' assigned ball points."""
    if self.region_prior == "exact":
      return tessellation.sample_regions(rng, generators, self.per_region)
    return tessellation.sample_regions(rng, generators, self.per_region, method="capacity", assign=self.assign)

  def _plan(self, state, batch, rng, frozen):
    """Algorithm 1 lines 2-3 and the region priors: members [m, n], priors [m, n, d] and the
    BatchNorm statistics the round's region steps start from."""
    x = to_unit_float(batch["x"])
    if self.bn_policy == "round_statistics":  # this round's statistics, exactly (momentum 0), of the N points
      z_local, enc = self.encoder_outputs(state.params, state.batch_stats, x, True, momentum=0.0)
      _, dec = self.decoder_logits(state.params, state.batch_stats, z_local, True, momentum=0.0)
      stats = {"encoder": enc["batch_stats"], "decoder": dec["batch_stats"]}
    else:  # the codes of a train-mode pass (eval-mode once frozen); the stored statistics stay
      z_local = self.encoder_outputs(state.params, state.batch_stats, x, True, frozen=frozen)[0]
      stats = state.batch_stats
    members = self.regions(state, gather(z_local))
    return members, self._region_priors(state.generators.astype(z_local.dtype), rng), stats

  def _random_batch(self, key, num_points):
    """Algorithm 3's S: n of the round's points, a global prior sample of n, and the penalty key."""
    k_idx, k_prior, k_pen = jax.random.split(key, 3)
    idx = jax.random.choice(k_idx, num_points, (self.per_region,), replace=False).astype(jnp.int32)
    return idx, self.sample_prior(k_prior, self.per_region), k_pen

  def train_step(self, state: TWAEState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    """One region update of the current round (a new round, with a new plan, when region == 0)."""
    k_plan, k_pen, k_rand = jax.random.split(rng, 3)
    k = state.region
    frozen = self._frozen(state)
    members, priors, stats = jax.lax.cond(k == 0, lambda: self._plan(state, batch, k_plan, frozen),
                                          lambda: (state.members, state.priors, state.batch_stats))
    state = state.replace(batch_stats=stats)
    x_all = gather(batch["x"])
    grads, metrics, new_stats = self._grad(state, x_all, members[k], priors[k], k_pen, frozen)
    extra = {}
    if self.alpha > 0:
      # Algorithm 3: grad f_{S(k-1)} at theta_k minus the stored one at theta_{k-1} (none at a round's start).
      prev_key = jax.random.wrap_key_data(state.prev_key)
      now = self._grad(state, x_all, state.prev_idx, state.prev_prior, prev_key, frozen)[0]
      grads = regularized_gradient(grads, now, state.prev_grads, self.alpha, first=k == 0)
      idx, prior, pen = self._random_batch(k_rand, x_all.shape[0])
      extra = dict(prev_idx=idx, prev_prior=prior, prev_key=jax.random.key_data(pen),
                   prev_grads=self._grad(state, x_all, idx, prior, pen, frozen)[0])
    state = state.apply_gradients(grads=grads, batch_stats=new_stats, region=(k + 1) % self.num_regions,
                                  members=members, priors=priors, **extra)
    return state, jax.lax.pmean(metrics, AXIS)

  def evaluate(self, state: TrainState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, Any]:
    x = to_unit_float(batch["x"])
    z = self.encode(state, x)
    out = {**self.reconstruction_metrics(state, x), **self.prior_fit(z)}
    out["latent_" + self.penalty] = self.sample_penalty(z, self.sample_prior(rng, z.shape[0]), rng)
    return out


def from_config(config, steps_per_epoch: int) -> TWAE:
  """Builds a TWAE from a run config (sections ``model``, ``optim``, ``twae``); fits nothing
  (the tessellation is made by ``TWAE.init``).

  ``steps_per_epoch`` counts batches of N; each feeds m region updates (loop steps), so
  the learning-rate schedule counts steps_per_epoch * m updates per epoch.
  """
  t = config.twae
  d = config.model.latent_dim
  if config.batch_size % t.num_regions:
    raise ValueError(f"batch_size={config.batch_size} (N) must be a multiple of twae.num_regions={t.num_regions}")
  ae = make_autoencoder(config.model.arch, d, width=config.model.width, axis_name=AXIS, **model_options(config.model))
  o = config.optim
  tx = adam_with_schedule(o.lr, o.b1, o.b2, steps_per_epoch * t.num_regions, dict(o.decay_epochs))
  return TWAE(ae, tx, d, prior="ball", num_regions=t.num_regions, tessellation=t.tessellation,
              tessellation_seed=t.tessellation_seed, cvt_samples=t.cvt_samples, cvt_iters=t.cvt_iters,
              per_region=config.batch_size // t.num_regions, lam=t.lam, penalty=t.penalty,
              penalty_options=tuple(sorted(dict(t.penalty_options).items())), assign=t.assign, alpha=t.alpha,
              recon_weight=t.recon_weight, bn_policy=t.bn_policy, region_prior=t.region_prior)
