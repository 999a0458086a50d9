"""Custom Keras 3 layers of keras_wrn; importing registers them for `keras.models.load_model`."""

from keras_wrn.layers.channel_pad import ChannelZeroPad
from keras_wrn.layers.stochastic_depth import (
    DROP_MODES,
    SeparatedStochasticDepth,
    StochasticDepth,
    StochasticResidual,
)

__all__ = ["DROP_MODES", "ChannelZeroPad", "SeparatedStochasticDepth", "StochasticDepth",
           "StochasticResidual"]
