"""One output directory, one run: the lock file's owner, takeover of a dead owner's lock, and
the folders a refused run leaves behind (none)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from keras_wrn.core.lock import LockError, OutputLock, task_lock_name
from keras_wrn.runtime.cluster import tf_config_task


def test_a_second_run_is_refused_until_the_first_releases(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    lock = folder / ".lock"
    # Held by a live process of this host (the one that started the tests).
    lock.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(LockError, match=f"in use by pid {os.getppid()} on "):
        OutputLock(folder).acquire()
    lock.unlink()  # that run finished
    with OutputLock(folder) as held:
        assert json.loads(held.path.read_text()) == {"pid": os.getpid(),
                                                     "host": socket.gethostname()}
    assert not lock.exists()


def test_a_dead_owners_lock_is_taken_over_and_a_live_remote_one_is_not(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    folder = tmp_path / "run"
    folder.mkdir()
    lock = folder / ".lock"
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    with OutputLock(folder):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": "another-machine"}))
    with pytest.raises(LockError, match=r"in use by pid \d+ on another-machine"):
        OutputLock(folder).acquire()  # another host's pid cannot be checked from here


def test_folders_made_for_a_refused_run_are_removed_again(tmp_path):
    lock = OutputLock(tmp_path / "runs" / "resnet").acquire()
    lock.release()
    assert list(tmp_path.iterdir()) == []
    kept = OutputLock(tmp_path / "runs" / "wrn").acquire()
    (kept.directory / "history.json").write_text("[]")
    kept.release()
    assert (tmp_path / "runs" / "wrn" / "history.json").is_file()


def test_unusable_output_folders_are_one_line_errors(tmp_path):
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(LockError, match="is a file; pass a directory"):
        OutputLock(file).acquire()
    with pytest.raises(LockError, match=r"cannot create --output-dir .*file/run"):
        OutputLock(file / "run").acquire()


@pytest.mark.parametrize("tf_config, name", [
    (None, ".lock"),
    ('{"cluster": {"worker": ["a", "b"]}, "task": {"type": "worker", "index": 0}}', ".lock"),
    ('{"cluster": {"worker": ["a", "b"]}, "task": {"type": "worker", "index": 1}}',
     ".lock-worker-1"),
    ('{"cluster": {"chief": ["c"], "worker": ["a"]}, "task": {"type": "worker", "index": 0}}',
     ".lock-worker-0"),
    ('{"cluster": {"chief": ["c"], "worker": ["a"]}, "task": {"type": "chief", "index": 0}}',
     ".lock"),
])
def test_the_workers_of_one_run_hold_separate_locks(tf_config, name):
    assert task_lock_name(tf_config_task(tf_config)) == name
