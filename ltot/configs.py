"""Run configs: the skeleton shared by the files in experiments/configs/ (one per method and dataset),
the sections they compose, the whole configs of the toy protocols (``latent_ot_toy``, ``ots_fit``)
so that an installed ltot has them, and ``toy(family, steps)`` for every family on 2-D points.

``base(preset, method=...)`` returns the training-loop keys, the net and Adam with
the WAE paper's MNIST schedule; a config file adds its method's section and any
paper-specific change. Presets: "cpu" (the same topology at 1/16 width, 2,400 steps,
minutes on 2 cores) and "paper" (full width, batch 100, 100 epochs).
"""

from __future__ import annotations

import importlib.util
import os

import ml_collections

__all__ = ["PRESETS", "load_file", "presets_of", "base", "PENALTY_LAMBDA", "PENALTY_OPTIONS", "MNIST_PER_PIXEL", "twae_section", "celeba_schedule",
           "TWAE_AUTHORS_OPTIM", "TWAE_AUTHORS_BN", "TESSELLATION_SIZES", "TESSELLATION_POINTS",
           "TESSELLATION_CPU_UPDATES", "tessellation_size",
           "method_dataset", "wae_section", "latent_ot_toy", "ots_fit", "TOY_FAMILIES", "toy"]

PRESETS = ("cpu", "paper")

# TWAE Sec. 5.2: lambda 1 for SW (and Max-SW), 0.01 for GW, GSW and DSW; 1000 directions.
PENALTY_LAMBDA = {"sw": 1.0, "max_sw": 1.0, "gw": 0.01, "gsw": 0.01, "dsw": 0.01}
PENALTY_OPTIONS = {"sw": {"num_projections": 1000}, "gsw": {"num_projections": 1000},
                   "dsw": {"num_projections": 1000, "num_iters": 10}, "max_sw": {"num_iters": 10}, "gw": {}}
# recon_weight that turns the per-image squared error of a 28 x 28 image into the per-pixel mean.
# The ball-prior MNIST configs use it: under the per-image sum, lambda 1 (SW) and 0.01 (GW) are too
# weak to pull the latents onto the ball (experiments/results/mnist_wae_twae_per_image_sum.md).
MNIST_PER_PIXEL = 1 / 784
CELEBA_TRAIN = 162_770  # images in CelebA's train split
LATENT_TOY_METHODS = ("otgen", "ottrans", "ae_ot")
LATENT_TOY_DATASETS = ("moons", "circles", "eight_gaussians")
OTS_FIT_METHODS = ("ots_fit", "ots_fit_nonalternating", "ots_fit_authors", "ots_fit_authors_nonalternating")
OTS_FIT_DATASETS = ("ring", "mnist")


def load_file(path: str, preset: str | None = None, overrides: dict | None = None):
  """``get_config(preset)`` of a config file (experiments/configs/*.py), with flattened ``overrides``
  ({"model.width": 0.5}) applied; ``path`` may also be ``FILE:PRESET``. Without a preset, the file's
  default. The one loader of config files in Python (the CLI's ``--config`` flag reads the same files).

  Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'mine.py')
    >>> _ = open(path, 'w').write("from ltot.configs import base\\ndef get_config(preset='cpu'):\\n  return base(preset, method='wae')\\n")
    >>> load_file(f'{path}:paper', overrides={'seed': 3}).model.width, load_file(path).seed
    (1.0, 0)
  """
  if preset is None and ":" in os.path.basename(path):
    path, _, preset = path.rpartition(":")
  module = _config_module(path)
  c = module.get_config() if preset is None else module.get_config(preset)
  c.update_from_flattened_dict(overrides or {})
  return c


def presets_of(path: str) -> tuple[str, ...]:
  """The presets a config file declares (its ``PRESETS``; ``("cpu", "paper")`` if it declares none).

  Example:
    >>> import os
    >>> 'm100-sw' in presets_of(os.path.join('experiments', 'configs', 'twae_mnist.py'))
    True
  """
  return tuple(getattr(_config_module(path), "PRESETS", PRESETS))


