import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot.nn import MLP, ConvTranspose4x4, DownConv4x4, UpConv4x4, conv_impl, init_variables, make_autoencoder
from ltot.nn.modules import _lecun_normal


def _count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def conv(k, cin, cout):
  return k * k * cin * cout + cout


def dense(i, o):
  return i * o + o


def bn(c):
  return 2 * c


def conv_bn(k, cin, cout):
  """A conv followed by BatchNorm: no conv bias (BatchNorm's shift replaces it)."""
  return k * k * cin * cout + bn(cout)


def _expected(name, d):
  """Parameter counts written out from the papers' layer lists (TWAE Sec. 5.1)."""
  if name == "mnist_conv":
    enc = conv_bn(4, 1, 128) + conv_bn(4, 128, 256) + conv_bn(4, 256, 512) \
        + conv_bn(4, 512, 1024) + dense(2 * 2 * 1024, d)
    dec = dense(d, 7 * 7 * 1024) + conv_bn(4, 1024, 512) + conv_bn(4, 512, 256) + conv(4, 256, 1)
  elif name == "celeba_a":
    enc = conv_bn(4, 3, 128) + conv_bn(4, 128, 256) + conv_bn(4, 256, 512) \
        + conv_bn(4, 512, 1024) + dense(4 * 4 * 1024, d)
    dec = dense(d, 8 * 8 * 1024) + conv_bn(4, 1024, 512) + conv_bn(4, 512, 256) \
        + conv_bn(4, 256, 128) + conv(4, 128, 3)
  elif name == "celeba_b":
    enc = conv_bn(4, 3, 64) + conv_bn(4, 64, 128) + conv_bn(4, 128, 256) \
        + conv_bn(4, 256, 512) + conv(4, 512, d)
    dec = conv_bn(4, d, 512) + conv_bn(4, 512, 256) + conv_bn(4, 256, 128) \
        + conv_bn(4, 128, 64) + conv(4, 64, 3)
  elif name == "toy_mlp":
    enc = dense(2, 128) + dense(128, 128) + dense(128, 128) + dense(128, d)
    dec = dense(d, 128) + dense(128, 128) + dense(128, 128) + dense(128, 2)
  else:
    enc = dense(784, 1024) + dense(1024, 512) + dense(512, 256) + dense(256, d)
    dec = dense(d, 256) + dense(256, 512) + dense(512, 1024) + dense(1024, 784)
  return enc, dec


@pytest.mark.parametrize("name,shape,d", [("mnist_conv", (28, 28, 1), 8), ("celeba_a", (64, 64, 3), 64),
                                          ("celeba_b", (64, 64, 3), 64), ("mnist_mlp", (28, 28, 1), 8),
                                          ("toy_mlp", (2,), 2)])
def test_shapes_and_parameter_counts(name, shape, d):
  ae = make_autoencoder(name, d)
  assert ae.image_shape == shape
  x = jnp.zeros((2,) + shape)
  enc = jax.eval_shape(ae.encoder.init, jax.random.key(0), x)
  z = jax.eval_shape(lambda v: ae.encoder.apply(v, x), enc)
  assert z.shape == (2, d)
  dec = jax.eval_shape(ae.decoder.init, jax.random.key(0), jnp.zeros((2, d)))
  out = jax.eval_shape(lambda v: ae.decoder.apply(v, jnp.zeros((2, d))), dec)
  assert out.shape == (2,) + shape
  assert (_count(enc["params"]), _count(dec["params"])) == _expected(name, d)
  assert ae.output == ("identity" if name == "toy_mlp" else "sigmoid")


def test_outputs_map_logits_to_data():
  logits = jnp.array([[-3.0, 0.0, 2.5]])
  np.testing.assert_allclose(make_autoencoder("toy_mlp", 2).data_from_logits(logits), logits)
  np.testing.assert_allclose(make_autoencoder("mnist_mlp", 2).data_from_logits(logits), 1 / (1 + np.exp(-logits)),
                             rtol=1e-6)
  with pytest.raises(ValueError, match="output must be one of"):
    dataclasses.replace(make_autoencoder("toy_mlp", 2), output="tanh")


@pytest.mark.slow
def test_width_knob_and_gaussian_encoder():
  ae = make_autoencoder("mnist_conv", 8, width=0.0625, outputs=2)
  x = jnp.zeros((3, 28, 28, 1))
  v = ae.encoder.init(jax.random.key(0), x)
  assert ae.encoder.apply(v, x).shape == (3, 16)
  assert v["params"]["Conv_0"]["kernel"].shape == (4, 4, 1, 8)


def test_bad_architecture_arguments():
  with pytest.raises(ValueError, match="unknown architecture"):
    make_autoencoder("dcgan", 8)
  with pytest.raises(ValueError, match="latent_dim"):
    make_autoencoder("mnist_conv", 0)
  with pytest.raises(ValueError, match="outputs"):
    make_autoencoder("mnist_conv", 8, outputs=3)


