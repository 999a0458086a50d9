"""Where decoded or encoded examples are kept (`--cache auto|memory|disk:PATH|none`): in memory
only when the estimate fits a budget (a quarter of the machine's memory by default), so CIFAR
keeps its in-memory speed and ImageNet streams from its files."""

from __future__ import annotations

import os
from pathlib import Path

from keras_wrn.data.source import DataError

CHOICES = "auto, memory, disk:PATH or none"


def default_budget() -> int:
    """A quarter of the physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4


def valid(spec: str) -> bool:
    """Whether ``spec`` is one of the choices."""
    return spec in ("auto", "memory", "none") or (spec.startswith("disk:") and len(spec) > 5)


def check(spec: str) -> None:
    """DataError (one line) unless ``spec`` is one of the choices."""
    if not valid(spec):
        raise DataError(f"--cache must be {CHOICES}, got {spec!r}.")


def disk_path(spec: str) -> Path | None:
    """The folder of ``disk:PATH``, else None."""
    return Path(spec[5:]) if spec.startswith("disk:") else None


def in_memory(spec: str, estimate: float, budget: int | None) -> bool:
    """Whether to hold the examples in memory: ``memory``, or ``auto`` when ``estimate`` bytes
    fit ``budget`` (None: :func:`default_budget`)."""
    check(spec)
    if spec == "auto":
        return estimate <= (default_budget() if budget is None else budget)
    return spec == "memory"
