"""Analysis of trained networks: residual blocks deleted at test time (the lesion study). The
names load on first use."""

from keras_wrn.core import lazy

__getattr__, __dir__ = lazy.attach(__name__, {
    "residual_blocks": "keras_wrn.analysis.graph", "without_blocks": "keras_wrn.analysis.graph",
    "cheapest_blocks": "keras_wrn.analysis.lesion", "lesion": "keras_wrn.analysis.lesion",
    "plot": "keras_wrn.analysis.lesion"})

__all__ = ["cheapest_blocks", "lesion", "plot", "residual_blocks", "without_blocks"]
