"""Squared 2-Wasserstein distance between fitted Gaussians (TWAE eq. 4, the "GW" distance)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ltot._checks import check_points, check_same_dim

__all__ = ["gaussian_w2", "nuclear_norm"]


@jax.custom_jvp
def nuclear_norm(m: jnp.ndarray) -> jnp.ndarray:
  """Sum of the singular values of m [a, b].

  Its derivative is taken as sum_i u_i^T dm v_i over the singular values above a
  relative tolerance: exact where m has full rank, and a subgradient (instead of
  the NaNs SVD's derivative gives at repeated or zero singular values) where it
  does not, e.g. for centred samples with n < d.

  Example:
    >>> import jax.numpy as jnp
    >>> float(nuclear_norm(jnp.array([[3.0, 0.0], [0.0, -4.0]])))
    7.0
  """
  return jnp.sum(jnp.linalg.svd(m, compute_uv=False))


@nuclear_norm.defjvp
def _nuclear_norm_jvp(primals, tangents):
  (m,), (dm,) = primals, tangents
  u, s, vt = jnp.linalg.svd(m, full_matrices=False)
  keep = s > s[0] * (max(m.shape) * jnp.finfo(m.dtype).eps)
  return jnp.sum(s), jnp.sum(jnp.where(keep, jnp.einsum("ai,ab,ib->i", u, dm, vt), 0.0))


def gaussian_w2(x: jnp.ndarray, y: jnp.ndarray, *, rng=None) -> jnp.ndarray:
  """|m_x - m_y|^2 + tr(S_x + S_y - 2 (S_y^1/2 S_x S_y^1/2)^1/2) for the fitted Gaussians.

  Means and unbiased covariances of x [n, d] and y [m, d] (n, m >= 2). The trace
  of the matrix square root equals the nuclear norm of A B^T with
  A = centred(x) / sqrt(n - 1), B = centred(y) / sqrt(m - 1) (the nonzero
  eigenvalues of S_y^1/2 S_x S_y^1/2 are the squared singular values of A B^T), so
  no square root of a possibly singular d x d matrix is formed: it stays exact and
  differentiable when the batch is smaller than the dimension. With more points
  than dimensions, A B^T has the singular values of R_A R_B^T (thin QR factors,
  [d, d]), which is used instead. ``rng`` is unused.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.normal(jax.random.key(0), (4000, 2))
    >>> # y = 2x + m: |m|^2 + tr(S_x + 4 S_x - 2 (4 S_x^2)^(1/2)) = 9 + 2, up to sampling
    >>> round(float(gaussian_w2(x, 2.0 * x + jnp.array([3.0, 0.0]))), 1)
    11.1
  """
  del rng
  x, y = jnp.asarray(x), jnp.asarray(y)
  check_points("x", x, min_points=2)
  check_points("y", y, min_points=2)
  check_same_dim("x", x, "y", y)
  a = (x - jnp.mean(x, 0)) / jnp.sqrt(x.shape[0] - 1.0)
  b = (y - jnp.mean(y, 0)) / jnp.sqrt(y.shape[0] - 1.0)
  mean_term = jnp.sum((jnp.mean(x, 0) - jnp.mean(y, 0)) ** 2)
  if min(x.shape[0], y.shape[0]) <= x.shape[1]:
    cross = a @ b.T
  else:
    cross = jnp.linalg.qr(a)[1] @ jnp.linalg.qr(b)[1].T
  return mean_term + jnp.sum(a * a) + jnp.sum(b * b) - 2.0 * nuclear_norm(cross)
