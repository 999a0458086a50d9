"""keras_wrn: ResNet, Wide ResNet, PyramidNet and PyramidSepDrop as Keras 3 functional models.

The names below load on first use, so importing a part of keras_wrn (an app's flags) does not
import TensorFlow; once Keras is imported, importing keras_wrn registers its layers."""

import sys

from keras_wrn.core import lazy

__version__ = "0.1.0"
_NAMES = {name: "keras_wrn.models.registry" for name in (
    "build_model", "check", "get_preset", "hyperparameters", "list_families", "list_models",
    "resolve")}
__getattr__, __dir__ = lazy.attach(__name__, {**_NAMES, "layers": "keras_wrn.layers"})
__all__ = ["build_model", "check", "get_preset", "hyperparameters", "layers", "list_families",
           "list_models", "resolve"]

if "keras" in sys.modules:  # loaded already: registering the layers costs nothing
    from keras_wrn import layers

    layers.register()
