"""Training engine: immutable state, the method protocol, the data-parallel loop, checkpoints."""

from ltot.train.checkpoint import Checkpointer, read_run_config, restore_run
from ltot.train.loop import TrainResult, evaluate, root_keys, train
from ltot.train.report import latent_interpolations, write_images, write_report
from ltot.train.state import AXIS, Method, TrainState, adam_with_schedule, apply_loss

__all__ = ["Checkpointer", "read_run_config", "restore_run", "TrainResult", "evaluate", "root_keys", "train", "write_images",
           "write_report", "latent_interpolations", "AXIS", "Method", "TrainState", "adam_with_schedule", "apply_loss"]
