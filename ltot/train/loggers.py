"""Where a run's logged metrics go besides metrics.jsonl: callbacks, TensorBoard, Weights & Biases.

``ltot.train.train(..., callbacks=[...])`` calls each callback as ``callback(step, split, values)``
at every log line (split "train" or "eval"; ``values`` a dict of floats), on process 0 only, at the
loop's logging cadence (``config.log_every``), so nothing is added to the steps in between.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

__all__ = ["TensorBoardLogger", "WandbLogger"]

Callback = Callable[[int, str, Mapping[str, float]], None]


class TensorBoardLogger:
  """Writes every logged metric as a TensorBoard scalar ``SPLIT/NAME`` into ``logdir`` (tensorboardX,
  no TensorFlow needed); view with ``tensorboard --logdir DIR``.

  Example:
    >>> import os, tempfile
    >>> logdir = tempfile.mkdtemp()
    >>> log = TensorBoardLogger(logdir)
    >>> os.listdir(logdir)  # nothing is written before the first metric
    []
    >>> log(10, 'train', {'loss': 0.5})
    >>> log.close()
    >>> any(f.startswith('events.out.tfevents') for f in os.listdir(logdir))
    True
  """

  def __init__(self, logdir: str):
    self.logdir = logdir
    self.writer = None  # opened by the first metric: a run refused before it logs leaves no file

  def __call__(self, step: int, split: str, values: Mapping[str, float]) -> None:
    if self.writer is None:
      from tensorboardX import SummaryWriter
      os.makedirs(self.logdir, exist_ok=True)
      self.writer = SummaryWriter(self.logdir)
    for name, value in values.items():
      self.writer.add_scalar(f"{split}/{name}", value, step)
    self.writer.flush()

  def close(self) -> None:
    if self.writer is not None:
      self.writer.close()


class WandbLogger:
  """Logs every metric to a Weights & Biases run (``wandb.init(project=..., config=...)``); needs the
  ``wandb`` package (``pip install wandb``), which ltot does not install.

  Example:
    >>> try:
    ...   WandbLogger('my-project')
    ... except ImportError as e:  # without wandb installed
    ...   print('ImportError' if 'pip install wandb' in str(e) else e)
    ImportError
  """

  def __init__(self, project: str, config: Mapping | None = None, **init_kwargs):
    try:
      import wandb
    except ImportError as e:
      raise ImportError("WandbLogger needs the wandb package: pip install wandb") from e
    self.run = wandb.init(project=project, config=dict(config or {}), **init_kwargs)

  def __call__(self, step: int, split: str, values: Mapping[str, float]) -> None:
    self.run.log({f"{split}/{k}": v for k, v in values.items()}, step=step)

  def close(self) -> None:
    self.run.finish()
