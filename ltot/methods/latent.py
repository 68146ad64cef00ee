"""The base of the two-stage latent generators (OTtrans, OTgen, AE-OT): one network that maps a
simple noise to the codes of a frozen autoencoder, or directly to 2-D data.

Not a method itself: ``ltot.methods.ot_gen`` and ``ltot.methods.ae_ot`` subclass ``LatentMap``
with their losses, ``train_step`` and ``generate``.

The first stage. A latent map is built (``from_config``, pure) with the autoencoder's method, from
the first stage's run config recorded in the run's own (``ltot.methods.prepare_config`` copies it
from the first stage's run directory; ``ltot train`` does). Its trained parameters are leaves of
the map's state (``LatentState.autoencoder``): ``init`` makes placeholders of their shapes (NaN),
and ``prepare``, which the training loop calls once for a new run, loads them from the first
stage's newest checkpoint. They are checkpointed with the map, so a run directory alone defines
its model: ``ltot eval`` and ``ltot sample`` never read the first stage's directory.

Data: a batch holds the targets as ``{"x": [n, d]}``. Given images instead (``ltot train`` on an
image dataset), ``training_data`` encodes them once with the frozen autoencoder, so training
never runs the encoder again; samples are decoded with it. Without an autoencoder the targets
are the data points themselves (the papers' 2-D toys) and samples are points.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from ltot import discrepancy
from ltot._checks import check_points
from ltot.data.datasets import is_image_dataset
from ltot.data.pipeline import to_unit_float
from ltot.methods.autoencoder import AutoencoderMethod
from ltot.nn import init_variables
from ltot.ot import SOLVERS
from ltot.train.checkpoint import read_run_config, restore_run
from ltot.train.method import Method
from ltot.train.parallel import device_share
from ltot.train.state import TrainState

__all__ = ["NOISES", "draw_noise", "FrozenAutoencoder", "LatentState", "LatentMap", "load_autoencoder", "first_stage"]

NOISES = ("uniform", "gaussian")


def draw_noise(kind: str, rng: jax.Array, num: int, dim: int) -> jnp.ndarray:
  """[num, dim] draws of a generator's noise: "uniform" on [-1, 1]^dim or "gaussian" N(0, I)."""
  if kind not in NOISES:
    raise ValueError(f"noise must be one of {NOISES}, got {kind!r}")
  if kind == "uniform":
    return jax.random.uniform(rng, (num, dim), minval=-1.0, maxval=1.0)
  return jax.random.normal(rng, (num, dim))


class FrozenParams(struct.PyTreeNode):
  """A trained autoencoder's parameters and BatchNorm statistics (what its ``encode`` and ``decode`` read)."""

  params: Any
  batch_stats: Any


