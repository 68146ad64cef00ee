"""The losses of the latent-space OT generators of "AE-OTtrans / AE-OTgen" (Algorithms 1 and 2).

Both fit a network f_w from noise to the latent codes of a (frozen) autoencoder with an exact
bijection under the squared cost c(a, b) = |a - b|^2, found by ``ltot.ot.assignment``:

- OTtrans (Algorithm 1) matches m noise draws to m codes once (``matched_targets``) and then
  regresses f_w(n_i) onto the code matched to n_i (``ottrans_loss``, eq. 1).
- OTgen (Algorithm 2) matches the predictions P = f_w(N) of each batch to the batch's codes Z
  and regresses each prediction onto its match, plus lambda times the diversity term
  D(f_w, N, Z) (``otgen_loss``, eq. 2). The matching is a constant for the gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ltot._checks import check_paired
from ltot._distances import pairwise_sq_dists, safe_sqrt
from ltot.ot import assignment

__all__ = ["matched_targets", "mean_pairwise_distance", "diversity", "ottrans_loss", "otgen_loss"]


def matched_targets(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """y permuted so that row i is x_i's partner in the optimal bijection for |x_i - y_j|^2: [k, d].

  x, y: [k, d]. Exact (``ltot.ot.assignment``); no gradient flows through the choice of partners.
  """
  x, y = check_paired(x, y)
  perm = assignment(pairwise_sq_dists(jax.lax.stop_gradient(x), jax.lax.stop_gradient(y)))
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


def otgen_loss(pred: jnp.ndarray, z: jnp.ndarray, lam: float = 0.0) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
  """Eq. 2 for predictions f_w(N) [k, d] and codes Z [k, d]: (loss, {"transport", "diversity"}).

  transport = mean_i |f_w(n_i) - sigma(f_w(n_i))|^2 with sigma the optimal bijection from the
  predictions to Z, recomputed for this batch (the OT cost of the batch); loss = transport +
  lam * diversity.
  """
  transport_cost = ottrans_loss(pred, matched_targets(pred, z))
  div = diversity(pred, z)
  return transport_cost + lam * div, {"transport": transport_cost, "diversity": div}
