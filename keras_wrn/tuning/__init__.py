"""Hyperparameter and architecture search with keras-tuner over the training loop."""

from keras_wrn.tuning.space import DEFAULT_SPACES, SpaceError, load_space, to_overrides
from keras_wrn.tuning.tuner import ORACLES, TrainerTuner, count_params, make_oracle, trial_rows

__all__ = ["DEFAULT_SPACES", "ORACLES", "SpaceError", "TrainerTuner", "count_params",
           "load_space", "make_oracle", "to_overrides", "trial_rows"]
