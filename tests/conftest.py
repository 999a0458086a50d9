"""Test-wide settings: quiet TensorFlow, TensorFlow backend, CPU only, oneDNN, fixed seeds."""
# ruff: noqa: E402  (sys.meta_path is set before the imports below, as os.environ is)

import importlib.abc
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# As keras_wrn sets it, but before this process loads TensorFlow: the tests and the apps they run
# in subprocesses use the same (oneDNN) kernels, so their outputs can be compared exactly.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# XLA's compiles are most of a tiny run's time, in this process and in the apps it starts (which
# inherit the variable); without LLVM's optimisations they cost a fifth less CPU (a two-replica
# GPU-path training run: 55 -> 46 CPU s on a 2-core EPYC). The code paths are the same.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

# JAX is installed for tests/test_backends.py, which runs it in a subprocess of its own; nothing in
# the test processes uses it. TensorFlow imports it when it is installed (tensorflow.lite's
# optional `from jax import jit`), which registers JAX's exit handlers in every pytest-xdist
# worker, and the workers' shutdown (execnet sends a worker still running 5 s after the end a
# SIGINT) could interrupt them: a KeyboardInterrupt traceback from jax after the summary. Kept out,
# the test processes import what the runtime install (requirements.txt, no jax) has: `import jax`
# fails as if it were not installed (a finder, not sys.modules["jax"] = None, which libraries that
# test `"jax" in sys.modules` would take for an imported jax).
class _NoJax(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("jax", "jaxlib"):
            raise ModuleNotFoundError(f"No module named {name!r} (tests/conftest.py: JAX runs in "
                                      "tests/test_backends.py's subprocess only)", name=name)
        return None


if "jax" not in sys.modules:
    sys.meta_path.insert(0, _NoJax())

import keras
import pytest
import tensorflow as tf
from helpers import TINY, run_app

# TensorFlow reads TF_XLA_FLAGS once, at device set-up or the first graph: do that now, so that an
# app's main() run in this process (helpers.call_app), which may set them, cannot turn XLA
# fusion on for the rest of the worker's tests.
tf.function(lambda: tf.constant(0))()


def pytest_collection_modifyitems(items):
    """Tests marked slow go first. The two workers take tests in this order, so the longest no
    longer start near the end and leave one worker idle while the other finishes them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The README's quick start on the tiny model, 3 epochs: (output folder, stdout)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    result = run_app("train.py", *TINY, "--epochs", "3", "--output-dir", out)
    return out, result.stdout