def _encode_in_chunks(method: AutoencoderMethod, frozen: Any, images: np.ndarray, chunk: int = 1000) -> np.ndarray:
  """Codes float32 [N, d] of images [N, H, W, C] through ``method``'s encoder (eval mode), in chunks."""
  encode = jax.jit(method.encode)
  return np.concatenate([np.asarray(encode(frozen, images[i:i + chunk]))
                         for i in range(0, len(images), chunk)]).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class FrozenAutoencoder:
  """A trained ltot autoencoder whose parameters stay fixed (``load_autoencoder``).

  Attributes:
    method: its method (an ``ltot.methods.autoencoder.AutoencoderMethod``: ``encode``, ``decode``).
    state: its trained state.
  """

  method: Any
  state: Any

  @property
  def latent_dim(self) -> int:
    return self.method.latent_dim

  def encode(self, images: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Codes float32 [N, d] of images [N, H, W, C], in chunks (eval-mode nets)."""
    return _encode_in_chunks(self.method, self.state, images, chunk)

  def decode(self, z: jnp.ndarray) -> jnp.ndarray:
    return self.method.decode(self.state, z)

  def reconstruct(self, images: jnp.ndarray) -> jnp.ndarray:
    return self.method.reconstruct(self.state, images)


def load_autoencoder(workdir: str, method: AutoencoderMethod | None = None) -> FrozenAutoencoder:
  """The autoencoder of an ``ltot train`` run directory (VAE, WAE or TWAE), at its newest checkpoint.

  ``method``: the autoencoder's method, if already built (its architecture must be the run's);
  by default built from the run's config.

  Raises:
    FileNotFoundError: not a run directory, or no checkpoint.
    ValueError: the run's method is not an autoencoder.
  """
  config = read_run_config(workdir)
  if method is None:
    from ltot import methods  # the registry imports this module: look it up at call time
    method = methods.build(config, steps_per_epoch=1)
  if not isinstance(method, AutoencoderMethod):
    raise ValueError(f"{workdir} is a {config.method!r} run, not an autoencoder (vae, wae, twae)")
  _, state = restore_run(workdir, jax.eval_shape(method.init, jax.random.key(0), _example(method)))
  return FrozenAutoencoder(method, state)


def _example(method: AutoencoderMethod) -> dict[str, np.ndarray]:
  """An example batch of two blank images of ``method``'s shape (init's argument, for shapes)."""
  return {"x": np.zeros((2, *method.autoencoder.image_shape), np.float32)}


def first_stage(config, name: str, autoencoder: AutoencoderMethod | None) -> tuple[str, int]:
  """(first stage's run directory, code dimension) of the run config's section ``name``, given its
  autoencoder's method (built by ``ltot.methods.build`` from the recorded ``first_stage`` config):
  the autoencoder's latent dimension, or ``config[name].code_dim`` for points. Reads nothing.

  Raises:
    ValueError: no autoencoder is given, but the dataset holds images (they need one to be encoded).
  """
  section = config[name]
  if autoencoder is not None:
    return section.get("autoencoder", ""), autoencoder.latent_dim
  if is_image_dataset(config.dataset):
    raise ValueError(f"{name}.autoencoder is empty, but dataset {config.dataset!r} holds images: train an "
                     f"autoencoder first (e.g. experiments/configs/autoencoder_mnist.py:ae-mnist) and pass its "
                     f"run directory as --config.{name}.autoencoder=RUN_DIR")
  return "", section.code_dim


class LatentState(TrainState):
  """TrainState plus the frozen first stage (``FrozenParams``; None for points): not trained."""

  autoencoder: Any = None


@dataclasses.dataclass(frozen=True)
class LatentMap(Method):
  """A network from noise to codes (or 2-D points), with what every latent generator shares.

  Attributes:
    net: the Flax module trained (the generator f_w, or AE-OT's potential D).
    tx: its optimiser.
    noise_dim: k, the dimension of the noise.
    code_dim: d, the dimension of the targets (the autoencoder's latent, or 2).
    noise: "uniform" on [-1, 1]^k (the OTgen/OTtrans papers) or "gaussian" N(0, I) (AE-OT).
    autoencoder: the frozen first stage's method (its parameters are in the state), or None (points).
    autoencoder_dir: the first stage's run directory, which ``prepare`` reads.
    eval_projections: directions of the sliced W2 that ``evaluate`` reports.
    solver: the exact transport solver of the matchings (``ltot.ot.SOLVERS``: "auto", "auction" on the
      device, "host": SciPy through a host callback; see ``ltot.ot.transport``).
  """

  net: nn.Module
  tx: optax.GradientTransformation
  noise_dim: int
  code_dim: int
  noise: str = "uniform"
  autoencoder: AutoencoderMethod | None = None
  autoencoder_dir: str = ""
  eval_projections: int = 200
  solver: str = "auto"

  def __post_init__(self):
    if self.solver not in SOLVERS:
      raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
    if self.noise not in NOISES:
      raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
    if self.noise_dim < 1 or self.code_dim < 1:
      raise ValueError(f"noise_dim and code_dim must be positive, got {self.noise_dim} and {self.code_dim}")
    if self.autoencoder is not None and self.autoencoder.latent_dim != self.code_dim:
      raise ValueError(f"code_dim={self.code_dim} but the autoencoder's latent dimension is "
                       f"{self.autoencoder.latent_dim}")

  @property
  def data_shapes(self) -> tuple[tuple[int, ...], ...]:
    """Codes or points [code_dim], or the frozen autoencoder's images."""
    shapes = ((self.code_dim,),)
    return shapes if self.autoencoder is None else shapes + (tuple(self.autoencoder.autoencoder.image_shape),)

  @property
  def reconstructs(self) -> bool:
    """With a frozen autoencoder: its reconstructions."""
    return self.autoencoder is not None

  # -- pieces -----------------------------------------------------------------
  def sample_noise(self, rng: jax.Array, num: int) -> jnp.ndarray:
    """[num, noise_dim] noise draws."""
    return draw_noise(self.noise, rng, num, self.noise_dim)

  def device_noise(self, rng: jax.Array, n: int) -> jnp.ndarray:
    """This device's n rows of the whole batch's noise, drawn from the shared step key (under the pmap axis)."""
    return device_share(self.sample_noise, rng, n)

  def generate(self, params: Any, noise: jnp.ndarray) -> jnp.ndarray:
    """Codes [n, d] generated from noise [n, k] (the generator's output; AE-OT: z + grad D(z))."""
    return self.net.apply(params, noise)

  def decoded(self, state: LatentState, codes: jnp.ndarray) -> jnp.ndarray:
    """Images of codes [n, d] through the frozen decoder; the codes themselves (points) without one."""
    return codes if self.autoencoder is None else self.autoencoder.decode(state.autoencoder, codes)

  def _images(self, x) -> bool:
    """Whether data x are images [n, H, W, C] (encoded by the autoencoder) rather than codes [n, d]."""
    if jnp.ndim(x) == 2:
      return False
    if self.autoencoder is None:
      raise ValueError(f"data of shape {jnp.shape(x)} are not points [n, {self.code_dim}], and there is no "
                       "autoencoder to encode images with")
    return True

  def targets(self, state: LatentState, batch: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    """The batch's target codes [n, d]: ``batch["x"]`` itself (codes or points), or its images encoded."""
    x = batch["x"]
    return self.autoencoder.encode(state.autoencoder, x) if self._images(x) else x

  def training_data(self, state: LatentState, rng: jax.Array,
                    arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The dataset the steps consume: ``{"x": codes [N, d]}`` (images encoded once, or the points)."""
    del rng
    x = arrays["x"]
    x = _encode_in_chunks(self.autoencoder, state.autoencoder, x) if self._images(x) else np.asarray(x, np.float32)
    check_points("training targets x", x)
    if x.shape[1] != self.code_dim:
      raise ValueError(f"training targets x have dimension {x.shape[1]}, expected code_dim={self.code_dim}")
    return {"x": x}

  # -- Method protocol (shared parts) -----------------------------------------
  def init(self, rng: jax.Array, batch: Mapping[str, jnp.ndarray]) -> LatentState:
    """The net's initial state; with a first stage, NaN placeholders of its parameters' shapes,
    which ``prepare`` replaces by the trained ones (``ltot.train.train`` calls it)."""
    del batch  # the net's shapes come from the dimensions alone
    params = init_variables(self.net, rng, jnp.zeros((1, self.noise_dim)))
    first = None
    if self.autoencoder is not None:
      shapes = jax.eval_shape(self.autoencoder.init, rng, _example(self.autoencoder))
      first = jax.tree.map(lambda a: jnp.full(a.shape, jnp.nan, a.dtype),
                           FrozenParams(params=shapes.params, batch_stats=shapes.batch_stats))
    return LatentState.create(apply_fn=None, params=params, tx=self.tx, autoencoder=first)

  def prepare(self, state: LatentState) -> LatentState:
    """The state with the first stage's trained parameters, read from ``autoencoder_dir``'s newest
    checkpoint (a checkpoint of another architecture is refused by the restore)."""
    if self.autoencoder is None:
      return state
    if not self.autoencoder_dir:
      raise ValueError("this latent map has a first stage but no run directory to load it from (autoencoder_dir)")
    frozen = load_autoencoder(self.autoencoder_dir, self.autoencoder).state
    return state.replace(autoencoder=FrozenParams(params=frozen.params, batch_stats=frozen.batch_stats))

  def sample_codes(self, state: LatentState, rng: jax.Array, num: int) -> jnp.ndarray:
    """[num, d] generated codes (or points)."""
    return self.generate(state.params, self.sample_noise(rng, num))

  def sample_with_source(self, state: LatentState, rng: jax.Array, num: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(noise [num, k], its samples: decoded codes, or the generated points without an autoencoder)."""
    noise = self.sample_noise(rng, num)
    return noise, self.decoded(state, self.generate(state.params, noise))

  def sample(self, state: LatentState, rng: jax.Array, num: int) -> jnp.ndarray:
    """Images [num, H, W, C] in [0, 1] through the frozen decoder; points [num, d] without one."""
    return self.sample_with_source(state, rng, num)[1]

  def noise_paths(self, state: LatentState, rng: jax.Array, num_paths: int, steps: int) -> jnp.ndarray:
    """Samples along straight noise paths: [num_paths * steps, ...], row i from noise a_i to b_i.

    The latent-generator counterpart of an autoencoder's code interpolations (the generated
    codes are decoded when there is an autoencoder).
    """
    a, b = jnp.split(self.sample_noise(rng, 2 * num_paths), 2)
    t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
    noise = ((1 - t) * a[:, None] + t * b[:, None]).reshape(-1, self.noise_dim)
    return self.decoded(state, self.generate(state.params, noise))

  def interpolations(self, state: LatentState, images, rng: jax.Array) -> jnp.ndarray:
    """8 noise paths of 10 steps (``noise_paths``)."""
    del images
    return jax.jit(self.noise_paths, static_argnums=(2, 3))(state, rng, 8, 10)

  def reconstruct(self, state: LatentState, images: jnp.ndarray) -> jnp.ndarray:
    if self.autoencoder is None:
      raise ValueError("reconstruct needs an autoencoder; this generator maps noise to points")
    return self.autoencoder.reconstruct(state.autoencoder, images)

  def evaluate(self, state: LatentState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, jnp.ndarray]:
    """latent_sw: sliced W2^2 between as many generated codes as the batch has and its target codes;
    with images, also the frozen autoencoder's reconstruction errors."""
    target = self.targets(state, batch)
    gen_rng, sw_rng = jax.random.split(rng)
    generated = self.sample_codes(state, gen_rng, target.shape[0])
    metrics = {"latent_sw": discrepancy.sliced_wasserstein(generated, target, rng=sw_rng,
                                                            num_projections=self.eval_projections)}
    if self._images(batch["x"]):
      images = to_unit_float(batch["x"])
      metrics.update(self.autoencoder.reconstruction_metrics(state.autoencoder, images))
    return metrics
