"""Model families, presets and the registry."""

from keras_wrn.models.registry import (
    build_model,
    check,
    get_preset,
    hyperparameters,
    list_families,
    list_models,
    resolve,
)

__all__ = [
    "build_model", "check", "get_preset", "hyperparameters", "list_families", "list_models",
    "resolve",
]