@pytest.mark.parametrize("fast,ref", [
    (UpConv4x4(4), nn.ConvTranspose(4, (4, 4), strides=(2, 2), padding="SAME")),
    (DownConv4x4(4), nn.Conv(4, (4, 4), strides=(2, 2), padding="SAME")),
    (ConvTranspose4x4(4), nn.ConvTranspose(4, (4, 4), padding="SAME")),
    (ConvTranspose4x4(1), nn.ConvTranspose(1, (4, 4), padding="SAME")),  # a decoder's last layer
])
@pytest.mark.slow
def test_matrix_product_convs_equal_flax(fast, ref):
  x = jax.random.normal(jax.random.key(1), (3, 5, 6, 7))  # odd and even sizes: asymmetric SAME padding
  variables = ref.init(jax.random.key(0), x)
  variables = jax.tree.map(lambda a: jax.random.normal(jax.random.key(2), a.shape), variables)
  assert jax.tree.map(jnp.shape, fast.init(jax.random.key(0), x)) == jax.tree.map(jnp.shape, variables)
  np.testing.assert_allclose(fast.apply(variables, x), ref.apply(variables, x), atol=1e-5)
  g_ref = jax.grad(lambda v: jnp.sum(ref.apply(v, x) ** 2))(variables)
  fast_loss = lambda v: jnp.sum(fast.apply(v, x) ** 2)
  g_fast = jax.grad(fast_loss)(variables)
  for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
  # Only splits, slices, pads, reshapes and products: a gather (a scatter-add in the gradient) would be a
  # kernel of its own for XLA's CPU backend to compile, in every train step that holds the layer.
  program = str(jax.make_jaxpr(jax.grad(fast_loss))(variables))
  assert "gather" not in program and "scatter" not in program


def test_conv_impl_names():
  assert conv_impl("auto") == ("matrix" if jax.default_backend() == "cpu" else "xla")
  assert conv_impl("xla") == "xla" and conv_impl("matrix") == "matrix"
  with pytest.raises(ValueError, match="conv must be one of"):
    make_autoencoder("mnist_conv", 8, conv="cudnn")


@pytest.mark.slow
@pytest.mark.parametrize("name,shape", [("mnist_conv", (28, 28, 1)), ("celeba_b", (64, 64, 3))])
def test_conv_implementations_share_parameters_and_outputs(name, shape):
  # celeba_b covers the decoder's 1x1 -> 4x4 VALID start and its stride-2 output layer.
  matrix = make_autoencoder(name, 4, width=1 / 32, conv="matrix")
  xla = make_autoencoder(name, 4, width=1 / 32, conv="xla")
  x = jax.random.uniform(jax.random.key(0), (3, *shape))
  z = jax.random.normal(jax.random.key(1), (3, 4))
  for part, inputs in (("encoder", x), ("decoder", z)):
    variables = init_variables(getattr(matrix, part), jax.random.key(2), inputs)
    assert jax.tree.map(jnp.shape, init_variables(getattr(xla, part), jax.random.key(2), inputs)) == \
        jax.tree.map(jnp.shape, variables)
    np.testing.assert_allclose(getattr(xla, part).apply(variables, inputs),
                               getattr(matrix, part).apply(variables, inputs), rtol=1e-4, atol=1e-4)


def test_mlp_paper_widths():
  # OTgen's toy map: 4 x 512 LeakyReLU layers and a 2-unit output.
  m = MLP((512,) * 4, 2, "leaky_relu")
  v = m.init(jax.random.key(0), jnp.zeros((1, 2)))
  assert _count(v) == dense(2, 512) + 3 * dense(512, 512) + dense(512, 2)


@pytest.mark.parametrize("shape", [(3, 5), (4, 4, 3, 6), (4, 4, 1, 2), (7, 1)])
def test_flat_kernel_draw_is_flax_lecun_normal_bitwise(shape):
  ours = _lecun_normal(jax.random.key(3), shape)
  ref = nn.initializers.lecun_normal()(jax.random.key(3), shape)
  assert ours.shape == ref.shape and ours.dtype == ref.dtype
  np.testing.assert_array_equal(ours, ref)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["mnist_conv", "celeba_a", "celeba_b", "mnist_mlp"])
def test_init_variables_equals_flax_eager_init(arch):
  """The jitted init gives flax's eager init, bitwise."""
  ae = make_autoencoder(arch, 8, width=1 / 16)
  x = jnp.zeros((2, *ae.image_shape))
  for module, inputs in ((ae.encoder, x), (ae.decoder, jnp.zeros((2, 8)))):
    eager = module.init(jax.random.key(0), inputs, train=False)
    jitted = init_variables(module, jax.random.key(0), inputs, train=False)
    assert jax.tree.structure(eager) == jax.tree.structure(jitted)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
      np.testing.assert_array_equal(a, b)
