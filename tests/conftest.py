"""Test-wide settings: quiet TensorFlow, TensorFlow backend, CPU only, oneDNN, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# As keras_wrn sets it, but before this process loads TensorFlow: the tests and the apps they run
# in subprocesses use the same (oneDNN) kernels, so their outputs can be compared exactly.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras
import pytest


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()
