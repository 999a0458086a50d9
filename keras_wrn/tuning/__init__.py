"""Hyperparameter and architecture search with keras-tuner over the training loop. The names
load on first use (keras-tuner and TensorFlow only when a search needs them)."""

from keras_wrn.core import lazy

_SPACE = ("SpaceError", "default_space", "load_space", "smallest_corners", "to_overrides")
_TUNER = ("ORACLES", "SearchStopped", "TrainerTuner", "count_params", "make_oracle",
          "trial_number", "trial_rows")
__getattr__, __dir__ = lazy.attach(__name__, {
    **dict.fromkeys(_SPACE, "keras_wrn.tuning.space"),
    **dict.fromkeys(_TUNER, "keras_wrn.tuning.tuner")})

__all__ = sorted([*_SPACE, *_TUNER])
