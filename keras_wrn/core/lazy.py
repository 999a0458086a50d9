"""Imports put off until first use, so that an app's flags parse (and ``--help`` prints) before
TensorFlow and Keras load: a package's names resolved on access, and a module stand-in."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from typing import Any


def attach(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any],
                                                             Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``'s ``__init__``: each of ``names`` (a name ->
    the module that defines it) is imported on first access, so importing the package is
    cheap. A name a module defines under another spelling is ``"module:attribute"``; a
    subpackage's own name maps to itself (``"layers": "pkg.layers"``). A name that is also a
    submodule's (``analysis.lesion``) must not be attached: the submodule, once imported,
    would shadow it."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (a module-level __getattr__)
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where, _, attribute = names[name].partition(":")
        loaded = importlib.import_module(where)
        value = loaded if where == f"{package}.{name}" else getattr(loaded, attribute or name)
        globals_of(package)[name] = value  # later accesses skip this function
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*globals_of(package), *names})

    return __getattr__, __dir__


def globals_of(package: str) -> dict[str, Any]:
    """The namespace of an imported module (its ``__init__``'s globals for a package)."""
    return vars(importlib.import_module(package))


class LazyModule(types.ModuleType):
    """Stands for a module imported at the first attribute read (``keras = module("keras")``):
    module-level code that only names it in functions then loads without importing it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._real: types.ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute == "_real":
            raise AttributeError(attribute)
        if self._real is None:
            self._real = importlib.import_module(self.__name__)
        return getattr(self._real, attribute)


def module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first use (typed Any for callers)."""
    return LazyModule(name)
