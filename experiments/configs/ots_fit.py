"""OTS/FIT (Chen, Telgarsky et al.): Algorithm 3 and its non-alternating ablation.

Presets "METHOD-DATASET":
- METHOD "ots_fit" (Algorithm 3: OTS and FIT alternate) or "ots_fit_nonalternating" (Figure 4's
  ablation: one OTS phase, then FIT to the end).
- DATASET "ring" (Figure 1): a generator that starts as the segment [-0.5, 0.5] x {0}
  (``LineStart``, 2 x 128 ReLU layers, unif(-1, 1)^2 noise) fitted to 2,000 points of the ring of
  radius 1 and width 0.1 (``ltot.data.ring``) under the squared Euclidean cost (W2).
- DATASET "mnist": the 60,000 real training images under the l1 cost (the paper's W1 on l1). The
  generator is the decoder of an ``ltot.nn`` architecture fed N(0, I) noise of dimension
  ``noise_dim``: "mnist_mlp" (the MLP generator, default) or "mnist_conv" (DCGAN; set
  ``--config.ots_fit.generator=mnist_conv``).
- METHOD "ots_fit_authors" / "ots_fit_authors_nonalternating" (MNIST only): the authors' code where
  the paper is silent (``ltot.configs._ots_fit_authors``): Adam on psi at their rate, their
  histogram stopping rule, FIT on the stored OTS pairs, their 3 x 512 tanh MLP generator, 20 rounds
  of at most 4,000 + 4,000 steps. The rest of this docstring is about the "ots_fit" presets.

The paper gives neither its step sizes nor its phase lengths in the text we have. ltot's choices:
- psi: plain SGD ascent (the paper's update), with the rate scaled by N so that one step moves
  psi_i by ``psi_lr`` times (1 - N x the fraction of the batch sent to y_i), in cost units.
  Ring: 1e-3, the best of 5e-4 .. 5e-2 in a short sweep (longer OTS phases helped more than
  more rounds). MNIST: 0.1, which moves a hit psi_i by about 100 (l1 costs between MNIST images
  are in the hundreds): the best of 1e-2, 0.1 and 1 in a one-seed sweep at the table's budget
  (experiments/results/ots_fit_mnist_sweep.md).
- FIT: Adam.
- Phases: fixed lengths (``ots_tol`` = 0). The histogram distance to uniform is logged as
  ``assign_tv``.
- Sec. 4.3's subsampling on MNIST: 1%, then 10%, of the dataset for the first rounds.
Every key can be overridden (``--config.ots_fit.KEY=VALUE``).
"""

import ml_collections

from ltot import configs

METHODS, DATASETS = configs.OTS_FIT_METHODS, configs.OTS_FIT_DATASETS
PRESETS = tuple(f"{m}-{d}" for m in METHODS for d in DATASETS if d == "mnist" or "authors" not in m)


def get_config(preset: str = "ots_fit-ring") -> ml_collections.ConfigDict:
  return configs.ots_fit(preset)
