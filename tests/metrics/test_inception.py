"""Structural checks of the FID InceptionV3 port with random weights.

The checks that need the real weights (features equal to pytorch-fid's on the same
images) cannot run here: no InceptionV3 weights can be downloaded on these machines
(ENVIRONMENT.md). They run where LTOT_INCEPTION_WEIGHTS names the standard file.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ltot.metrics import inception


@pytest.fixture(scope="module")
def random_variables():
  return jax.jit(inception.InceptionV3().init)(jax.random.PRNGKey(0), jnp.zeros((1, 299, 299, 3)))


@pytest.fixture(scope="module")
def zero_variables():
  """Zeros in InceptionV3's variable names and shapes, traced by ``eval_shape`` (the 299x299 init is
  not compiled): enough for the loader's name and shape checks."""
  shapes = jax.eval_shape(inception.InceptionV3().init, jax.random.PRNGKey(0), jnp.zeros((1, 299, 299, 3)))
  return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)


def to_state_dict(variables):
  """The inverse of the loader's name mapping: flax variables -> pytorch-fid style names and layouts."""
  out = {}
  for collection, names in (("params", {"scale": "weight", "bias": "bias"}),
                            ("batch_stats", {"mean": "running_mean", "var": "running_var"})):
    for path, leaf in jax.tree_util.tree_leaves_with_path(variables[collection]):
      keys = [k.key for k in path]
      prefix, leaf = ".".join(keys[:-1]), np.asarray(leaf)
      if keys[-1] == "kernel":
        out[f"{prefix}.weight"] = leaf.transpose(3, 2, 0, 1) if leaf.ndim == 4 else leaf.T
      else:
        out[f"{prefix}.{names[keys[-1]]}"] = leaf
  return out


@pytest.mark.slow
def test_shapes_and_parameter_count(random_variables):
  net = inception.Inception(random_variables)
  images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
  feats, logits = net(images, batch_size=2)
  assert feats.shape == (3, 2048) and logits.shape == (3, 1008)
  assert np.all(np.isfinite(feats)) and np.all(feats >= 0)  # average of ReLU outputs
  sd = to_state_dict(random_variables)
  convs = [k for k in sd if k.endswith("conv.weight")]
  assert len(convs) == 94  # the FID Inception graph has 94 conv layers
  # torchvision's inception_v3 has 27,161,264 parameters (its documentation); the FID graph drops
  # AuxLogits (128*768 + 2*128 + 768*128*25 + 2*768 + 768*1000 + 1000 = 3,326,696) and has 1008
  # classes instead of 1000 (+8 * 2048 + 8): 23,850,960.
  params = sum(v.size for k, v in sd.items() if not k.endswith(("running_mean", "running_var")))
  assert params == 27_161_264 - 3_326_696 + 8 * 2048 + 8


@pytest.mark.slow
def test_state_dict_loader_round_trip(random_variables, tmp_path):
  sd = to_state_dict(random_variables)
  np.savez(tmp_path / "w.npz", **sd)
  loaded = inception.load_inception(str(tmp_path / "w.npz"))
  images = np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)
  np.testing.assert_array_equal(loaded(images)[0], inception.Inception(random_variables)(images)[0])


def test_loader_errors(zero_variables, tmp_path):
  sd = to_state_dict(zero_variables)
  missing = dict(sd)
  del missing["Mixed_6b.branch7x7_2.conv.weight"]
  with pytest.raises(ValueError, match="lack 'Mixed_6b.branch7x7_2.conv.weight'"):
    inception.variables_from_state_dict(missing)
  wrong = {**sd, "fc.weight": np.zeros((1000, 2048), np.float32)}
  with pytest.raises(ValueError, match="'fc.weight' has shape"):
    inception.variables_from_state_dict(wrong)
  with pytest.raises(ValueError, match="does not use"):
    inception.variables_from_state_dict({**sd, "AuxLogits.fc.weight": np.zeros(3)})
  with pytest.raises(FileNotFoundError):
    inception.load_inception(str(tmp_path / "nothing.npz"))
  bad = tmp_path / os.path.basename(inception.WEIGHTS_URL)
  bad.write_bytes(b"not the weights")
  with pytest.raises(ValueError, match="SHA-256"):
    inception.load_inception(str(bad))


