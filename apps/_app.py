"""Shared by the apps: run from a source checkout (`python apps/train.py`) without installing
keras_wrn, and stop with a one-line error."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Before any app imports TensorFlow: its oneDNN kernels, as keras_wrn/__init__.py explains.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def fail(message: str, code: int = 2) -> None:
    """Prints ``error: message`` on stderr and exits (status 2: bad input)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)
