"""This CPU as Linux describes it in /proc/cpuinfo: its fields and instruction-set flags, for
the kernels' choices (which convolutions win with Winograd) and for naming where a figure was
measured. Empty where the file does not exist (macOS, Windows)."""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpuinfo(path: Path = CPUINFO) -> dict[str, str]:
    """The first processor's fields, keys lower-cased (the other processors repeat them)."""
    fields: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    return fields


def cpu_flags(path: Path = CPUINFO) -> set[str]:
    """The instruction-set flags (x86's ``flags``, ARM's ``Features``)."""
    fields = cpuinfo(path)
    return set((fields.get("flags") or fields.get("features") or "").split())