def _config_module(path: str):
  """The config file ``path`` imported as a module of its own."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"config file {path} not found")
  spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def base(preset: str, *, method: str, dataset: str = "mnist", arch: str = "mnist_conv",
         latent_dim: int = 8) -> ml_collections.ConfigDict:
  """The shared keys of a run config: loop, net (``arch`` at the preset's width) and Adam (see the module doc).

  Example:
    >>> c = base('cpu', method='wae')
    >>> c.batch_size, c.num_steps, c.model.arch, c.model.width
    (100, 2400, 'mnist_conv', 0.0625)
  """
  if preset not in PRESETS:
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
  paper = preset == "paper"
  c = ml_collections.ConfigDict()
  c.method = method
  c.dataset = dataset
  c.seed = 0
  c.num_devices = 0  # 0: all local devices
  c.batch_size = 100
  c.num_steps = 60_000 if paper else 2_400  # 100 epochs of 600 steps
  c.log_every = 50
  c.eval_every = 6_000 if paper else 600
  c.num_eval_examples = 2_000
  c.num_fid_samples = 10_000  # generated samples scored at the end (FID/IS under the shipped classifier)
  c.checkpoint_every = 6_000 if paper else 600
  c.max_checkpoints = 3
  c.nonfinite = "stop"  # a NaN/Inf loss: "stop" (keep the last good checkpoint) or "skip" the step
  c.model = ml_collections.ConfigDict(dict(arch=arch, latent_dim=latent_dim, width=1.0 if paper else 0.0625))
  # The images' [H, W, C]; None: the architecture's own (MNIST's for mnist_conv). `ltot train` fills it
  # in from the data, so one config trains on other image sizes (ltot.nn.make_autoencoder).
  c.model.image_shape = ml_collections.config_dict.placeholder(tuple)
  c.model.conv = "auto"  # the stride-2 convs: "matrix" products, flax's "xla" convs, or "auto" (ltot.nn.conv_impl)
  # WAE paper, MNIST: Adam(1e-3, beta1 0.5), x0.5 after 30 epochs, x0.1 (of the base) after 50.
  c.optim = ml_collections.ConfigDict(dict(lr=1e-3, b1=0.5, b2=0.999, decay_epochs=((30, 0.5), (50, 0.1))))
  return c


def twae_section(penalty: str, num_regions: int, *, tessellation: str = "cvt", assign: str = "lcm",
                 alpha: float = 0.0, recon_weight: float = 1.0, bn_policy: str = "train",
                 region_prior: str = "exact") -> ml_collections.ConfigDict:
  """The ``twae`` section: the penalty with the paper's lambda and options, the tessellation and assignment,
  the BatchNorm policy on region batches and the region priors (``ltot.methods.twae``).

  Example:
    >>> s = twae_section('gw', 10)
    >>> s.lam, s.num_regions, s.assign
    (0.01, 10, 'lcm')
  """
  if penalty not in PENALTY_LAMBDA:
    raise ValueError(f"penalty must be one of {sorted(PENALTY_LAMBDA)}, got {penalty!r}")
  return ml_collections.ConfigDict(dict(
      penalty=penalty, lam=PENALTY_LAMBDA[penalty], penalty_options=PENALTY_OPTIONS[penalty],
      tessellation=tessellation, num_regions=num_regions, tessellation_seed=0, cvt_samples=100_000,
      cvt_iters=50, assign=assign, alpha=alpha, recon_weight=recon_weight, bn_policy=bn_policy,
      region_prior=region_prior))


# The TWAE authors' code, where the paper is silent: Adam with lr 1e-4 and betas (0.9, 0.999),
# constant, and BatchNorm switched to eval mode after the first round.
TWAE_AUTHORS_OPTIM = dict(lr=1e-4, b1=0.9, b2=0.999, decay_epochs=())
TWAE_AUTHORS_BN = "frozen_after_first_round"
# The paper's MNIST tessellations (Table 3, Fig. 6): N = 10,000 codes per round in m regions;
# without tessellation the batch is the region size N / m.
TESSELLATION_SIZES = {"m100": 100, "m200": 200, "m400": 400}
TESSELLATION_POINTS = 10_000
# Updates (region steps, or batches for the baselines) of the m-sized presets at 1/16 width:
# what the 2-core CPU trains in about 15 minutes per run (experiments/results/mnist_twae.md).
TESSELLATION_CPU_UPDATES = 6_000


def tessellation_size(preset: str, *, method: str) -> tuple[ml_collections.ConfigDict, int]:
  """(config, m) of an m-sized MNIST preset "m100" / "m200" / "m400": ``base("cpu")`` (1/16 width)
  with the TWAE authors' optimiser, ``TESSELLATION_CPU_UPDATES`` updates and checkpoints every 1,000;
  the caller sets the batch (TWAE: N = 10,000; its WAE baseline: N / m).

  Example:
    >>> c, m = tessellation_size('m200', method='twae')
    >>> m, c.optim.lr, c.optim.b1, c.num_steps, c.model.width
    (200, 0.0001, 0.9, 6000, 0.0625)
  """
  if preset not in TESSELLATION_SIZES:
    raise ValueError(f"size must be one of {sorted(TESSELLATION_SIZES)}, got {preset!r}")
  c = base("cpu", method=method)
  c.optim = ml_collections.ConfigDict(dict(TWAE_AUTHORS_OPTIM))
  c.num_steps = TESSELLATION_CPU_UPDATES
  c.checkpoint_every = c.eval_every = 1_000
  return c, TESSELLATION_SIZES[preset]


def celeba_schedule(c: ml_collections.ConfigDict, epochs: int, *, per_step: int = 100) -> ml_collections.ConfigDict:
  """WAE paper App. E, CelebA: Adam lr 1e-4 -> 5e-5 after 30 epochs -> 1e-5 after 50, ``epochs`` epochs
  of ``per_step`` images per update; evaluation and checkpoints every 5,000 updates.

  Example:
    >>> c = celeba_schedule(base('paper', method='wae', dataset='celeb_a'), epochs=55)
    >>> c.optim.lr, c.num_steps
    (0.0001, 89485)
  """
  c.optim.lr = 1e-4
  c.num_steps = epochs * (CELEBA_TRAIN // per_step)
  c.eval_every = c.checkpoint_every = 5_000
  return c


def method_dataset(preset: str, methods: tuple[str, ...], datasets: tuple[str, ...]) -> tuple[str, str]:
  """(method, dataset) of a "METHOD-DATASET" preset, checked against the allowed names.

  Example:
    >>> method_dataset('otgen-moons', ('otgen', 'ae_ot'), ('moons', 'ring'))
    ('otgen', 'moons')
  """
  method, _, dataset = preset.partition("-")
  if method not in methods or dataset not in datasets:
    raise ValueError(f"preset must be METHOD-DATASET with METHOD in {methods} and DATASET in {datasets}, "
                     f"got {preset!r}")
  return method, dataset


def wae_section(**overrides) -> ml_collections.ConfigDict:
  """The ``wae`` section, every key of ``ltot.methods.wae.from_config`` with its default (the one place
  they are written): WAE-MMD of the WAE paper's MNIST runs (IMQ kernel with C = 2 d sigma^2, lambda
  10, a N(0, I) prior), and for WAE-GAN the paper's discriminator (4 x 512, Adam lr 5e-4).

  Example:
    >>> s = wae_section(lam=1.0)
    >>> s.penalty, s.kernel, s.lam, s.prior, s.disc_hidden
    ('mmd', 'imq', 1.0, 'gaussian', (512, 512, 512, 512))
  """
  unknown = set(overrides) - set(_WAE_DEFAULTS)
  if unknown:
    raise ValueError(f"unknown wae keys {sorted(unknown)}; known: {sorted(_WAE_DEFAULTS)}")
  return ml_collections.ConfigDict({**_WAE_DEFAULTS, **overrides})


_WAE_DEFAULTS = dict(penalty="mmd", lam=10.0, kernel="imq", kernel_scales=(1.0,), prior="gaussian", prior_var=1.0,
                     recon_weight=1.0, penalty_options={}, disc_lr=5e-4, disc_hidden=(512,) * 4)


def latent_ot_toy(preset: str = "otgen-moons") -> ml_collections.ConfigDict:
  """The config of experiments/configs/latent_ot_toy.py (its docstring explains the presets).

  Example:
    >>> c = latent_ot_toy('ae_ot-eight_gaussians')
    >>> c.method, c.num_train, c.batch_size, c.ae_ot.hidden
    ('ae_ot', 256, 256, (512, 512, 512, 512))
  """
  method, dataset = method_dataset(preset, LATENT_TOY_METHODS, LATENT_TOY_DATASETS)
  c = ml_collections.ConfigDict()
  c.dataset = dataset
  c.toy_noise = 0.05  # moons / circles: std of the Gaussian noise added to the curves
  c.num_train = 256 if dataset == "eight_gaussians" else 2_000
  c.seed = 0
  c.num_devices = 1
  c.num_steps = 10_000
  c.log_every = 500
  c.eval_every = 0
  c.num_eval_examples = 2_000  # fresh points that `ltot eval` scores against (ltot.data.load_split)
  c.num_fid_samples = 2_000  # generated points of the exact W1 to them (ltot.train.write_report)
  c.checkpoint_every = 10_000
  c.max_checkpoints = 1
  c.nonfinite = "stop"
  if method == "ae_ot":
    c.method = "ae_ot"
    c.batch_size = c.num_train
    c.ae_ot = ml_collections.ConfigDict(dict(lam=0.0, code_dim=2, hidden=(512,) * 4, activation="relu",
                                             lr=1e-2, b1=0.5, b2=0.999, autoencoder="", solver="auto"))
  else:
    c.method = "ot_gen"
    c.batch_size = 128
    c.ot_gen = ml_collections.ConfigDict(dict(variant=method, lam=0.0, noise="uniform", noise_dim=2, code_dim=2,
                                              hidden=(512,) * 4, activation="leaky_relu", lr=3e-4, b1=0.9,
                                              b2=0.999, autoencoder="", num_pairs=0, solver="auto"))
  return c


def ots_fit(preset: str = "ots_fit-ring") -> ml_collections.ConfigDict:
  """The config of experiments/configs/ots_fit.py (its docstring explains the presets and choices).

  Example:
    >>> c = ots_fit('ots_fit-ring')
    >>> c.num_steps, c.ots_fit.ots_steps, c.ots_fit.fit_steps, c.ots_fit.generator
    (30000, 1000, 500, 'line')
  """
  method, dataset = method_dataset(preset, OTS_FIT_METHODS, OTS_FIT_DATASETS)
  ring = dataset == "ring"
  c = ml_collections.ConfigDict()
  c.method = "ots_fit"
  c.dataset = dataset
  c.seed = 0
  c.num_devices = 0
  c.num_train = 2_000 if ring else 60_000  # ring: points drawn once from the seed
  c.batch_size = 128 if ring else 64
  rounds, ots_steps, fit_steps = (20, 1000, 500) if ring else (12, 200, 300)
  c.num_steps = rounds * (ots_steps + fit_steps)
  c.log_every = 100 if ring else 50
  c.eval_every = 0
  c.num_eval_examples = 2_000
  c.num_fid_samples = 10_000
  c.checkpoint_every = c.num_steps if ring else 1_000
  c.max_checkpoints = 2
  c.nonfinite = "stop"
  # the image generator's width multiplier, and its convs' implementation (ltot.nn.conv_impl)
  c.model = ml_collections.ConfigDict(dict(width=1.0, conv="auto"))
  c.ots_fit = ml_collections.ConfigDict(dict(
      generator="line" if ring else "mnist_mlp", hidden=(128, 128), out_dim=2, activation="relu",
      noise="uniform" if ring else "gaussian", noise_dim=2 if ring else 32,
      cost="sqeuclidean" if ring else "l1", psi_optimizer="sgd", psi_lr=1e-3 if ring else 0.1,
      ots_steps=ots_steps, fit_steps=fit_steps, ots_tol=0.0, alternate=not method.endswith("_nonalternating"),
      subsample=() if ring else ((1, 0.01), (2, 0.1)), lr=3e-4 if ring else 1e-3, b1=0.9, b2=0.999, chunk=0,
      output="sigmoid", image_shape=(28, 28, 1), stop_window=0, stop_bins=1000, stop_range=(200 / 256, 320 / 256),
      fit_pairs="fresh"))
  if method.startswith("ots_fit_authors"):
    if ring:
      raise ValueError(f"the authors' OTS/FIT settings are for MNIST, got {preset!r}")
    _ots_fit_authors(c)
  if method.endswith("_nonalternating"):  # the same budget: one OTS phase of all the OTS steps
    c.ots_fit.ots_steps = (c.num_steps // (c.ots_fit.ots_steps + c.ots_fit.fit_steps)) * c.ots_fit.ots_steps
    c.ots_fit.subsample = ()
  return c


def _ots_fit_authors(c: ml_collections.ConfigDict) -> None:
  """The OTS/FIT authors' MNIST settings where the paper is silent and their code is explicit:
  Adam on psi with rate 0.1 on [-1, 1] pixels (0.05 on ltot's [0, 1] pixels, the same steps in
  their units); OTS stopped by their histogram rule (the last 4,000 batches' assignments in 1,000
  bins, each within [200, 320] of an expected 256) or after 4,000 steps; FIT on the stored pairs of
  the OTS phase with Adam 1e-4, 4,000 steps; the generator an MLP of 3 x 512 from 100-d Gaussian
  noise with a tanh output; 20 rounds (the issue's GPU protocol; the paper ran about 100)."""
  s = c.ots_fit
  s.generator, s.hidden, s.noise, s.noise_dim, s.output = "mlp_images", (512, 512, 512), "gaussian", 100, "tanh"
  s.psi_optimizer, s.psi_lr = "adam", 0.05
  s.stop_window = 4_000  # with the section's 1,000 bins and range [200, 320] / 256
  s.fit_pairs, s.lr, s.b1, s.b2 = "stored", 1e-4, 0.9, 0.999
  s.ots_steps = s.fit_steps = 4_000
  c.num_steps = 20 * (s.ots_steps + s.fit_steps)
  c.checkpoint_every = 4_000


TOY_REGIONS = 10  # CVT regions of the TWAE toy config
TOY_FAMILIES = ("wae", "twae", "ots_fit", "otgen", "ottrans", "ae_ot")


def toy(family: str, num_steps: int, num_train: int = 2_000) -> ml_collections.ConfigDict:
  """A config of ``family`` for 2-D points (ltot.data.toy), ``num_steps`` long, on one device.

  "otgen", "ottrans", "ae_ot": ``latent_ot_toy`` (the papers' toy protocols); "ots_fit": the
  ring protocol of ``ots_fit``; "wae" (WAE-MMD, batch 100) and "twae" (SW, 10 CVT regions of
  100 points per round, fewer when ``num_train`` < 1,000): the ``toy_mlp`` autoencoder with a 2-D
  latent, the per-point squared error, and, for TWAE, lambda 0.1 (ltot's choice: the paper's 1 is
  set against 784 pixels, not 2 coordinates) and 100 SW directions (they sample the half circle
  of 2-D directions every 1.8 degrees; the paper's 1,000 are for 8-D and 64-D codes, and the sort
  of 1,000 projections made a region step 8x slower). A TWAE region batch is as large as WAE's
  batch, as in the paper's comparison (without tessellation the batch is the region size): with
  regions of 10 points the reconstructions of two moons stayed noisy (RMS 0.09-0.18 over 4 seeds
  at 1,000 steps, against 0.02-0.04 with 100; tests/methods/test_toy.py).
  The data themselves are passed to ``ltot.train.train``; ``dataset`` is only a label here.

  Example:
    >>> c = toy('twae', 500)
    >>> c.method, c.model.arch, c.num_steps, c.twae.num_regions, c.batch_size, c.twae.lam
    ('twae', 'toy_mlp', 500, 10, 1000, 0.1)
  """
  if family not in TOY_FAMILIES:
    raise ValueError(f"family must be one of {TOY_FAMILIES}, got {family!r}")
  if num_steps < 1 or num_train < 1:
    raise ValueError(f"num_steps and num_train must be positive, got {num_steps} and {num_train}")
  if family in ("wae", "twae"):
    c = base("cpu", method=family, dataset="toy", arch="toy_mlp", latent_dim=2)
    c.model.width = 1.0
    if family == "wae":
      c.wae = wae_section()
    else:
      if num_train < TOY_REGIONS:
        raise ValueError(f"TWAE on points needs num_train >= {TOY_REGIONS} (a point per region), got {num_train}")
      c.twae = twae_section("sw", TOY_REGIONS, recon_weight=1.0)
      c.twae.lam, c.twae.cvt_samples, c.twae.penalty_options.num_projections = 0.1, 10_000, 100
      c.batch_size = TOY_REGIONS * min(100, num_train // TOY_REGIONS)
  elif family == "ots_fit":
    c = ots_fit("ots_fit-ring")
    c.ots_fit.ots_steps, c.ots_fit.fit_steps = max(1, 2 * num_steps // 15), max(1, num_steps // 15)
  else:
    c = latent_ot_toy(f"{family}-moons")
  if family not in ("wae", "twae"):
    c.num_train = num_train
  if family == "ae_ot":  # each iteration matches a noise batch to the whole target set
    c.batch_size = num_train
  c.num_steps, c.num_devices, c.dataset = num_steps, 1, "toy"
  c.log_every = c.checkpoint_every = num_steps
  c.eval_every = 0
  return c
