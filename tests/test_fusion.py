"""XLA fusion's switch: the flags TensorFlow reads, added once, the user's own kept, and the
persistent cache of the compiled clusters. When the plan turns fusion on is
tests/test_runtime.py's; that the step really compiles clusters, and writes them to the cache, is
checked end to end (tests/test_benchmark.py): TensorFlow reads the flags once per process."""

import importlib.metadata
import os

import pytest
from google.protobuf import struct_pb2

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


def test_the_default_cache_is_per_tensorflow_version_and_cpu_in_the_users_cache(monkeypatch,
                                                                                tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = resolve_folder("auto")
    assert folder.parent == tmp_path / "keras_wrn" / "xla"
    version = importlib.metadata.version("tensorflow")
    assert folder.name.startswith(f"tf-{version}-") and len(folder.name) == len(version) + 16
    assert resolve_folder("off") is None
    assert resolve_folder(str(tmp_path / "mine")) == tmp_path / "mine"


def entry(folder, name: str, data: bytes):
    path = folder / f"xla_compile_cache__{name}__XLA_CPU_JIT.pb"
    path.write_bytes(data)
    return path


def test_prepare_removes_the_entries_tensorflow_would_fail_on_and_keeps_whole_ones(tmp_path):
    whole = struct_pb2.Struct(fields={"executable": struct_pb2.Value(string_value="x" * 500)})
    data = whole.SerializeToString()
    kept = entry(tmp_path, "1", data)
    damaged = [entry(tmp_path, "2", data[: len(data) // 2]), entry(tmp_path, "3", b""),
               entry(tmp_path, "4", data[:-1]), entry(tmp_path, "5", b"garbage\n")]
    other = tmp_path / "notes.txt"
    other.write_text("not an entry")
    assert prepare(tmp_path) == damaged
    assert kept.exists() and other.exists()
    assert sorted(tmp_path.iterdir()) == sorted([kept, other])


def test_open_cache_prepares_the_folder_and_keeps_the_users_own(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    warnings = []
    entry(tmp_path, "1", b"\x01")  # cut short inside its first field
    assert open_cache(str(tmp_path), warnings.append) == tmp_path
    assert not list(tmp_path.iterdir())
    assert warnings == [f"warning: removed 1 damaged XLA cache entries from {tmp_path}; their "
                        "clusters are compiled again."]
    assert open_cache("off", warnings.append) is None
    monkeypatch.setenv("TF_XLA_FLAGS", f"{CACHE_FLAG}=/elsewhere")
    assert open_cache(str(tmp_path / "new"), warnings.append) is None
    assert not (tmp_path / "new").exists()


def test_a_cache_folder_that_cannot_be_made_stops_a_forced_one_and_warns_for_the_default(
        monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PlanError, match=r"^--xla-cache .*: cannot make that folder .*; pass "
                                        r"another one, or --xla-cache off\.$"):
        open_cache(str(blocker / "xla"), print)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    warnings = []
    assert open_cache("auto", warnings.append) is None
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: XLA cache off: cannot make "
                                                         f"{blocker}/keras_wrn/xla/tf-")
