"""XLA fusion's switch: the flags TensorFlow reads, added once, the user's own kept, and the
persistent cache of the compiled clusters. When the plan turns fusion on is
tests/test_runtime.py's; that the step really compiles clusters, and writes them to the cache, is
checked end to end (tests/test_benchmark.py): TensorFlow reads the flags once per process."""

import os
import time
from pathlib import Path

import pytest
import tensorflow as tf

from keras_wrn.runtime import PlanError
from keras_wrn.runtime.xla_cache import CACHE_FLAG, open_cache, prepare, resolve_folder
from keras_wrn.runtime.xla_flags import XLA_FUSION_FLAGS, enable_xla_fusion, xla_fusion_enabled


def test_enable_adds_the_flags_once_and_keeps_the_users(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_clustering_debug --tf_xla_auto_jit=2")
    enable_xla_fusion()
    enable_xla_fusion()
    flags = os.environ["TF_XLA_FLAGS"].split()
    assert flags == ["--tf_xla_clustering_debug", "--tf_xla_auto_jit=2",
                     "--tf_xla_cpu_global_jit"]  # the user's auto-jit level wins


def test_enable_from_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "")  # (delenv of an unset variable would not restore it)
    assert not xla_fusion_enabled()
    enable_xla_fusion(tmp_path)
    assert os.environ["TF_XLA_FLAGS"].split() == [*XLA_FUSION_FLAGS, f"{CACHE_FLAG}={tmp_path}"]
    assert xla_fusion_enabled()


def test_the_default_cache_is_per_tensorflow_version_cpu_and_xla_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("XLA_FLAGS", "")
    folder = resolve_folder("auto")
    assert folder.parent == tmp_path / "keras_wrn" / "xla"
    assert folder.name.startswith(f"tf-{tf.version.VERSION}-")
    assert len(folder.name) == len(tf.version.VERSION) + 16
    # Clusters compiled with other XLA options go to another folder.
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=0")
    assert resolve_folder("auto").parent == folder.parent != folder
    assert resolve_folder("off") is None
    assert resolve_folder(str(tmp_path / "mine")) == tmp_path / "mine"
    monkeypatch.chdir(tmp_path)
    assert resolve_folder("mine") == tmp_path / "mine"  # as run.json records it


def field(number: int, data: bytes) -> bytes:
    """A length-delimited protocol-buffer field (its length under 128 bytes or not)."""
    length, size = b"", len(data)
    while True:
        length += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            return bytes([number << 3 | 2]) + length + data


def entry(folder: Path, name: str, data: bytes) -> Path:
    path = folder / f"xla_compile_cache__{name}__XLA_CPU_JIT.pb"
    path.write_bytes(data)
    return path


# An entry as TensorFlow writes it: its key, HLO module and executable.
WHOLE = field(1, b"key" * 10) + field(2, b"hlo" * 100) + field(3, b"x" * 500)


def test_prepare_removes_the_entries_tensorflow_would_fail_on_and_keeps_whole_ones(tmp_path):
    kept = entry(tmp_path, "1", WHOLE)
    damaged = [entry(tmp_path, "2", WHOLE[: len(WHOLE) // 2]),  # cut inside a field
               entry(tmp_path, "3", b""),
               entry(tmp_path, "4", WHOLE[:-1]),
               entry(tmp_path, "5", b"garbage\n"),
               entry(tmp_path, "6", field(1, b"key") + field(2, b"hlo")),  # cut between fields
               entry(tmp_path, "7", field(1, b"key") + field(2, b"hlo") + field(3, b""))]
    other = tmp_path / "notes.txt"
    other.write_text("not an entry")
    # A killed run's temporary file goes once no run can still be writing it.
    stale, fresh = tmp_path / "a.pb_1_2.tmp", tmp_path / "b.pb_3_4.tmp"
    stale.write_bytes(WHOLE[:10])
    fresh.write_bytes(WHOLE[:10])
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert prepare(tmp_path) == damaged
    assert sorted(tmp_path.iterdir()) == sorted([kept, other, fresh])


def test_open_cache_prepares_the_folder_and_takes_the_users_own(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    warnings = []
    entry(tmp_path, "1", field(1, b"key"))
    assert open_cache(str(tmp_path), warnings.append) == tmp_path
    assert not list(tmp_path.iterdir())
    assert warnings == [f"warning: removed 1 damaged XLA cache entries from {tmp_path}; their "
                        "clusters are compiled again."]
    assert open_cache("off", warnings.append) is None
    # A folder TF_XLA_FLAGS names already is the run's, as it is.
    monkeypatch.setenv("TF_XLA_FLAGS", f"--tf_xla_cpu_global_jit {CACHE_FLAG}=/elsewhere")
    assert open_cache(str(tmp_path / "new"), warnings.append) == Path("/elsewhere")
    assert not (tmp_path / "new").exists()


def test_a_cache_folder_that_cannot_be_used_stops_a_forced_one_and_warns_for_the_default(
        monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    blocker = tmp_path / "file"
    blocker.write_text("")
    spaced = tmp_path / "my cache"
    for folder, reason in ((blocker / "xla", "Not a directory"),
                           (spaced, "its path has a space, which TF_XLA_FLAGS cannot carry")):
        with pytest.raises(PlanError) as error:
            open_cache(str(folder), print)
        assert str(error.value) == (f"--xla-cache {folder}: cannot use that folder ({reason}); "
                                    "pass another one, or --xla-cache off.")
    assert not spaced.exists()
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    warnings = []
    assert open_cache("auto", warnings.append) is None
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: XLA cache off: cannot use "
                                                         f"{blocker}/keras_wrn/xla/tf-")