@pytest.mark.skipif(not os.environ.get("LTOT_INCEPTION_WEIGHTS"),
                    reason="needs the standard pt_inception-2015-12-05-6726825d.pth (set LTOT_INCEPTION_WEIGHTS); "
                           "no InceptionV3 weights can be downloaded on ltot's build machines")
def test_real_weights_classify_and_give_zero_self_fid():
  from ltot.metrics import frechet_distance
  net = inception.load_inception(os.environ["LTOT_INCEPTION_WEIGHTS"])
  rng = np.random.default_rng(0)
  images = rng.random((64, 64, 64, 3)).astype(np.float32)
  feats, logits = net(images)
  assert feats.shape == (64, 2048) and np.all(np.isfinite(logits))
  assert abs(frechet_distance(feats, feats)) < 1e-6


def _torch_fid_inception():
  """torchvision's InceptionV3 turned into the FID graph: no aux head, 1008 classes, and the pooling
  of pytorch-fid's FIDInceptionA/C/E_1 (average without padding counts) and E_2 (max)."""
  import torch
  import torch.nn.functional as F
  from torchvision.models import inception_v3

  net = inception_v3(weights=None, aux_logits=False, init_weights=True).eval()
  net.fc = torch.nn.Linear(2048, 1008)

  def avg(x):
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

  def block_a(self, x):
    b5 = self.branch5x5_2(self.branch5x5_1(x))
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(avg(x))], 1)

  def block_c(self, x):
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    bd = x
    for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                  self.branch7x7dbl_5):
      bd = layer(bd)
    return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(avg(x))], 1)

  def block_e(pool):
    def forward(self, x):
      t = self.branch3x3_1(x)
      b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
      t = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
      bd = torch.cat([self.branch3x3dbl_3a(t), self.branch3x3dbl_3b(t)], 1)
      return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pool(x))], 1)
    return forward

  import types
  for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
    getattr(net, name).forward = types.MethodType(block_a, getattr(net, name))
  for name in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
    getattr(net, name).forward = types.MethodType(block_c, getattr(net, name))
  net.Mixed_7b.forward = types.MethodType(block_e(avg), net.Mixed_7b)
  net.Mixed_7c.forward = types.MethodType(block_e(lambda x: F.max_pool2d(x, 3, 1, 1)), net.Mixed_7c)
  gen = torch.Generator().manual_seed(0)
  with torch.no_grad():  # non-trivial BatchNorm statistics and affine parameters
    for module in net.modules():
      if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=gen))
        module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=gen))
        module.weight.copy_(0.5 + torch.rand(module.num_features, generator=gen))
        module.bias.copy_(0.1 * torch.randn(module.num_features, generator=gen))

  def features(images):
    x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                 "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                 "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
      x = getattr(net, name)(x)
    pooled = x.mean(dim=(2, 3))
    return pooled, net.fc(pooled)
  return net, features


def test_matches_torchvision_fid_graph_with_the_same_random_weights():
  """An independent implementation of the same graph (PyTorch/torchvision, NCHW) with the same weights.

  Runs where torchvision is installed (e.g. the project's GPU machines); skipped on the CPU build machines.
  """
  torch = pytest.importorskip("torch")
  pytest.importorskip("torchvision")
  net, features = _torch_fid_inception()
  state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
  ours = inception.Inception(inception.variables_from_state_dict(state))
  images = np.random.default_rng(0).random((4, 40, 40, 3)).astype(np.float32)
  with torch.no_grad():
    want_f, want_l = (t.numpy() for t in features(torch.from_numpy(images.transpose(0, 3, 1, 2))))
  got_f, got_l = ours(images)
  scale = np.abs(want_f).max()
  np.testing.assert_allclose(got_f, want_f, atol=1e-3 * scale, rtol=1e-3)
  np.testing.assert_allclose(got_l, want_l, atol=1e-3 * np.abs(want_l).max(), rtol=1e-3)
