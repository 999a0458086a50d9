"""Hyperparameter and architecture search with keras-tuner over the training loop."""

from keras_wrn.tuning.space import (
    SpaceError,
    default_space,
    load_space,
    smallest_corners,
    to_overrides,
)
from keras_wrn.tuning.tuner import (
    ORACLES,
    SearchStopped,
    TrainerTuner,
    count_params,
    make_oracle,
    trial_number,
    trial_rows,
)

__all__ = [
    "ORACLES",
    "SearchStopped",
    "SpaceError",
    "TrainerTuner",
    "count_params",
    "default_space",
    "load_space",
    "make_oracle",
    "smallest_corners",
    "to_overrides",
    "trial_number",
    "trial_rows",
]
