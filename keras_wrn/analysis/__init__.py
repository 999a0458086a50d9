"""Analysis of trained networks: residual blocks deleted at test time (the lesion study)."""

from keras_wrn.analysis.graph import residual_blocks, without_blocks
from keras_wrn.analysis.lesion import lesion, plot

__all__ = ["lesion", "plot", "residual_blocks", "without_blocks"]
