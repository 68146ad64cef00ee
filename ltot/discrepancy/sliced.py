"""Sliced Wasserstein discrepancies: SW, Max-SW, distributional SW and generalized SW.

All return SW_p^p-style quantities (no final 1/p root): the mean over directions
of ``mean_i |sort(x.theta)_i - sort(y.theta)_i|^p`` for equal-size samples.

Sorting dominates the cost; ``ltot._sorting.sort_last_axis`` uses NumPy's sort on
the CPU backend and XLA's elsewhere, with identical values and gradients (see
experiments/benchmarks/sliced.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ltot._checks import check_paired
from ltot._sorting import sort_last_axis

__all__ = [
    "random_directions", "sort_last_axis", "projected_wasserstein", "sliced_wasserstein", "max_sliced_wasserstein",
    "distributional_sliced_wasserstein", "generalized_sliced_wasserstein",
]


def random_directions(rng: jax.Array, num: int, dim: int, dtype=jnp.float32) -> jnp.ndarray:
  """``num`` directions uniform on the unit sphere S^{dim-1}: [num, dim].

  Example:
    >>> import jax, jax.numpy as jnp
    >>> theta = random_directions(jax.random.key(0), 5, 3)
    >>> theta.shape, bool(jnp.allclose(jnp.linalg.norm(theta, axis=1), 1.0))
    ((5, 3), True)
  """
  v = jax.random.normal(rng, (num, dim), dtype)
  return v / jnp.linalg.norm(v, axis=-1, keepdims=True)


def projected_wasserstein(xp: jnp.ndarray, yp: jnp.ndarray, p: float = 2) -> jnp.ndarray:
  """W_p^p between the 1-D empirical measures in each row: xp, yp [k, n] -> [k].

  Example:
    >>> import jax.numpy as jnp
    >>> projected_wasserstein(jnp.array([[0.0, 1.0]]), jnp.array([[3.0, 2.0]])).tolist()  # sorted: (0-2)^2, (1-3)^2
    [4.0]
  """
  return jnp.mean(jnp.abs(sort_last_axis(xp) - sort_last_axis(yp)) ** p, axis=-1)


def _check(x, y, p):
  x, y = check_paired(x, y)
  if not p >= 1:
    raise ValueError(f"p must be >= 1, got {p}")
  return x, y


def _directions(rng, projections, num_projections, dim, dtype):
  if projections is not None:
    projections = jnp.asarray(projections, dtype)
    if projections.ndim != 2 or projections.shape[1] != dim:
      raise ValueError(f"projections must have shape [k, {dim}], got {projections.shape}")
    return projections
  if rng is None:
    raise ValueError("pass rng (a jax.random key) or explicit projections")
  if num_projections < 1:
    raise ValueError(f"num_projections must be positive, got {num_projections}")
  return random_directions(rng, num_projections, dim, dtype)


def sliced_wasserstein(x: jnp.ndarray, y: jnp.ndarray, *, rng: jax.Array | None = None,
                       projections: jnp.ndarray | None = None, num_projections: int = 1000,
                       p: float = 2) -> jnp.ndarray:
  """SW_p^p(x, y): mean over directions theta of W_p^p(theta#x, theta#y).

  Args:
    x, y: samples [n, d] (same n).
    rng: key for ``num_projections`` random directions (ignored if ``projections``).
    projections: [k, d] unit directions to use instead.
    p: the ground power.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.normal(jax.random.key(0), (256, 2))
    >>> shift = jnp.array([1.0, 0.0])
    >>> round(float(sliced_wasserstein(x, x + shift, rng=jax.random.key(1))), 1)  # E[cos^2] |shift|^2 = 1/2
    0.5
    >>> float(sliced_wasserstein(x, x, projections=jnp.eye(2)))
    0.0
  """
  x, y = _check(x, y, p)
  theta = _directions(rng, projections, num_projections, x.shape[1], x.dtype)
  return jnp.mean(projected_wasserstein(theta @ x.T, theta @ y.T, p))


def max_sliced_wasserstein(x: jnp.ndarray, y: jnp.ndarray, *, rng: jax.Array | None = None,
                           projections: jnp.ndarray | None = None, num_projections: int = 100,
                           num_iters: int = 10, lr: float = 0.1, p: float = 2) -> jnp.ndarray:
  """Max-SW_p^p (Deshpande et al., 2019): W_p^p along the most discriminative direction.

  The direction is found without gradient flowing to x, y: start from the best of
  ``num_projections`` random (or given) directions, then ``num_iters`` steps of
  projected gradient ascent on the sphere with step ``lr``. The value (and its
  gradient in x) is W_p^p along that direction.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.normal(jax.random.key(0), (256, 2))
    >>> y = x + jnp.array([1.0, 0.0])
    >>> round(float(max_sliced_wasserstein(x, y, rng=jax.random.key(1))), 2)  # along the shift: 1
    1.0
  """
  x, y = _check(x, y, p)
  theta0 = _directions(rng, projections, num_projections, x.shape[1], x.dtype)
  xs, ys = jax.lax.stop_gradient(x), jax.lax.stop_gradient(y)
  best = theta0[jnp.argmax(projected_wasserstein(theta0 @ xs.T, theta0 @ ys.T, p))]

  def objective(t):
    t = t / jnp.linalg.norm(t)
    return projected_wasserstein((xs @ t)[None], (ys @ t)[None], p)[0]

  def ascend(_, t):
    t = t + lr * jax.grad(objective)(t)
    return t / jnp.linalg.norm(t)

  theta = jax.lax.stop_gradient(jax.lax.fori_loop(0, num_iters, ascend, best))
  return projected_wasserstein((x @ theta)[None], (y @ theta)[None], p)[0]


def distributional_sliced_wasserstein(x: jnp.ndarray, y: jnp.ndarray, *, rng: jax.Array,
                                      num_projections: int = 100, num_iters: int = 10, lr: float = 0.1,
                                      diversity: float = 1.0, p: float = 2) -> jnp.ndarray:
  """Distributional SW_p^p (Nguyen et al., 2021) with a linear map of directions.

  The direction distribution is the push-forward of the uniform one through
  f_A(theta) = A theta / |A theta|, A [d, d] starting at the identity (plain SW).
  A takes ``num_iters`` gradient-ascent steps (step ``lr``) on the Lagrangian of
  DSW's constrained problem, E_theta[W_p^p] - ``diversity`` * E_{theta, theta'}|theta.theta'|
  (the penalty keeps the directions spread out). The value, with A fixed (no
  gradient to A), is E_theta[W_p^p] over fresh directions.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.normal(jax.random.key(0), (256, 2))
    >>> y = x + jnp.array([1.0, 0.0])
    >>> sw = sliced_wasserstein(x, y, rng=jax.random.key(1), num_projections=100)
    >>> bool(distributional_sliced_wasserstein(x, y, rng=jax.random.key(1)) >= sw)  # directions move towards the shift
    True
  """
  x, y = _check(x, y, p)
  if rng is None:
    raise ValueError("distributional_sliced_wasserstein needs rng")
  d = x.shape[1]
  fit_rng, eval_rng = jax.random.split(rng)
  xs, ys = jax.lax.stop_gradient(x), jax.lax.stop_gradient(y)

  def push(a, theta):
    t = theta @ a.T
    return t / jnp.linalg.norm(t, axis=-1, keepdims=True)

  def lagrangian(a, theta):
    t = push(a, theta)
    spread = jnp.mean(jnp.abs(t @ t.T))
    return jnp.mean(projected_wasserstein(t @ xs.T, t @ ys.T, p)) - diversity * spread

  def ascend(i, a):
    theta = random_directions(jax.random.fold_in(fit_rng, i), num_projections, d, x.dtype)
    return a + lr * jax.grad(lagrangian)(a, theta)

  a = jax.lax.stop_gradient(jax.lax.fori_loop(0, num_iters, ascend, jnp.eye(d, dtype=x.dtype)))
  theta = push(a, random_directions(eval_rng, num_projections, d, x.dtype))
  return jnp.mean(projected_wasserstein(theta @ x.T, theta @ y.T, p))


def generalized_sliced_wasserstein(x: jnp.ndarray, y: jnp.ndarray, *, rng: jax.Array | None = None,
                                   projections: jnp.ndarray | None = None, num_projections: int = 1000,
                                   r: float = 1.0, p: float = 2) -> jnp.ndarray:
  """GSW_p^p (Kolouri et al., 2019) with the circular defining function g(x, theta) = |x - r theta|.

  Each direction theta gives the 1-D measure of distances to the point r * theta;
  the result is the mean over directions of W_p^p between those measures.

  Example:
    >>> import jax
    >>> x = jax.random.normal(jax.random.key(0), (256, 2))
    >>> float(generalized_sliced_wasserstein(x, x, rng=jax.random.key(1)))
    0.0
    >>> float(generalized_sliced_wasserstein(x, 2 * x, rng=jax.random.key(1))) > 0
    True
  """
  x, y = _check(x, y, p)
  if not r > 0:
    raise ValueError(f"r must be positive, got {r}")
  theta = _directions(rng, projections, num_projections, x.shape[1], x.dtype)

  def circular(z):  # [k, n] distances |z_i - r theta_k|, in matmul form
    sq = jnp.sum(z * z, -1)[None] - 2 * r * theta @ z.T + r * r * jnp.sum(theta * theta, -1)[:, None]
    return jnp.sqrt(jnp.maximum(sq, 0.0) + 1e-12)

  return jnp.mean(projected_wasserstein(circular(x), circular(y), p))
