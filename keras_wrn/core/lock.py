"""One output directory, one run: a lock file holding its owner's pid and host. A second run
on the same directory stops at once; a lock left by a process that died on this host (kill -9,
a crash) is taken over."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keras_wrn.runtime.cluster import ClusterTask


class LockError(ValueError):
    """The output directory is in use or cannot be written; one line that names the fix."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _owner(path: Path) -> dict | None:
    try:
        owner = json.loads(path.read_text())
        return owner if {"pid", "host"} <= set(owner) else None
    except (OSError, ValueError):
        return None  # being written, or not ours: held


class OutputLock:
    """``with OutputLock(directory):`` holds ``directory/name`` for the block. ``name`` differs
    per worker of one multi-worker run, which share the directory."""

    def __init__(self, directory: str | Path, name: str = ".lock"):
        self.directory = Path(directory)
        self.path = self.directory / name
        self.held = False
        self._created: list[Path] = []  # folders this lock made, removed again if left empty

    def acquire(self) -> OutputLock:
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        try:
            self._created = [p for p in (self.directory, *self.directory.parents)
                             if not p.exists()]
            self.directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise LockError(f"--output-dir {self.directory} is a file; pass a directory.") \
                from None
        except OSError as err:
            raise LockError(f"cannot create --output-dir {self.directory} ({err.strerror}); "
                            f"pass a writable directory.") from None
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = _owner(self.path)
                stale = owner is not None and owner["host"] == me["host"] and (
                    owner["pid"] == me["pid"] or not _alive(owner["pid"]))
                if stale:
                    self.path.unlink(missing_ok=True)
                    continue
                who = (f"pid {owner['pid']} on {owner['host']}" if owner else "another run")
                raise LockError(f"{self.directory} is in use by {who} ({self.path}); wait for "
                                f"it to finish, pass another --output-dir, or delete the lock "
                                f"if that run is gone.") from None
            except OSError as err:
                reason = "read-only" if err.errno == errno.EROFS else err.strerror
                raise LockError(f"cannot write to --output-dir {self.directory} ({reason}); "
                                f"pass a writable directory.") from None
            with os.fdopen(fd, "w") as file:
                json.dump(me, file)
            self.held = True
            return self
        raise LockError(f"cannot take the lock {self.path}; delete it if no run uses "
                        f"{self.directory}.")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
            for folder in self._created:  # a run that stopped on bad input leaves no trace
                if any(folder.iterdir()):
                    break
                folder.rmdir()

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def task_lock_name(task: ClusterTask) -> str:
    """``.lock`` for a single run or the chief, ``.lock-TYPE-INDEX`` for each other task of a
    multi-worker run (TF_CONFIG's or a Slurm job's), which writes to the same directory."""
    return ".lock" if task.chief else f".lock-{task.task_type}-{task.task_index}"
