"""Orbax checkpoints of the training state, with fallback past a corrupted latest one."""

from __future__ import annotations

import logging
import os
from typing import Any

import orbax.checkpoint as ocp

__all__ = ["Checkpointer"]


class Checkpointer:
  """Saves the (single-device) state every so often and restores the newest readable one."""

  def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3):
    self.manager = ocp.CheckpointManager(
        os.path.abspath(directory),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))

  def save(self, step: int, state: Any) -> None:
    self.manager.save(step, args=ocp.args.StandardSave(state), force=True)

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def restore(self, template: Any) -> tuple[int, Any] | None:
    """(step, state) from the newest checkpoint that reads back, or None if there is none.

    A checkpoint that fails to read is skipped with a warning (nothing is deleted);
    if none reads (e.g. the config's shapes differ from the saved ones), raises
    RuntimeError with every step's error.
    """
    errors = []
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        return step, self.manager.restore(step, args=ocp.args.StandardRestore(template))
      except Exception as e:  # orbax raises assorted errors on truncated or mismatched files
        logging.warning("checkpoint at step %d is unreadable (%s: %s); trying an older one",
                        step, type(e).__name__, e)
        errors.append(f"step {step}: {type(e).__name__}: {e}")
    if errors:
      raise RuntimeError(f"no checkpoint in {self.manager.directory} matches this run's state "
                         "(does the config match the one that wrote them?):\n" + "\n".join(errors))
    return None

  def close(self) -> None:
    self.manager.close()
