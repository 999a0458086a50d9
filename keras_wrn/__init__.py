"""keras_wrn: ResNet, Wide ResNet, PyramidNet and PyramidSepDrop as Keras 3 functional models."""

import os

# TensorFlow 2.21 leaves its oneDNN CPU kernels off on this AVX2 machine unless asked; with them
# ResNet-20's training step went from 150 to 236 images/s (README, Benchmarks). Read when
# TensorFlow loads, so it only acts if keras_wrn is imported first (the apps do); a value the
# user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_wrn import layers
from keras_wrn.models import (
    build_model,
    check,
    get_preset,
    hyperparameters,
    list_families,
    list_models,
    resolve,
)

__version__ = "0.1.0"
__all__ = ["build_model", "check", "get_preset", "hyperparameters", "layers", "list_families",
           "list_models", "resolve"]
