"""Published PyTorch checkpoints into keras_wrn models: ``build_model(name, weights=PATH)``,
``apps/convert.py``. torch is imported only to read a file (the ``convert`` extra)."""

from keras_wrn.weights.convert import load_torch_state, to_torch_state, weighted_layers
from keras_wrn.weights.layouts import LAYOUTS, Layout, layout_for
from keras_wrn.weights.torch_files import WeightsError, read_state_dict

__all__ = ["LAYOUTS", "Layout", "WeightsError", "layout_for", "load_torch_state",
           "read_state_dict", "to_torch_state", "weighted_layers"]
