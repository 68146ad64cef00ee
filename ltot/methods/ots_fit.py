"""OTS/FIT (Chen, Telgarsky et al., "A gradual, semi-discrete approach to generative network
training via explicit Wasserstein minimization"), Algorithms 1-3, in the generic loop.

A round of Algorithm 3 is an OTS phase, then a FIT phase, and each loop step is one iteration of
one of them. The current phase is part of the state, so checkpoints, bitwise resume and SIGTERM
work as for every method.

- **OTS** (Algorithm 1): one ascent step on the dual psi [N] of eq. 2.3 over the whole dataset.
  The step draws B samples x = g_old(z) of the generator frozen at the round's start. Plain SGD
  is the paper's update; Adam is also offered.
  The phase ends after ``ots_steps`` steps, or earlier once the assignment histogram is within
  total variation ``ots_tol`` of uniform. That histogram is an exponential moving average of the
  fraction of each batch that T sends to each y_i. Half the l1 norm of eq. 2.3's gradient is this
  distance, and it is zero exactly at the optimum, where every y_i receives 1/N of the mass; the
  authors' code watches the same histogram.
- **FIT** (Algorithm 2): ``fit_steps`` gradient steps on mean_j c(g(z_j), T(g_old(z_j))) for fresh
  z. T(x) = y[argmin_i c(x, y_i) - psi_i] is the map of Prop. 2.5.
  Then a new round starts from the fitted generator and the current psi (warm start).
- **Non-alternating ablation** (``alternate=False``, the paper's Figure 4): one OTS phase, then
  FIT until the end of training.
- **Sec. 4.3's subsampling** (``subsample``): for the first rounds, OTS and FIT use only a random
  fraction of the dataset. The fractions should grow, ending at all of it.
- **The authors' code** (the "ots_fit_authors" presets of experiments/configs/ots_fit.py): Adam on
  psi, their histogram stopping rule (``stop_window``: the last W steps' assignments in bins of
  the dataset, ``ltot.ot.window_balanced``), FIT on the stored (z, T(g_old(z))) pairs of the OTS
  phase (``fit_pairs="stored"``), their 3 x 512 MLP with a tanh output. One OTS step,
  ``ltot.ot.ots_update``, serves this module and ``ltot.ot.ots``.

Remaining differences from the authors' code, as far as the issue's review of it reports: pixels
are in [0, 1] (theirs [-1, 1]; their psi rate 0.1 is ltot's 0.05, and the (tanh + 1) / 2 output
is their tanh rescaled, so the steps are the same in their units); stored-pair FIT draws whole
stored OTS batches of the window (the last ``stop_window`` steps), not single pairs from the whole
phase; the generator's hidden activation is ReLU (not given); the subsample rounds of Sec. 4.3 run
before the histogram rule applies to the whole dataset.

Data parallelism: the dataset lives on the devices, strided (``resident_data``). Every device
draws the same B samples from the shared key. ``ltot.ot.c_transform`` takes the min over each
device's rows in chunks, then an all_gather picks the global minimiser. So psi and its optimiser
state stay replicated, and FIT's gradient is the device mean over each device's share of the
batch. N devices give the 1-device step.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from ltot import discrepancy
from ltot._distances import safe_sqrt
from ltot.data.pipeline import check_arrays, to_unit_float
from ltot.methods.latent import NOISES, draw_noise
from ltot.nn import MLP, LineStart, MLPDecoder, init_variables, make_autoencoder, model_options
from ltot.ot import COSTS, c_transform, ots_update, window_balanced, window_init, window_push
from ltot.train.method import Method
from ltot.train.parallel import AXIS, local_rows
from ltot.train.state import TrainState, apply_loss

__all__ = ["OTSFITState", "OTSFIT", "fit_cost", "from_config"]


def fit_cost(a: jnp.ndarray, b: jnp.ndarray, cost: str) -> jnp.ndarray:
  """c(a_j, b_j) [B] row by row for a, b [B, D]: the cost of ``ltot.ot.pairwise_cost`` on matched pairs."""
  diff = a - b
  if cost == "l1":
    return jnp.sum(jnp.abs(diff), -1)
  sq = jnp.sum(diff ** 2, -1)
  return sq if cost == "sqeuclidean" else safe_sqrt(sq)


class OTSFITState(struct.PyTreeNode):
  """gen: the generator being fitted; old_params: g_old, the generator frozen at the round's start;
  psi [N], psi_opt: the dual and its optimiser state; hist [N]: the moving average of the assignment
  fractions in this OTS phase; in_ots: the phase; phase_step: steps done in it; round: Algorithm 3's i;
  window: the last OTS steps' assignments (``ltot.ot.AssignmentWindow``; None without a window)."""

  gen: TrainState
  old_params: Any
  psi: jnp.ndarray
  psi_opt: Any
  hist: jnp.ndarray
  in_ots: jnp.ndarray
  phase_step: jnp.ndarray
  round: jnp.ndarray
  window: Any = None


