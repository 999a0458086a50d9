"""Keeps JAX out of a test process: ``import jax`` fails as if it were not installed.

JAX is installed for tests/test_backends.py, which runs it in a subprocess of its own. TensorFlow
imports it when it is installed (tensorflow.lite's optional ``from jax import jit``), which costs
each process that imports TensorFlow most of a second of CPU, and registers JAX's exit handlers
in every pytest-xdist worker, whose shutdown (execnet sends a worker still running 5 s after the
end a SIGINT) could interrupt them. tests/conftest.py installs the finder in the pytest
processes; tests/helpers.py's ``app_env`` puts this folder on PYTHONPATH, so that the apps the
tests start import it as their ``sitecustomize``. A finder, not sys.modules["jax"] = None, which
libraries that test ``"jax" in sys.modules`` would take for an imported jax.
"""

import importlib.abc
import sys


class NoJax(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("jax", "jaxlib"):
            raise ModuleNotFoundError(f"No module named {name!r} (tests/nojax: JAX runs in "
                                      "tests/test_backends.py's subprocess only)", name=name)
        return None


if "jax" not in sys.modules and not any(isinstance(f, NoJax) for f in sys.meta_path):
    sys.meta_path.insert(0, NoJax())
