"""The losses of the latent-space OT generators of "AE-OTtrans / AE-OTgen" (Algorithms 1 and 2).

Both fit a network f_w from noise to the latent codes of a (frozen) autoencoder with an exact
bijection under the squared cost c(a, b) = |a - b|^2, found by ``ltot.ot.assignment``:

- OTtrans (Algorithm 1) matches m noise draws to m codes once (``matched_targets``) and then
  regresses f_w(n_i) onto the code matched to n_i (``ottrans_loss``, eq. 1).
- OTgen (Algorithm 2) matches the predictions P = f_w(N) of each batch to the batch's codes Z
  and regresses each prediction onto its match, plus lambda times the diversity term
  D(f_w, N, Z) (``otgen_loss``, eq. 2). The matching is a constant for the gradient.

``OTGen`` and ``OTTrans`` train f_w with the generic loop (``ltot.train.train``) on the codes
of a frozen autoencoder or on 2-D points (``ltot.methods.latent``). Data parallelism: OTgen's
matching and diversity couple the whole batch, so each device gathers every device's
predictions and codes and computes the whole batch's loss; OTtrans's loss is a per-pair
mean, and the pairs are fixed before training.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ltot._checks import check_paired
from ltot._distances import pairwise_sq_dists, safe_sqrt
from ltot.methods.latent import LatentMap, LatentState, first_stage
from ltot.nn import MLP
from ltot.ot import assignment
from ltot.train.parallel import gather
from ltot.train.state import apply_loss

__all__ = ["matched_targets", "mean_pairwise_distance", "diversity", "ottrans_loss", "otgen_loss",
           "OTGen", "OTTrans", "VARIANTS", "from_config"]

VARIANTS = ("otgen", "ottrans")


def matched_targets(x: jnp.ndarray, y: jnp.ndarray, *, solver: str = "auto") -> jnp.ndarray:
  """y permuted so that row i is x_i's partner in the optimal bijection for |x_i - y_j|^2: [k, d].

  x, y: [k, d]. Exact (``ltot.ot.assignment`` with ``solver``); no gradient flows through the choice
  of partners.
  """
  x, y = check_paired(x, y)
  perm = assignment(pairwise_sq_dists(jax.lax.stop_gradient(x), jax.lax.stop_gradient(y)), solver=solver)
  return y[perm]


def mean_pairwise_distance(x: jnp.ndarray) -> jnp.ndarray:
  """Mean Euclidean distance over all k^2 ordered pairs of the rows of x [k, d] (the diagonal's zeros
  included), with a finite gradient where points coincide."""
  off_diagonal = ~jnp.eye(x.shape[0], dtype=bool)
  return jnp.mean(jnp.where(off_diagonal, safe_sqrt(pairwise_sq_dists(x, x)), 0.0))


def diversity(pred: jnp.ndarray, z: jnp.ndarray) -> jnp.ndarray:
  """D(f_w, N, Z) of eq. 2: |mean pairwise distance of the predictions - that of the codes|.

  The paper writes each sum over the |N|^2 pairs divided by |N|, i.e. |N| times the means used
  here; with batches of equal size that is a rescaling of lambda (lambda_paper = lambda / k).
  """
  return jnp.abs(mean_pairwise_distance(pred) - mean_pairwise_distance(z))


def ottrans_loss(pred: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
  """Eq. 1: mean_i |f_w(n_i) - sigma(n_i)|^2 over a batch of predictions [k, d] and their matched codes [k, d]."""
  return jnp.mean(jnp.sum((pred - target) ** 2, axis=-1))


def otgen_loss(pred: jnp.ndarray, z: jnp.ndarray, lam: float = 0.0, *,
               solver: str = "auto") -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
  """Eq. 2 for predictions f_w(N) [k, d] and codes Z [k, d]: (loss, {"transport", "diversity"}).

  transport = mean_i |f_w(n_i) - sigma(f_w(n_i))|^2 with sigma the optimal bijection from the
  predictions to Z, recomputed for this batch (the OT cost of the batch; ``solver``: see
  ``ltot.ot.transport``); loss = transport + lam * diversity.
  """
  transport_cost = ottrans_loss(pred, matched_targets(pred, z, solver=solver))
  div = diversity(pred, z)
  return transport_cost + lam * div, {"transport": transport_cost, "diversity": div}


@dataclasses.dataclass(frozen=True)
class OTGen(LatentMap):
  """OTgen (Algorithm 2); implements ``ltot.train.Method``. ``lam``: the weight of the diversity term."""

  lam: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    if self.lam < 0:
      raise ValueError(f"lam must be non-negative, got {self.lam}")

  def train_step(self, state: LatentState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    local = self.targets(state, batch)
    z, noise = gather(local), self.device_noise(rng, local.shape[0])

    def loss_fn(params, stats):
      loss, parts = otgen_loss(gather(self.generate(params, noise)), z, self.lam, solver=self.solver)
      return loss, (parts, stats)

    return apply_loss(state, loss_fn)


@dataclasses.dataclass(frozen=True)
class OTTrans(LatentMap):
  """OTtrans (Algorithm 1); implements ``ltot.train.Method``.

  ``training_data`` draws ``num_pairs`` noise points (0: one per code) and matches them once,
  exactly, to as many codes under |n - z|^2 (so noise_dim must equal code_dim); the steps then
  regress f_w(n_i) onto its partner. The matching solves a num_pairs^2 assignment.
  """

  num_pairs: int = 0

  def __post_init__(self):
    super().__post_init__()
    if self.noise_dim != self.code_dim:
      raise ValueError(f"OTtrans matches noise to codes directly: noise_dim ({self.noise_dim}) must equal "
                       f"code_dim ({self.code_dim})")
    if self.num_pairs < 0:
      raise ValueError(f"num_pairs must be non-negative, got {self.num_pairs}")

  def training_data(self, state, rng: jax.Array, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{"noise": [m, k], "x": [m, d]}``: m noise draws and the codes matched to them."""
    codes = super().training_data(state, rng, arrays)["x"]
    m = self.num_pairs or len(codes)
    if m > len(codes):
      raise ValueError(f"num_pairs={m} exceeds the {len(codes)} training codes")
    pick_rng, noise_rng = jax.random.split(rng)
    codes = codes[np.asarray(jax.random.permutation(pick_rng, len(codes)))[:m]]
    noise = np.asarray(self.sample_noise(noise_rng, m))
    return {"noise": noise, "x": np.asarray(matched_targets(noise, codes, solver=self.solver))}

  def train_step(self, state: LatentState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    del rng

    def loss_fn(params, stats):
      return ottrans_loss(self.generate(params, batch["noise"]), batch["x"]), ({}, stats)

    return apply_loss(state, loss_fn)


def from_config(config, steps_per_epoch: int, autoencoder=None) -> LatentMap:
  """OTGen or OTTrans from a run config (section ``ot_gen``; experiments/configs/latent_ot*.py).

  ``autoencoder``: the frozen first stage's method (``ltot.methods.build`` makes it from the
  recorded ``ot_gen.first_stage`` config; ``ot_gen.autoencoder`` is its run directory), whose
  latent dimension is code_dim; None for 2-D points (``ot_gen.code_dim``). Reads nothing.
  """
  del steps_per_epoch  # constant learning rate (the papers')
  g = config.ot_gen
  if g.variant not in VARIANTS:
    raise ValueError(f"ot_gen.variant must be one of {VARIANTS}, got {g.variant!r}")
  run_dir, code_dim = first_stage(config, "ot_gen", autoencoder)
  noise_dim = g.get("noise_dim") or code_dim
  kwargs: dict[str, Any] = dict(net=MLP(tuple(g.hidden), code_dim, g.activation), tx=optax.adam(g.lr, g.b1, g.b2),
                                noise_dim=noise_dim, code_dim=code_dim, noise=g.noise, autoencoder=autoencoder,
                                autoencoder_dir=run_dir, solver=g.get("solver", "auto"))
  if g.variant == "otgen":
    return OTGen(**kwargs, lam=g.lam)
  return OTTrans(**kwargs, num_pairs=g.num_pairs)
