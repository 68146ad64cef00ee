import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot import methods
from ltot.train import AXIS
from tests.conftest import tiny_config


@pytest.mark.slow
def test_vae_negative_elbo_by_hand(mnist):
  method = methods.build(tiny_config(method="vae"), 16)
  x = mnist["train"].images[:6].astype(np.float32) / 255.0
  state = method.init(jax.random.key(0), {"x": x})
  rng = jax.random.key(7)
  loss, (metrics, _) = jax.vmap(lambda xs: method.loss(state.params, state.batch_stats, xs, rng),
                                axis_name=AXIS)(jnp.asarray(x)[None])

  def forward(xs):
    out, _ = method.encoder_outputs(state.params, state.batch_stats, xs, True)
    return out

  out = np.asarray(jax.vmap(forward, axis_name=AXIS)(jnp.asarray(x)[None])[0], np.float64)
  mean, logvar = out[:, :8], out[:, 8:]
  z = mean + np.exp(0.5 * logvar) * np.asarray(jax.random.normal(rng, (6, 8)))
  logits = np.asarray(jax.vmap(lambda zz: method.decoder_logits(state.params, state.batch_stats, zz, True)[0],
                               axis_name=AXIS)(jnp.asarray(z, jnp.float32)[None])[0], np.float64)
  p = 1 / (1 + np.exp(-logits))
  nll = np.mean(-np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3)))
  kl = np.mean(0.5 * np.sum(mean**2 + np.exp(logvar) - 1 - logvar, axis=1))
  np.testing.assert_allclose(metrics["nll"][0], nll, rtol=1e-4)
  np.testing.assert_allclose(metrics["kl"][0], kl, rtol=1e-4)
  np.testing.assert_allclose(loss[0], nll + kl, rtol=1e-4)


@pytest.mark.slow
def test_vae_evaluate_sample_and_errors(mnist):
  method = methods.build(tiny_config(method="vae"), 16)
  state = method.init(jax.random.key(0), {"x": mnist["test"].images[:4]})
  assert method.encode(state, mnist["test"].images[:3]).shape == (3, 8)  # the posterior mean
  assert method.sample(state, jax.random.key(1), 5).shape == (5, 28, 28, 1)
  metrics = method.evaluate(state, {"x": mnist["test"].images[:16]}, jax.random.key(2))
  assert set(metrics) == {"recon_mse", "recon_l2sq", "neg_elbo", "kl"}
  with pytest.raises(ValueError, match="likelihood"):
    methods.build(tiny_config(method="vae", **{"vae.likelihood": "poisson"}), 16)
