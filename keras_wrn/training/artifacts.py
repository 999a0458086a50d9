"""Writing outputs atomically: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras


def write_json(path: str | Path, obj: Any) -> None:
    """Writes JSON to a temporary file in the same folder, then renames it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def save_model(model: keras.Model, path: str | Path) -> None:
    """Saves a `.keras` file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(tmp)
    os.replace(tmp, path)
