"""The potential-network pieces of AE-OT (Liu, Gu & Samaras, "Latent Space Optimal Transport for
Generative Models"): eq. 17's assignment from duals, eq. 18's regularized regression, and the
generating map z + grad D(z) of Algorithm 2.

Per batch, ``ltot.ot.kantorovich_potentials`` gives the optimal duals H* of eq. 14 for noise
z_x [m, d] and latent codes z_y [m, d] under the cost 1/2 |z_x - z_y|^2 (h_y[j] - h_x[i] <= c_ij).
At the optimum h_x[i] = max_j (h_y[j] - c_ij), whose gradient in z_x,i is z_y,sigma(i) - z_x,i:
a network D regressed onto h_x therefore transports z to z + grad D(z).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ltot._distances import pairwise_sq_dists, safe_sqrt
from ltot._reduce import min_argmin

__all__ = ["dual_assignment", "potential_regression_loss", "transport_map"]

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
  fit = jnp.mean((values - h_x) ** 2)
  gradient = jnp.mean((safe_sqrt(jnp.sum(grads ** 2, -1)) - safe_sqrt(jnp.sum((matched - z_x) ** 2, -1))) ** 2)
  return fit + lam * gradient, {"fit": fit, "gradient": gradient}


def transport_map(potential: Potential, z: jnp.ndarray) -> jnp.ndarray:
  """Algorithm 2: the generated codes z + grad D(z) for noise z [n, d]."""
  return z + jax.vmap(jax.grad(potential))(z)
