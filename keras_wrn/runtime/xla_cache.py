"""XLA's persistent compilation cache for the fused CPU step: the clusters a run compiles are
written to a folder, and a later run of the same model, batch and precision loads them instead
of compiling again (a fused ResNet-20 run: 47.8 -> 26.0 s, docs/performance.md).

One folder per TensorFlow version and CPU: an entry holds machine code for the CPU that compiled
it, and a home folder is often shared by machines of a cluster. TensorFlow writes each entry to
a temporary file and renames it, but fails the run on an entry it cannot read instead of
compiling it again, so :func:`prepare` removes entries that are not whole before TensorFlow
starts.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
from collections.abc import Callable
from pathlib import Path

AUTO, OFF = "auto", "off"
CACHE_FLAG = "--tf_xla_persistent_cache_directory"
ENTRY_GLOB = "xla_compile_cache__*.pb"


def cpu_key() -> str:
    """A short hash of this CPU's model and instruction-set flags (Linux's /proc/cpuinfo,
    else what the platform module reports)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = ("model name", "flags", "cpu family", "model\t", "Features", "CPU part")
    fields = sorted({line.strip() for line in lines if line.startswith(wanted)})
    text = "\n".join(fields) or f"{platform.machine()} {platform.processor()}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/keras_wrn/xla/tf-VERSION-CPUKEY`` (``~/.cache`` without the
    variable)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    version = importlib.metadata.version("tensorflow")
    return Path(root) / "keras_wrn" / "xla" / f"tf-{version}-{cpu_key()}"


def resolve_folder(setting: str) -> Path | None:
    """The folder for ``--xla-cache`` (``auto``: :func:`default_folder`; ``off``: none)."""
    if setting == OFF:
        return None
    return default_folder() if setting == AUTO else Path(setting).expanduser()


def damaged(entry: Path) -> bool:
    """Whether ``entry`` is empty or not a whole protocol buffer (cut short, overwritten): its
    wire format is checked, which any truncation inside a field breaks."""
    from google.protobuf import empty_pb2
    from google.protobuf.message import DecodeError

    data = entry.read_bytes()
    if not data:
        return True
    try:
        empty_pb2.Empty().ParseFromString(data)  # unknown fields are kept, only parsed
    except DecodeError:
        return True
    return False


def prepare(folder: Path) -> list[Path]:
    """Creates ``folder`` and removes its damaged entries, which TensorFlow would fail on;
    returns the ones removed. OSError if the folder cannot be made."""
    folder.mkdir(parents=True, exist_ok=True)
    removed = []
    for entry in sorted(folder.glob(ENTRY_GLOB)):
        try:
            if damaged(entry):
                entry.unlink()
                removed.append(entry)
        except FileNotFoundError:  # removed by another run meanwhile
            continue
    return removed


def open_cache(setting: str, warn: Callable[[str], None]) -> Path | None:
    """The prepared folder for ``--xla-cache``; None when it is off or ``TF_XLA_FLAGS`` names
    the user's own. A folder that cannot be made is PlanError when asked for, a warning when it
    is the default (the run compiles as without a cache)."""
    from keras_wrn.runtime.plan import PlanError

    folder = resolve_folder(setting)
    if folder is None or CACHE_FLAG in os.environ.get("TF_XLA_FLAGS", ""):
        return None
    try:
        removed = prepare(folder)
    except OSError as error:
        reason = error.strerror or str(error)
        if setting != AUTO:
            raise PlanError(f"--xla-cache {setting}: cannot make that folder ({reason}); pass "
                            "another one, or --xla-cache off.") from None
        warn(f"warning: XLA cache off: cannot make {folder} ({reason}); --xla-cache DIR puts "
             "it elsewhere.")
        return None
    if removed:
        warn(f"warning: removed {len(removed)} damaged XLA cache entries from {folder}; their "
             "clusters are compiled again.")
    return folder
