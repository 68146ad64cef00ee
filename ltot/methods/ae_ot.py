"""The potential-network pieces of AE-OT (Liu, Gu & Samaras, "Latent Space Optimal Transport for
Generative Models"): eq. 17's assignment from duals, eq. 18's regularized regression, and the
generating map z + grad D(z) of Algorithm 2.

Per batch, ``ltot.ot.kantorovich_potentials`` gives the optimal duals H* of eq. 14 for noise
z_x [m, d] and latent codes z_y [m, d] under the cost 1/2 |z_x - z_y|^2 (h_y[j] - h_x[i] <= c_ij).
At the optimum h_x[i] = max_j (h_y[j] - c_ij), whose gradient in z_x,i is z_y,sigma(i) - z_x,i:
a network D regressed onto h_x therefore transports z to z + grad D(z).

``AEOT`` trains D with the generic loop on the codes of a frozen autoencoder or on 2-D points
(``ltot.methods.latent``): each step draws a batch of noise as large as the batch of codes,
solves eq. 14 on the whole (device-gathered) batch, fixes the duals' free additive constant
(mean h_y = 0), and regresses D with eq. 18, its gradient-norm targets taken from the primal
matching of the same solve.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import optax

from ltot._distances import pairwise_sq_dists, safe_sqrt
from ltot._reduce import min_argmin
from ltot.methods.latent import LatentMap, LatentState, first_stage
from ltot.nn import MLP
from ltot.ot import transport
from ltot.train.parallel import gather, local_rows
from ltot.train.state import apply_loss

__all__ = ["dual_assignment", "potential_regression_loss", "transport_map", "AEOT", "from_config"]

Potential = Callable[[jnp.ndarray], jnp.ndarray]  # D: z [d] -> scalar


def dual_assignment(z_x: jnp.ndarray, z_y: jnp.ndarray, h_x: jnp.ndarray, h_y: jnp.ndarray) -> jnp.ndarray:
  """Eq. 17: sigma(i) = argmin_j 1/2 |z_x,i - z_y,j|^2 + h_x[i] - h_y[j]; int32 [m] (the ordering function).

  With optimal duals the optimal assignment is among the minimisers (complementary
  slackness), but optimal duals are often degenerate: several columns can tie for a row,
  and the first is returned. Regression targets should come from the primal assignment
  (``ltot.ot.transport(...).labels``); this is the paper's diagnostic.
  """
  score = 0.5 * pairwise_sq_dists(z_x, z_y) + h_x[:, None] - h_y[None, :]
  return min_argmin(score, axis=1)[1]


def potential_regression_loss(potential: Potential, z_x: jnp.ndarray, h_x: jnp.ndarray, matched: jnp.ndarray,
                              lam: float) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
  """Eq. 18: mean_i (D(z_x,i) - h_x[i])^2 + lam * mean_i (|grad D(z_x,i)| - |z_y,sigma(i) - z_x,i|)^2.

  Args:
    potential: D, one point [d] -> scalar (a network with its parameters closed over).
    z_x: noise [m, d]; h_x: its optimal duals [m]; matched: z_y[sigma] [m, d], the codes assigned
      to z_x (eq. 17, or the primal assignment).
  Returns:
    (loss, {"fit", "gradient"}): the two terms before weighting.
  """
  values, grads = jax.vmap(jax.value_and_grad(potential))(z_x)
  if isinstance(lam, (int, float)) and lam == 0:
    # The gradient term is only reported: not differentiating through grad D about halves the
    # step's backward pass, and the gradient is the same.
    grads = jax.lax.stop_gradient(grads)
  fit = jnp.mean((values - h_x) ** 2)
  gradient = jnp.mean((safe_sqrt(jnp.sum(grads ** 2, -1)) - safe_sqrt(jnp.sum((matched - z_x) ** 2, -1))) ** 2)
  return fit + lam * gradient, {"fit": fit, "gradient": gradient}


def transport_map(potential: Potential, z: jnp.ndarray) -> jnp.ndarray:
  """Algorithm 2: the generated codes z + grad D(z) for noise z [n, d]."""
  return z + jax.vmap(jax.grad(potential))(z)


@dataclasses.dataclass(frozen=True)
class AEOT(LatentMap):
  """AE-OT (Algorithms 1-2); implements ``ltot.train.Method``. ``net`` is the potential D: [n, d] -> [n, 1].

  ``lam``: the weight of eq. 18's gradient-norm term. The noise is N(0, I) of the codes' dimension.
  """

  lam: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    if self.noise_dim != self.code_dim:
      raise ValueError(f"AE-OT transports noise in the code space: noise_dim ({self.noise_dim}) must equal "
                       f"code_dim ({self.code_dim})")
    if self.lam < 0:
      raise ValueError(f"lam must be non-negative, got {self.lam}")

  def potential(self, params) -> Potential:
    return lambda z: self.net.apply(params, z)[0]

  def generate(self, params, noise: jnp.ndarray) -> jnp.ndarray:
    return transport_map(self.potential(params), noise)

  def train_step(self, state: LatentState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    local = self.targets(state, batch)
    n = local.shape[0]
    z_x, z_y = gather(self.device_noise(rng, n)), gather(local)
    sol = transport(0.5 * pairwise_sq_dists(z_x, z_y), 1, solver=self.solver)  # the solve of ltot.ot.kantorovich_potentials
    h_x = -sol.row_potential + jnp.mean(sol.column_price)  # h_x - mean(h_y), with h_y = -column_price
    matched = z_y[sol.labels]
    cost = jnp.mean(0.5 * jnp.sum((z_x - matched) ** 2, -1))

    def loss_fn(params, stats):
      loss, parts = potential_regression_loss(self.potential(params), local_rows(z_x, n), local_rows(h_x, n),
                                              local_rows(matched, n), self.lam)
      return loss, ({**parts, "transport_cost": cost}, stats)

    return apply_loss(state, loss_fn)


def from_config(config, steps_per_epoch: int, autoencoder=None) -> AEOT:
  """AEOT from a run config (section ``ae_ot``; experiments/configs/latent_ot*.py).

  ``autoencoder``: the frozen first stage's method (``ltot.methods.build`` makes it from the
  recorded ``ae_ot.first_stage`` config; ``ae_ot.autoencoder`` is its run directory); None for
  2-D points (``ae_ot.code_dim``). Reads nothing.
  """
  del steps_per_epoch  # constant learning rate (the paper's)
  a = config.ae_ot
  run_dir, code_dim = first_stage(config, "ae_ot", autoencoder)
  return AEOT(net=MLP(tuple(a.hidden), 1, a.activation), tx=optax.adam(a.lr, a.b1, a.b2), noise_dim=code_dim,
              code_dim=code_dim, noise="gaussian", autoencoder=autoencoder, autoencoder_dir=run_dir, lam=a.lam,
              solver=a.get("solver", "auto"))
