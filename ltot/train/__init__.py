"""Training engine: immutable state, the method protocol, the data-parallel loop, checkpoints."""

from ltot.train import loggers, parallel
from ltot.train.checkpoint import (SCHEDULE_KEYS, CheckpointError, Checkpointer, ConfigMismatchError, config_changes,
                                   read_run_config, restore_run, write_run_config)
from ltot.train.host import keep_freed_host_memory
from ltot.train.loop import TrainResult, evaluate, root_keys, train
from ltot.train.method import Method
from ltot.train.parallel import AXIS
from ltot.train.report import latent_interpolations, write_images, write_report
from ltot.train.state import TrainState, adam_with_schedule, apply_loss

__all__ = ["SCHEDULE_KEYS", "CheckpointError", "Checkpointer", "ConfigMismatchError", "config_changes",
           "read_run_config", "restore_run", "write_run_config", "TrainResult", "evaluate", "root_keys", "train",
           "write_images", "write_report", "latent_interpolations", "AXIS", "Method", "TrainState",
           "adam_with_schedule", "apply_loss", "keep_freed_host_memory", "loggers", "parallel"]
