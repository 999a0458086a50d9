"""Where a figure was measured: the CPU's model and the SIMD extensions that decide int8 and
bf16 speed (int8 TFLite is ~3x fp32 with AVX-512 VNNI, ~1.1x with AVX2 alone), the cores and
the runtime versions. Read from /proc/cpuinfo on Linux, ``platform`` elsewhere."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

from keras_wrn.core.cpu import CPUINFO, cpu_flags, cpuinfo

# The extensions that change what a kernel can use, by the names /proc/cpuinfo gives them:
# x86 (AVX2/FMA, AVX-512 and its int8 / bf16 dot products, AMX) and ARM (NEON as asimd, its int8
# dot product asimddp, i8mm, bf16, SVE).
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
              "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "asimd", "asimddp", "i8mm",
              "bf16", "sve", "sve2")
RUNTIMES = ("tensorflow", "keras", "ai-edge-litert", "tflite-micro", "onnxruntime", "tf2onnx")


def cpu_info(path: Path = CPUINFO) -> dict[str, Any]:
    """Its name, family/model/stepping (x86) or implementer/part (ARM), the SIMD extensions of
    SIMD_FLAGS it has, and the cores this process may use."""
    fields = cpuinfo(path)
    flags = cpu_flags(path)
    info: dict[str, Any] = {
        "name": fields.get("model name") or platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "simd": [flag for flag in SIMD_FLAGS if flag in flags],
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }
    for key, name in (("cpu family", "family"), ("model", "model"), ("stepping", "stepping"),
                      ("cpu implementer", "implementer"), ("cpu part", "part")):
        if key in fields:
            info[name] = fields[key]
    return info


def runtime_versions() -> dict[str, str]:
    """Installed versions of the runtimes in RUNTIMES (those installed)."""
    versions = {"python": platform.python_version()}
    for name in RUNTIMES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def machine_info() -> dict[str, Any]:
    """The CPU and the runtime versions, for a report or a benchmark result."""
    return {"cpu": cpu_info(), "versions": runtime_versions()}
