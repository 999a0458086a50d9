"""Analysis of trained networks: residual blocks deleted at test time (the lesion study)."""

from keras_wrn.analysis.graph import residual_blocks, without_blocks
from keras_wrn.analysis.lesion import cheapest_blocks, lesion, plot

__all__ = ["cheapest_blocks", "lesion", "plot", "residual_blocks", "without_blocks"]
