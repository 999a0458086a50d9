"""Restoring a run's checkpoints: the newest one that restores completely, newest first, so a
truncated or corrupt checkpoint (a full disk, a copy cut short) costs the steps since the one
before it, never the run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf


class CheckpointError(ValueError):
    """No checkpoint of the run restores; the message is one line that names the fix."""


def remove_unfinished_writes(directory: str | Path) -> list[str]:
    """Deletes what a save killed mid-write leaves: TensorFlow's ``ckpt-N_temp`` shard folders
    and ``checkpoint.tmp*`` state files, which nothing reads; returns their names. Only the
    folder's owner (the chief, holding the run's lock) may call it."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for path in sorted(directory.iterdir()):
        if path.name.endswith("_temp") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith("checkpoint.tmp") and path.is_file():
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path.name)
    return removed


def restore_newest_complete(checkpoint: tf.train.Checkpoint, directory: str | Path,
                            log: Callable[[str], None], rewrite_state: bool = True) -> str | None:
    """Restores the newest checkpoint in ``directory`` that restores completely and returns its
    path (None when there is none yet). Each one skipped is said in one line. With
    ``rewrite_state``, the folder's state file then lists only the restored checkpoint and
    those before it, so the next save and every reader start from it; the skipped files stay
    on disk."""
    state = tf.train.get_checkpoint_state(str(directory))
    if state is None:
        return None
    paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    for index in range(len(paths) - 1, -1, -1):
        path = paths[index]
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            log(f"warning: skipped checkpoint {Path(path).name}, which does not restore "
                f"({type(err).__name__}: {reason}); trying the one before it")
            continue
        if rewrite_state and index < len(paths) - 1:
            tf.compat.v1.train.update_checkpoint_state(
                str(directory), path, all_model_checkpoint_paths=paths[:index + 1])
        return path
    raise CheckpointError(f"no checkpoint in {directory} restores (see the warnings above); "
                          f"move that folder away to train from the start.")
