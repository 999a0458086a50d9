"""Pictures written as PNG files: matplotlib (the ``analysis`` extra) imported only when one is
drawn, its file-only Agg backend, no pyplot state; each file written whole (a temporary name
renamed into place), so a viewer refreshing it never shows half a picture."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure of ``width`` x ``height`` inches; ModuleNotFoundError without
    matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Any, path: str | Path, dpi: int = 110) -> None:
    """Writes ``figure`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        figure.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
