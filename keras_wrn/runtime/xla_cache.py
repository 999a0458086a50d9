"""XLA's persistent compilation cache for the fused CPU step: the clusters a run compiles are
written to a folder, and a later run of the same model, batch and precision loads them instead
of compiling again (a fused ResNet-20 run: 47.8 -> 26.0 s, docs/performance.md).

One folder per TensorFlow version, CPU and ``XLA_FLAGS``: an entry holds machine code for the
CPU that compiled it, built with the options of that run, and TensorFlow's key names neither;
a home folder is often shared by the machines of a cluster. TensorFlow writes each entry to a
temporary file and renames it, but fails the run on an entry it cannot read (or a folder it
cannot write) instead of compiling again, so :func:`prepare` checks both before TensorFlow
starts.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from keras_wrn.runtime.plan import PlanError

AUTO, OFF = "auto", "off"
CACHE_FLAG = "--tf_xla_persistent_cache_directory"
ENTRY_GLOB = "xla_compile_cache__*.pb"
# XlaSerializedCacheEntry's fields (tensorflow/compiler/jit/xla_compilation_cache.proto): the
# key, the HLO module and the executable.
ENTRY_FIELDS = {1, 2, 3}
EXECUTABLE_FIELD = 3
# A temporary file of a run killed while writing an entry, once no run can still be writing it.
STALE_TEMPORARY_S = 3600


def folder_key() -> str:
    """A short hash of what makes a compiled cluster unfit for another machine or run: this
    CPU's model and instruction-set flags (Linux's /proc/cpuinfo; elsewhere only the machine
    and processor names) and ``XLA_FLAGS``."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = ("model name", "flags", "cpu family", "model\t", "Features", "CPU implementer",
              "CPU part")
    fields = sorted({line.strip() for line in lines if line.startswith(wanted)})
    cpu = "\n".join(fields) or f"{platform.machine()} {platform.processor()}"
    text = f"{cpu}\nXLA_FLAGS={os.environ.get('XLA_FLAGS', '')}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/keras_wrn/xla/tf-VERSION-KEY`` (``~/.cache`` without the
    variable)."""
    import tensorflow as tf

    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "keras_wrn" / "xla" / f"tf-{tf.version.VERSION}-{folder_key()}"


def resolve_folder(setting: str) -> Path | None:
    """The folder for ``--xla-cache`` (``auto``: :func:`default_folder`; ``off``: none)."""
    if setting == OFF:
        return None
    return default_folder() if setting == AUTO else Path(setting).expanduser().absolute()


def users_folder() -> Path | None:
    """The cache folder ``TF_XLA_FLAGS`` names already, if any."""
    for flag in os.environ.get("TF_XLA_FLAGS", "").split():
        name, _, value = flag.partition("=")
        if name == CACHE_FLAG and value:
            return Path(value)
    return None


def damaged(entry: Path) -> bool:
    """Whether TensorFlow would fail to load ``entry``: not a whole protocol buffer (cut short,
    overwritten, empty), or without its key, HLO module or executable (cut between fields).
    Read as ``google.protobuf.Empty``, which keeps the fields it does not know."""
    from google.protobuf import empty_pb2, unknown_fields
    from google.protobuf.message import DecodeError

    message = empty_pb2.Empty()
    try:
        message.ParseFromString(entry.read_bytes())
    except DecodeError:
        return True
    fields = {field.field_number: field.data
              for field in unknown_fields.UnknownFieldSet(message)}
    return not fields.keys() >= ENTRY_FIELDS or not fields[EXECUTABLE_FIELD]


def prepare(folder: Path) -> list[Path]:
    """Creates ``folder``, checks that files can be written there, and removes its damaged
    entries and stale temporary files; returns the entries removed. OSError if the folder
    cannot be made or written, or an entry cannot be read or removed."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".keras_wrn-probe-"):
        pass
    removed = []
    for entry in sorted(folder.glob(ENTRY_GLOB)):
        try:
            if damaged(entry):
                entry.unlink()
                removed.append(entry)
        except FileNotFoundError:  # replaced or removed by another run meanwhile
            continue
    for temporary in folder.glob("*.tmp"):
        try:
            if time.time() - temporary.stat().st_mtime > STALE_TEMPORARY_S:
                temporary.unlink()
        except FileNotFoundError:
            continue
    return removed


def open_cache(setting: str, warn: Callable[[str], None]) -> Path | None:
    """The folder a fused run keeps its clusters in: ``--xla-cache``'s, prepared, or the one
    the user's ``TF_XLA_FLAGS`` names (left as it is); None when off. A folder that cannot be
    used is PlanError when asked for, a warning when it is the default (the run then compiles
    as without a cache)."""
    if (own := users_folder()) is not None:
        return own
    folder = resolve_folder(setting)
    if folder is None:
        return None
    try:
        if any(character.isspace() for character in str(folder)):
            # TF_XLA_FLAGS is split at spaces: TensorFlow would take another folder.
            raise OSError("its path has a space, which TF_XLA_FLAGS cannot carry")
        removed = prepare(folder)
    except OSError as error:
        reason = error.strerror or str(error)
        if setting != AUTO:
            raise PlanError(f"--xla-cache {setting}: cannot use that folder ({reason}); pass "
                            "another one, or --xla-cache off.") from None
        warn(f"warning: XLA cache off: cannot use {folder} ({reason}); --xla-cache DIR puts "
             "it elsewhere.")
        return None
    if removed:
        warn(f"warning: removed {len(removed)} damaged XLA cache entries from {folder}; their "
             "clusters are compiled again.")
    return folder
