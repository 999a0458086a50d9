"""Custom Keras 3 layers of keras_wrn; importing a layer's module registers it for
`keras.models.load_model` (:func:`register` imports them all). The package imports Keras only
when a layer is first used, so flags that list ``DROP_MODES`` parse without it."""

from __future__ import annotations

import importlib

from keras_wrn.core import lazy
from keras_wrn.layers.modes import DROP_MODES

_MODULES = {"ChannelZeroPad": "keras_wrn.layers.channel_pad",
            "SeparatedStochasticDepth": "keras_wrn.layers.stochastic_depth",
            "StochasticDepth": "keras_wrn.layers.stochastic_depth",
            "StochasticResidual": "keras_wrn.layers.stochastic_depth"}
__getattr__, __dir__ = lazy.attach(__name__, _MODULES)
__all__ = ["DROP_MODES", "ChannelZeroPad", "SeparatedStochasticDepth", "StochasticDepth",
           "StochasticResidual", "register"]


def register() -> None:
    """Registers every keras_wrn layer with Keras, so a saved model loads without
    ``custom_objects`` (imports Keras)."""
    for module in sorted(set(_MODULES.values())):
        importlib.import_module(module)
