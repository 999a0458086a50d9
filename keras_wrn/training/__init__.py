"""Training: recipes, configuration, the training loop and evaluation."""

from keras_wrn.training.config import ConfigError, TrainConfig, read_config_file, resolve_config
from keras_wrn.training.evaluation import evaluate
from keras_wrn.training.recipes import RECIPES
from keras_wrn.training.trainer import (
    PREEMPTED_EXIT_CODE,
    DivergedError,
    PreemptedError,
    Trainer,
)

__all__ = [
    "PREEMPTED_EXIT_CODE", "RECIPES", "ConfigError", "DivergedError", "PreemptedError",
    "TrainConfig", "Trainer",
    "evaluate", "read_config_file", "resolve_config",
]
