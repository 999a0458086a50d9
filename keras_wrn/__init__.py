"""keras_wrn: ResNet, Wide ResNet, PyramidNet and PyramidSepDrop as Keras 3 functional models."""

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
