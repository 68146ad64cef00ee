import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot import discrepancy, methods
from ltot.train import AXIS
from tests.conftest import tiny_config


@pytest.mark.slow
def test_wae_mmd_loss_by_hand(mnist):
  config = tiny_config()
  method = methods.build(config, 16)
  images = mnist["train"].images[:8]
  state = method.init(jax.random.key(0), {"x": images})
  x = images.astype(np.float32) / 255.0
  rng = jax.random.key(5)
  loss, (metrics, _) = jax.vmap(lambda xs: method.loss(state.params, state.batch_stats, xs, rng),
                                axis_name=AXIS)(jnp.asarray(x)[None])
  loss, metrics = loss[0], {k: v[0] for k, v in metrics.items()}
  # By hand: train-mode forward passes, summed squared pixel error, lambda * IMQ MMD with C = 2 d.
  ae = method.autoencoder

  def forward(xs):  # train-mode BatchNorm needs the named axis; it has size 1 here
    z, _ = ae.encoder.apply({"params": state.params["encoder"], "batch_stats": state.batch_stats["encoder"]},
                            xs, train=True, mutable=["batch_stats"])
    logits, _ = ae.decoder.apply({"params": state.params["decoder"], "batch_stats": state.batch_stats["decoder"]},
                                 z, train=True, mutable=["batch_stats"])
    return z, logits

  z, logits = jax.tree.map(lambda a: a[0], jax.vmap(forward, axis_name=AXIS)(jnp.asarray(x)[None]))
  recon = np.mean(np.sum((1 / (1 + np.exp(-np.asarray(logits, np.float64))) - x) ** 2, axis=(1, 2, 3)))
  prior = jax.random.normal(jax.random.split(rng)[0], (8, 8))
  penalty = discrepancy.mmd(z, prior, scale=16.0)
  np.testing.assert_allclose(metrics["recon"], recon, rtol=1e-5)
  np.testing.assert_allclose(metrics["penalty"], penalty, rtol=1e-5)
  np.testing.assert_allclose(loss, recon + 10.0 * penalty, rtol=1e-5)


@pytest.mark.slow
def test_sample_and_reconstruct_ranges(mnist):
  method = methods.build(tiny_config(), 16)
  state = method.init(jax.random.key(0), {"x": mnist["test"].images[:4]})
  samples = method.sample(state, jax.random.key(1), 5)
  recons = method.reconstruct(state, mnist["test"].images[:3])
  assert samples.shape == (5, 28, 28, 1) and recons.shape == (3, 28, 28, 1)
  assert float(samples.min()) >= 0 and float(samples.max()) <= 1
  metrics = method.evaluate(state, {"x": mnist["test"].images[:16]}, jax.random.key(2))
  assert set(metrics) == {"recon_mse", "recon_l2sq", "latent_mmd"}


@pytest.mark.parametrize("key,value,match", [("wae.kernel", "laplace", "kernel"), ("wae.lam", -1.0, "lam"),
                                             ("wae.penalty", "kl", "penalty"), ("method", "gan", "method")])
def test_bad_method_config(key, value, match):
  with pytest.raises(ValueError, match=match):
    methods.build(tiny_config(**{key: value}), 16)


def _train_forward(method, state, x):
  """Train-mode codes and logits under a size-1 named axis."""
  def forward(xs):
    z, _ = method.encoder_outputs(state.params, state.batch_stats, xs, True)
    return z, method.decoder_logits(state.params, state.batch_stats, z, True)[0]
  return jax.tree.map(lambda a: a[0], jax.vmap(forward, axis_name=AXIS)(jnp.asarray(x)[None]))


def _loss(method, state, x, rng):
  loss, (metrics, _) = jax.vmap(lambda xs: method.loss(state.params, state.batch_stats, xs, rng),
                                axis_name=AXIS)(jnp.asarray(x)[None])
  return loss[0], {k: v[0] for k, v in metrics.items()}


@pytest.mark.slow
def test_wae_gan_loss_by_hand(mnist):
  method = methods.build(tiny_config(**{"wae.penalty": "gan", "wae.lam": 2.0}), 16)
  x = mnist["train"].images[:8].astype(np.float32) / 255.0
  state = method.init(jax.random.key(0), {"x": x})
  rng = jax.random.key(3)
  loss, metrics = _loss(method, state, x, rng)
  z, logits = _train_forward(method, state, x)
  prior = np.asarray(jax.random.normal(jax.random.split(rng)[0], (8, 8)))
  d = lambda v: 1 / (1 + np.exp(-np.asarray(method.discriminator.apply(  # noqa: E731
      {"params": state.params["discriminator"]}, jnp.asarray(v))[:, 0], np.float64)))
  generator = np.mean(-np.log(d(z)))  # the log trick
  disc = np.mean(-np.log(d(prior))) + np.mean(-np.log(1 - d(z)))
  recon = np.mean(np.sum((1 / (1 + np.exp(-np.asarray(logits, np.float64))) - x) ** 2, axis=(1, 2, 3)))
  np.testing.assert_allclose(metrics["penalty"], generator, rtol=1e-5)
  np.testing.assert_allclose(metrics["disc_loss"], disc, rtol=1e-5)
  np.testing.assert_allclose(loss, recon + 2.0 * (generator + disc), rtol=1e-5)
  # Each player gets only its own gradient: the discriminator's loss does not move the encoder.
  grads = jax.grad(lambda p: jax.vmap(lambda xs: method.loss(p, state.batch_stats, xs, rng)[1][0]["disc_loss"],
                                      axis_name=AXIS)(jnp.asarray(x)[None])[0])(state.params)
  assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree.leaves(grads["encoder"]))


@pytest.mark.parametrize("penalty,options", [("sw", {"num_projections": 50}), ("gw", {}),
                                             ("gsw", {"num_projections": 20, "r": 2.0})])
@pytest.mark.slow
def test_wae_sliced_penalties_by_hand_with_ball_prior(mnist, penalty, options):
  method = methods.build(tiny_config(**{"wae.penalty": penalty, "wae.prior": "ball", "wae.lam": 0.5,
                                        "wae.penalty_options": options}), 16)
  x = mnist["train"].images[:8].astype(np.float32) / 255.0
  state = method.init(jax.random.key(0), {"x": x})
  rng = jax.random.key(4)
  loss, metrics = _loss(method, state, x, rng)
  z, _ = _train_forward(method, state, x)
  prior_rng, penalty_rng = jax.random.split(rng)
  prior = method.sample_prior(prior_rng, 8)
  assert float(jnp.max(jnp.linalg.norm(prior, axis=1))) <= 1.0  # the unit-ball prior
  want = discrepancy.DISCREPANCIES[penalty](z, prior, rng=penalty_rng, **options)
  np.testing.assert_allclose(metrics["penalty"], want, rtol=1e-5)
  np.testing.assert_allclose(loss, metrics["recon"] + 0.5 * want, rtol=1e-5)
