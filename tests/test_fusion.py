"""XLA fusion's switch: the flags TensorFlow reads, added once, the user's own kept. When the
plan turns it on is tests/test_runtime.py's; that the step really compiles clusters is checked
end to end (tests/test_benchmark.py): TensorFlow reads the flags once per process."""

import os

from keras_wrn.runtime.xla_flags import XLA_FUSION_FLAGS, enable_xla_fusion, xla_fusion_enabled


def test_enable_adds_the_flags_once_and_keeps_the_users(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_clustering_debug --tf_xla_auto_jit=2")
    enable_xla_fusion()
    enable_xla_fusion()
    flags = os.environ["TF_XLA_FLAGS"].split()
    assert flags == ["--tf_xla_clustering_debug", "--tf_xla_auto_jit=2",
                     "--tf_xla_cpu_global_jit"]  # the user's auto-jit level wins


def test_enable_from_nothing(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "")  # (delenv of an unset variable would not restore it)
    assert not xla_fusion_enabled()
    enable_xla_fusion()
    assert os.environ["TF_XLA_FLAGS"].split() == list(XLA_FUSION_FLAGS)
    assert xla_fusion_enabled()