@dataclasses.dataclass(frozen=True)
class OTSFIT(Method):
  """OTS/FIT; implements ``ltot.train.Method`` with ``resident_data``.

  Attributes:
    net: the generator, noise [B, k] -> points [B, d] or image logits [B, H, W, C].
    tx: FIT's optimiser.
    psi_tx: OTS's optimiser, applied to the negated gradient of eq. 2.3 times N, i.e. to
      N x (the batch's fraction sent to y_i) - 1, so a rate means the same for any dataset size
      (``optax.sgd(eta)`` is the paper's update with its rate eta / N).
    noise_dim: k; the noise is N(0, I) (``noise="gaussian"``) or unif(-1, 1)^k (``"uniform"``).
    batch_size: B, generated samples per step, over all devices.
    cost: c, one of ``ltot.ot.COSTS``, on flattened points or [0, 1] pixels.
    ots_steps: the most OTS steps of a phase. fit_steps: FIT steps of a round.
    ots_tol: stop OTS early once the assignment histogram is this close to uniform (total variation); 0: never.
    hist_decay: the moving average's decay (its window is about 1 / (1 - decay) steps).
    alternate: Algorithm 3 (True) or the non-alternating ablation (False).
    subsample: (rounds, fraction) stages run first, on a random fraction of the dataset.
    images: the net outputs image logits rather than points; ``output`` makes them [0, 1] pixels:
      "sigmoid", or "tanh" ((tanh + 1) / 2: the authors' tanh on [-1, 1] pixels, rescaled).
    chunk: dataset rows per block of the c-transform (None: about 2^20 costs per block).
    stop_window, stop_bins, stop_range: the authors' stopping rule of OTS (0: off): a window of the
      last ``stop_window`` steps' assignments, counted in ``stop_bins`` bins of consecutive dataset
      rows; OTS stops (before ``ots_steps``) once the window is full and every bin holds between
      ``stop_range[0]`` and ``stop_range[1]`` times its expected count (``ltot.ot.window_balanced``;
      the authors' MNIST constants 4,000, 1,000 and [200, 320] of 256 are (0.78125, 1.25)).
    fit_pairs: "fresh" (each FIT step draws new noise z and maps g_old(z) by the current psi) or
      "stored" (the authors': each FIT step regresses on one stored OTS step of the window, its
      noise z and the targets its c-transform chose then; needs ``stop_window``).
  """

  net: nn.Module
  tx: optax.GradientTransformation
  psi_tx: optax.GradientTransformation
  noise_dim: int
  batch_size: int
  cost: str = "l1"
  ots_steps: int = 1000
  fit_steps: int = 1000
  ots_tol: float = 0.0
  hist_decay: float = 0.99
  alternate: bool = True
  subsample: tuple[tuple[int, float], ...] = ()
  noise: str = "gaussian"
  images: bool = False
  output: str = "sigmoid"
  chunk: int | None = None
  eval_projections: int = 200
  stop_window: int = 0
  stop_bins: int = 1000
  stop_range: tuple[float, float] = (0.78125, 1.25)
  fit_pairs: str = "fresh"

  resident_data = True

  def __post_init__(self):
    if self.cost not in COSTS:
      raise ValueError(f"cost must be one of {COSTS}, got {self.cost!r}")
    if self.noise not in NOISES:
      raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
    if min(self.noise_dim, self.batch_size, self.ots_steps, self.fit_steps) < 1:
      raise ValueError(f"noise_dim, batch_size, ots_steps and fit_steps must be >= 1, got {self.noise_dim}, "
                       f"{self.batch_size}, {self.ots_steps}, {self.fit_steps}")
    if self.ots_tol < 0 or not 0 <= self.hist_decay < 1:
      raise ValueError(f"need ots_tol >= 0 and 0 <= hist_decay < 1, got {self.ots_tol} and {self.hist_decay}")
    if any(r < 1 or not 0 < f <= 1 for r, f in self.subsample):
      raise ValueError(f"subsample stages must be (rounds >= 1, 0 < fraction <= 1), got {self.subsample}")
    if self.output not in ("sigmoid", "tanh"):
      raise ValueError(f"output must be 'sigmoid' or 'tanh', got {self.output!r}")
    if self.fit_pairs not in ("fresh", "stored"):
      raise ValueError(f"fit_pairs must be 'fresh' or 'stored', got {self.fit_pairs!r}")
    if self.stop_window < 0 or (self.fit_pairs == "stored" and self.stop_window < 1):
      raise ValueError(f"stop_window must be >= 0, and >= 1 for fit_pairs='stored'; got {self.stop_window}")
    low, high = self.stop_range
    if self.stop_window and not (self.stop_bins >= 1 and 0 <= low <= high):
      raise ValueError(f"need stop_bins >= 1 and 0 <= stop_range[0] <= stop_range[1], got {self.stop_bins}, "
                       f"{self.stop_range}")

  @property
  def data_shapes(self) -> tuple[tuple[int, ...], ...]:
    """The generator's output shape: [H, W, C] images or [d] points."""
    z = jnp.zeros((1, self.noise_dim))
    variables = jax.eval_shape(self.net.init, jax.random.key(0), z)
    return (tuple(jax.eval_shape(self.net.apply, variables, z).shape[1:]),)

  # -- generator ----------------------------------------------------------------
  def sample_noise(self, rng: jax.Array, num: int) -> jnp.ndarray:
    """[num, noise_dim] noise draws."""
    return draw_noise(self.noise, rng, num, self.noise_dim)

  def generate(self, state: OTSFITState, params: Any, z: jnp.ndarray) -> jnp.ndarray:
    """Samples [B, ...] of the generator with ``params`` from noise [B, k]: points, or images in [0, 1].
    The generator's non-trainable variables (fixed BatchNorm statistics) come from ``state``."""
    out = self.net.apply({"params": params, **state.gen.batch_stats}, z)
    if not self.images:
      return out
    return jax.nn.sigmoid(out) if self.output == "sigmoid" else 0.5 * (jnp.tanh(out) + 1.0)

  def _generate_flat(self, state, params, z):
    return self.generate(state, params, z).reshape(z.shape[0], -1)

  def _flat(self, batch: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    y = batch["x"]
    return to_unit_float(y).reshape(y.shape[0], -1) if self.images else y

  # -- data and state -------------------------------------------------------------
  def training_data(self, state, rng: jax.Array, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The dataset in one random order, so that a prefix is a random subset (``subsample``); images
    as float32 in [0, 1], converted once rather than at every step."""
    del state
    y = np.asarray(arrays["x"])
    check_arrays(y, "training data", self.data_shapes)
    return {"x": to_unit_float(y[np.asarray(jax.random.permutation(rng, len(y)))])}

  def init(self, rng: jax.Array, batch: Mapping[str, np.ndarray]) -> OTSFITState:
    """The state for the whole dataset ``batch`` (psi has one entry per row)."""
    n = len(batch["x"])
    variables = dict(init_variables(self.net, rng, jnp.zeros((1, self.noise_dim))))
    params = variables.pop("params")
    psi = jnp.zeros((n,), jnp.float32)
    window = None
    if self.stop_window:
      key_shape = jax.random.key_data(jax.random.key(0)).shape
      window = window_init(self.stop_window, self.batch_size, self.stop_bins, key_shape)
    return OTSFITState(gen=TrainState.create(apply_fn=None, params=params, tx=self.tx, batch_stats=variables),
                       old_params=params, psi=psi, psi_opt=self.psi_tx.init(psi), hist=jnp.zeros((n,)),
                       in_ots=jnp.array(True),
                       phase_step=jnp.array(0, jnp.int32), round=jnp.array(0, jnp.int32), window=window)

  def _active_rows(self, n_local: int) -> list[int]:
    """Per subsample stage (then the whole dataset), how many of each device's rows are used: a
    fraction of every device's rows is that fraction of the dataset."""
    return [min(n_local, max(1, math.ceil(f * n_local))) for _, f in self.subsample] + [n_local]

  def _stage(self, round_: jnp.ndarray) -> jnp.ndarray:
    ends = np.cumsum([r for r, _ in self.subsample], dtype=np.int32)
    return jnp.sum(round_ >= jnp.asarray(ends, jnp.int32)) if len(ends) else jnp.array(0, jnp.int32)

  # -- one step ---------------------------------------------------------------------
  def train_step(self, state: OTSFITState, batch: Mapping[str, jnp.ndarray], rng: jax.Array):
    y = self._flat(batch)
    devices = jax.lax.axis_size(AXIS)
    if self.batch_size % devices:
      raise ValueError(f"batch_size={self.batch_size} must divide over the {devices} devices")
    sizes = self._active_rows(y.shape[0])
    branches = [lambda s, r, k=k: self._step(s, y[:k], r) for k in sizes]
    return jax.lax.switch(self._stage(state.round), branches, state, rng)

  def _step(self, state: OTSFITState, y: jnp.ndarray, rng: jax.Array):
    """One OTS or FIT step with the dataset rows y [n, D] of this device (a prefix while subsampling)."""
    devices, k = jax.lax.axis_size(AXIS), jax.lax.axis_index(AXIS)
    num = y.shape[0] * devices  # the active dataset's size; its global rows are 0 .. num - 1
    psi = state.psi[:num]
    z = self.sample_noise(rng, self.batch_size)
    x = self._generate_flat(state, state.old_params, z)
    out = c_transform(x, y, psi.reshape(-1, devices)[:, k], cost=self.cost, chunk=self.chunk, axis_name=AXIS)
    common = {"dual": jnp.mean(out.phi) + jnp.mean(psi), "transport": jnp.mean(out.phi + psi[out.index]),
              "round": state.round.astype(jnp.float32), "ots": state.in_ots.astype(jnp.float32)}

    def ots(state):
      psi, psi_opt, grad = ots_update(state.psi, state.psi_opt, out.index, num, self.psi_tx)
      step = state.phase_step + 1
      # The bias-corrected moving average of the fractions of each batch sent to each y_i.
      hist = state.hist.at[:num].set(self.hist_decay * state.hist[:num] + (1 - self.hist_decay) * (1.0 / num - grad))
      tv = 0.5 * jnp.sum(jnp.abs(hist[:num] / (1 - self.hist_decay ** step) - 1.0 / num))
      warm = step >= min(self.ots_steps, math.ceil(1 / (1 - self.hist_decay)))
      done = (step >= self.ots_steps) | ((self.ots_tol > 0) & warm & (tv < self.ots_tol))
      window, extra = state.window, {}
      if self.stop_window:
        window = window_push(window, out.index, jax.random.key_data(rng), num)
        balanced = window_balanced(window, num, *self.stop_range)
        done = done | balanced
        extra = {"window_min": jnp.min(window.counts).astype(jnp.float32),
                 "window_max": jnp.max(window.counts).astype(jnp.float32)}
      new = state.replace(psi=psi, psi_opt=psi_opt, hist=hist, window=window,
                          in_ots=~done, phase_step=jnp.where(done, 0, step))
      return new, {**common, **extra, "assign_tv": tv, "fit_loss": common["transport"]}

    def fit(state):
      per = self.batch_size // devices
      if self.fit_pairs == "stored":  # one stored OTS step: its noise, and the targets chosen for it then
        slot = jax.random.randint(jax.random.fold_in(rng, 1), (), 0, jnp.maximum(state.window.filled, 1))
        z_fit = self.sample_noise(jax.random.wrap_key_data(state.window.keys[slot]), self.batch_size)
        target_fit = _rows_of(y, state.window.index[slot], devices, k)
      else:
        z_fit, target_fit = z, out.target
      z_local, target = local_rows(z_fit, per), local_rows(target_fit, per)

      def loss_fn(params, stats):
        return jnp.mean(fit_cost(self._generate_flat(state, params, z_local), target, self.cost)), ({}, stats)

      gen, metrics = apply_loss(state.gen, loss_fn)
      step = state.phase_step + 1
      again = self.alternate & (step >= self.fit_steps)  # a new round: OTS against the fitted generator
      window = state.window
      if self.stop_window:  # a new round's OTS phase starts with an empty window
        empty = window_init(self.stop_window, self.batch_size, self.stop_bins, window.keys.shape[1:])
        window = jax.tree.map(lambda e, w: jnp.where(again, e, w), empty, window)
      new = state.replace(gen=gen, in_ots=again, phase_step=jnp.where(again, 0, step),
                          round=state.round + again.astype(jnp.int32),
                          old_params=jax.tree.map(lambda a, b: jnp.where(again, a, b), gen.params, state.old_params),
                          hist=jnp.where(again, 0.0, state.hist), window=window)
      extra = {"window_min": jnp.zeros(()), "window_max": jnp.zeros(())} if self.stop_window else {}
      return new, {**common, **extra, "assign_tv": jnp.zeros(()), "fit_loss": metrics["loss"]}

    return jax.lax.cond(state.in_ots, ots, fit, state)


  # -- Method protocol ------------------------------------------------------------------
  def sample_with_source(self, state: OTSFITState, rng: jax.Array, num: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(noise [num, k], the generator's images [num, H, W, C] in [0, 1] or points [num, d])."""
    noise = self.sample_noise(rng, num)
    return noise, self.generate(state, state.gen.params, noise)

  def sample(self, state: OTSFITState, rng: jax.Array, num: int) -> jnp.ndarray:
    """Images [num, H, W, C] in [0, 1], or points [num, d]."""
    return self.sample_with_source(state, rng, num)[1]

  def evaluate(self, state: OTSFITState, batch: Mapping[str, jnp.ndarray], rng: jax.Array) -> dict[str, jnp.ndarray]:
    """sw2: sliced W2^2 between as many samples as the batch holds and the batch (flattened)."""
    y = self._flat(batch)
    gen_rng, sw_rng = jax.random.split(rng)
    x = self._generate_flat(state, state.gen.params, self.sample_noise(gen_rng, y.shape[0]))
    return {"sw2": discrepancy.sliced_wasserstein(x, y, rng=sw_rng, num_projections=self.eval_projections)}


def _rows_of(y: jnp.ndarray, index: jnp.ndarray, devices, k) -> jnp.ndarray:
  """The dataset rows [B, D] with global indices ``index`` [B] on every device, from each device's
  strided share y [n, D] (global row g is local row g // K of device g % K): each device fills the
  rows it holds, and a sum over devices assembles them."""
  mine = (index % devices) == k
  rows = jnp.where(mine[:, None], y[jnp.where(mine, index // devices, 0)], 0.0)
  return jax.lax.psum(rows, AXIS)


def from_config(config, steps_per_epoch: int) -> OTSFIT:
  """OTSFIT from a run config's ``ots_fit`` section (experiments/configs/ots_fit.py).

  ``ots_fit.generator``: "mlp" (points: an MLP of widths ``hidden``), "line" (``LineStart``),
  "mlp_images" (an MLP of widths ``hidden`` to images of ``image_shape``: the authors' generator with
  hidden (512, 512, 512), 100-d noise and output "tanh"), or an image architecture of
  ``ltot.nn.ARCHITECTURES`` whose decoder is the generator ("mnist_mlp": ltot's MLP generator;
  "mnist_conv": the DCGAN one, its BatchNorm layers in inference mode, i.e. learned affine maps, so
  that g_old(z) is a deterministic function of z).
  """
  del steps_per_epoch
  s = config.ots_fit
  points = s.generator in ("mlp", "line")
  if s.generator == "mlp":
    net = MLP(tuple(s.hidden), s.out_dim, s.activation)
  elif s.generator == "line":
    net = LineStart(tuple(s.hidden), s.out_dim, activation=s.activation)
  elif s.generator == "mlp_images":
    net = MLPDecoder(tuple(s.hidden), tuple(s.image_shape), s.activation)
  else:
    decoder = make_autoencoder(s.generator, s.noise_dim, width=config.model.width,
                               **model_options(config.model)).decoder
    net = _InferenceDecoder(decoder)
  if s.psi_optimizer not in ("sgd", "adam"):
    raise ValueError(f"ots_fit.psi_optimizer must be 'sgd' or 'adam', got {s.psi_optimizer!r}")
  psi_tx = optax.sgd(s.psi_lr) if s.psi_optimizer == "sgd" else optax.adam(s.psi_lr)
  return OTSFIT(net=net, tx=optax.adam(s.lr, s.b1, s.b2), psi_tx=psi_tx, noise_dim=s.noise_dim,
                batch_size=config.batch_size, cost=s.cost, ots_steps=s.ots_steps, fit_steps=s.fit_steps,
                ots_tol=s.ots_tol, alternate=s.alternate, subsample=tuple(tuple(t) for t in s.subsample),
                noise=s.noise, images=not points, output=s.output, chunk=s.chunk or None, stop_window=s.stop_window,
                stop_bins=s.stop_bins, stop_range=tuple(s.stop_range), fit_pairs=s.fit_pairs)


class _InferenceDecoder(nn.Module):
  """An autoencoder's decoder as a generator: noise -> logits, BatchNorm from its (fixed) statistics."""

  decoder: nn.Module

  @nn.compact
  def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
    return self.decoder(z, train=False)
