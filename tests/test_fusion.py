"""XLA fusion's switch: the flags TensorFlow reads, added once, the user's own kept. That the
step really compiles clusters is checked end to end (tests/test_benchmark.py and the mirrored run
in tests/test_training.py): TensorFlow reads the flags once per process."""

import os

from keras_wrn.kernels import XLA_FUSION_FLAGS, enable_xla_fusion, xla_fusion_applies
from keras_wrn.training import resolve_config


def test_enable_adds_the_flags_once_and_keeps_the_users(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_clustering_debug --tf_xla_auto_jit=2")
    enable_xla_fusion()
    enable_xla_fusion()
    flags = os.environ["TF_XLA_FLAGS"].split()
    assert flags == ["--tf_xla_clustering_debug", "--tf_xla_auto_jit=2",
                     "--tf_xla_cpu_global_jit"]  # the user's auto-jit level wins


def test_enable_from_nothing(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "")  # (delenv of an unset variable would not restore it)
    enable_xla_fusion()
    assert os.environ["TF_XLA_FLAGS"].split() == list(XLA_FUSION_FLAGS)


def test_on_by_default_and_off_in_the_quick_recipe():
    assert resolve_config({"arch": "wrn-16-8"}).xla_fusion
    assert not resolve_config({"arch": "wrn-16-8", "recipe": "quick"}).xla_fusion
    assert resolve_config({"arch": "wrn-16-8", "recipe": "quick", "xla_fusion": True}).xla_fusion


def test_not_on_a_cpu_split_into_devices():
    # End to end: tests/test_training.py's mirrored run asks for it and reports it off.
    assert xla_fusion_applies(0) and xla_fusion_applies(1) and not xla_fusion_applies(2)
