"""Where exports go: ``EXPORT_DIR/NAME/VERSION/`` is a SavedModel (so ``EXPORT_DIR/NAME`` is a
TF Serving model base path as it is), every other format's files are in its folder of versions
(``EXPORT_DIR/NAME/tflite/VERSION/``, ``EXPORT_DIR/NAME/onnx/VERSION/model.onnx``: a Triton
model folder's layout; each format's record names its folder) and
``EXPORT_DIR/NAME/report.json`` holds the measurements of the latest export. Versions are integers
and never overwritten; every directory is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from keras_wrn.export.formats import folders

NAME = re.compile(r"[A-Za-z0-9._-]+")


class ExportError(ValueError):
    """An export cannot be made; the message is one line that names the fix."""


def model_base(export_dir: str | Path, name: str) -> Path:
    """``EXPORT_DIR/NAME``, once ``name`` is one path component and nothing the export writes
    (the base, its ``tflite`` folder, its report) is a symlink that would lead it elsewhere."""
    if not NAME.fullmatch(name) or name in (".", ".."):
        raise ExportError(f"--name {name!r} must be one folder name of letters, digits, '.', "
                          f"'_' and '-' (not '.' or '..'); --export-dir says where it goes.")
    export_dir = Path(export_dir)
    if export_dir.exists() and not export_dir.is_dir():
        raise ExportError(f"--export-dir {export_dir} is a file; pass a directory.")
    base = export_dir / name
    beside = [base / folder for folder in folders()]
    for path in (base, *beside, base / "report.json"):
        if path.is_symlink():
            raise ExportError(f"{path} is a symlink; exports are written only inside "
                              f"--export-dir: remove it or pass another --name.")
    for path in (base, *beside):
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} is a file, not an export folder; remove it or pass "
                              f"another --name.")
    return base


def existing_versions(base: Path) -> list[int]:
    """Integer versions already exported under ``base`` (SavedModels, TFLite or ONNX)."""
    found = set()
    for folder in (base, *(base / name for name in folders())):
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
