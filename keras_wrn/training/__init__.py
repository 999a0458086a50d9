"""Training: recipes, configuration, strategies, the training loop and evaluation."""

from keras_wrn.training.config import ConfigError, TrainConfig, read_config_file, resolve_config
from keras_wrn.training.evaluation import evaluate
from keras_wrn.training.recipes import RECIPES
from keras_wrn.training.strategy import make_strategy
from keras_wrn.training.trainer import PREEMPTED_EXIT_CODE, PreemptedError, Trainer

__all__ = [
    "PREEMPTED_EXIT_CODE", "RECIPES", "ConfigError", "PreemptedError", "TrainConfig", "Trainer",
    "evaluate", "make_strategy", "read_config_file", "resolve_config",
]
