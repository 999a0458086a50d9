"""Keeps optional libraries the apps never use out of a test process: ``import jax`` (and
IPython's, scikit-learn's) fails as if it were not installed.

JAX is installed for tests/test_backends.py, which runs it in a subprocess of its own.
TensorFlow imports it when it is installed (tensorflow.lite's optional ``from jax import
jit``), and Keras imports IPython and scikit-learn when they are (its .keras file editor, its
scikit-learn wrappers): together about 2.5 s of CPU in each process that imports TensorFlow,
which the suite starts some 60 times. JAX also registers exit handlers in every pytest-xdist
worker, whose shutdown (execnet sends a worker still running 5 s after the end a SIGINT) could
interrupt them. tests/helpers.py's ``app_env`` puts this folder on PYTHONPATH, so that the apps
the tests start import it as their ``sitecustomize`` and block all three (keras-tuner's random
search, which the tuning runs use, needs none of them); tests/conftest.py blocks JAX alone in
the pytest processes, where keras-tuner's Bayesian oracle (scikit-learn) is tested. A finder,
not sys.modules["jax"] = None, which libraries that test ``"jax" in sys.modules`` would take for
an imported jax.

The tests' own scripts (``python -c``) exit as the apps do: with Python's objects frozen, so
that its last collections skip them (apps/_app.py).
"""

import atexit
import gc
import importlib.abc
import sys


class Blocked(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (tests/nojax: kept out of "
                                      "the tests' processes)", name=name)
        return None


def block(names: set[str]) -> None:
    """Makes importing ``names`` (top-level packages) fail from now on, unless imported."""
    names = {name for name in names if name not in sys.modules}
    if names and not any(isinstance(f, Blocked) for f in sys.meta_path):
        sys.meta_path.insert(0, Blocked(names))


# An app's process, started by the tests, imports this as its sitecustomize; the pytest processes
# as nojax.sitecustomize.
block({"jax", "jaxlib", *(("IPython", "sklearn") if __name__ == "sitecustomize" else ())})
if __name__ == "sitecustomize":
    atexit.register(gc.freeze)
