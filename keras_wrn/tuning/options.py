"""How a search runs (`SearchOptions`): the keras-tuner oracle, its trials, the space and the
size limit. apps/tune.py's own flags are generated from the fields. No TensorFlow import."""

from __future__ import annotations

import dataclasses

from keras_wrn.core.fields import option

TUNERS = ("random", "bayesian", "hyperband")


class SearchError(ValueError):
    """A search cannot run or found nothing; the message is one line that names the fix."""


@dataclasses.dataclass
class SearchOptions:
    """The search's own options; the training keys it does not search come as a config."""

    tuner: str = option("random", "keras-tuner oracle (default random)", TUNERS)
    max_trials: int = option(10, "trials to run (hyperband: set by --epochs instead)")
    final_epochs: int | None = option(None, "epochs in best_config.json (default: the "
                                            "recipe's)")
    space: str | None = option(None, "YAML/JSON file overriding the default search space")
    max_params: int | None = option(None, "never propose a model above this size")
