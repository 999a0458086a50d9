"""Where exports go: ``EXPORT_DIR/NAME/VERSION/`` is a SavedModel (so ``EXPORT_DIR/NAME`` is a
TF Serving model base path as it is), ``EXPORT_DIR/NAME/tflite/VERSION/`` holds the TFLite files
and ``EXPORT_DIR/NAME/report.json`` the measurements of the latest export. Versions are integers
and never overwritten; every directory is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class ExportError(ValueError):
    """An export cannot be made; the message is one line that names the fix."""


def existing_versions(base: Path) -> list[int]:
    """Integer versions already exported under ``base`` (SavedModels or TFLite)."""
    found = set()
    for folder in (base, base / "tflite"):
        if folder.is_dir():
            found.update(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    return sorted(found)


def next_version(base: Path, requested: int | None = None) -> int:
    """``requested`` if it is free, else the next integer after the existing versions."""
    versions = existing_versions(base)
    if requested is None:
        return (versions[-1] + 1) if versions else 1
    if requested < 1:
        raise ExportError(f"--version must be a positive integer, got {requested}.")
    if requested in versions:
        raise ExportError(f"version {requested} of {base.name} already exists in {base.parent}; "
                          f"leave --version out to export version {versions[-1] + 1}.")
    return requested


def publish(tmp: Path, final: Path) -> Path:
    """Renames a finished temporary directory into place (atomic on one file system)."""
    if final.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"{final} appeared while exporting; export again for a new version.")
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(tmp, final)
    return final


def staging_dir(final: Path) -> Path:
    """A fresh temporary directory beside ``final``."""
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    return tmp
