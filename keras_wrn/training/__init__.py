"""Training: recipes, configuration, the training loop and evaluation. The names load on first
use, so the configuration and its flags import without TensorFlow."""

from keras_wrn.core import lazy

__getattr__, __dir__ = lazy.attach(__name__, {
    "ConfigError": "keras_wrn.training.config", "TrainConfig": "keras_wrn.training.config",
    "read_config_file": "keras_wrn.training.config", "resolve_config": "keras_wrn.training.config",
    "evaluate": "keras_wrn.training.evaluation", "RECIPES": "keras_wrn.training.recipes",
    "PREEMPTED_EXIT_CODE": "keras_wrn.training.trainer",
    "DivergedError": "keras_wrn.training.trainer", "PreemptedError": "keras_wrn.training.trainer",
    "Trainer": "keras_wrn.training.trainer"})

__all__ = [
    "PREEMPTED_EXIT_CODE", "RECIPES", "ConfigError", "DivergedError", "PreemptedError",
    "TrainConfig", "Trainer",
    "evaluate", "read_config_file", "resolve_config",
]
