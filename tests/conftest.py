"""Test-wide settings: quiet TensorFlow, TensorFlow backend, CPU only, oneDNN, fixed seeds."""

import gc
import os
import shutil
import tempfile

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
# And a program compiled once is loaded after that (a resumed run's, a second app's of the same
# model): TensorFlow's persistent XLA cache, in a folder the session's processes share (the
# xdist workers and the apps inherit the variable) and no later session sees; the apps then
# leave the user's own cache (--xla-cache) alone. Two processes compiling one program at once
# both compile it. A two-worker GPU-path run and its resume: 176 -> 162 CPU s.
if "--tf_xla_persistent_cache_directory" not in os.environ.get("TF_XLA_FLAGS", ""):
    os.environ["TF_XLA_FLAGS"] = " ".join(filter(None, [
        os.environ.get("TF_XLA_FLAGS"),
        "--tf_xla_persistent_cache_directory=" + tempfile.mkdtemp(prefix="keras_wrn-tests-xla-")]))

# JAX stays out of the test processes, and JAX, IPython and scikit-learn out of the apps they
# start (tests/nojax/sitecustomize.py).
import nojax.sitecustomize  # noqa: F401

# isort: split
# No garbage collection while the imports below make their ~450,000 lasting objects (as
# apps/_app.py imports TensorFlow); frozen after them.
gc.disable()
import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from helpers import TINY, run_app  # noqa: E402

# TensorFlow reads TF_XLA_FLAGS once, at device set-up or the first graph: do that now, so that an
# app's main() run in this process (helpers.call_app), which may set them, cannot turn XLA
# fusion on for the rest of the worker's tests.
tf.function(lambda: tf.constant(0))()
# What this process imported lives as long as it does: frozen, Python's full collections no
# longer walk it (docs/design.md, "The test suite's time").
gc.freeze()
gc.enable()


def pytest_unconfigure(config):
    """The session's XLA cache goes with it (removed by the process that made it)."""
    flag = "--tf_xla_persistent_cache_directory="
    folder = os.environ.get("TF_XLA_FLAGS", "").partition(flag)[2].split(" ")[0]
    if not hasattr(config, "workerinput") and "keras_wrn-tests-xla-" in folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Tests marked slow go first. The workers take tests in this order, so the longest no
    longer start near the end and leave the other workers idle while one finishes them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=False)  # Python's own collections free the rest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The README's quick start on the tiny model, 3 epochs: (output folder, stdout)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    result = run_app("train.py", *TINY, "--epochs", "3", "--output-dir", out)
    return out, result.stdout
