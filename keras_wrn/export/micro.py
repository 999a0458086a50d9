"""TensorFlow Lite for Microcontrollers: whether an int8 model runs under its interpreter (the
``tflite-micro`` package, an extra, imported here only), the smallest tensor arena it needs, its
logits against LiteRT's, and the C source a firmware compiles the model from.

TFLite Micro has no kernel for some builtin ops (TOPK_V2, DENSIFY...) and runs neither hybrid
(dynamic-range) nor float16-weight models; its interpreter says which op failed, and that op
is named in a one-line ExportError."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from keras_wrn.export.layout import ExportError

# Arena sizes are searched to this granularity (TFLite Micro aligns its buffers to 16 bytes).
ARENA_STEP = 16
ARENA_LIMIT = 1 << 30


@contextlib.contextmanager
def _captured_output() -> Iterator[list[str]]:
    """Captures what C++ code prints to file descriptors 1 and 2 (TFLite Micro's MicroPrintf)
    into the list it yields, as one string once the block ends."""
    captured: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))


def _interpreter_class():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ModuleNotFoundError:
        raise ExportError("the tflite_micro check needs the tflite-micro package; "
                          "pip install 'keras_wrn[micro]'.") from None
    return runtime.Interpreter


def available() -> bool:
    """Whether the tflite-micro package is installed."""
    try:
        _interpreter_class()
    except ExportError:
        return False
    return True


def _why(output: str) -> str:
    """The first line of TFLite Micro's own diagnostics that names the cause."""
    missing = re.search(r"Didn't find op for builtin opcode '(\w+)'", output)
    if missing:
        return f"TFLite Micro has no kernel for the {missing.group(1)} op"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[0][:200] if lines else "it does not say why"


def _open(content: bytes, arena: int) -> tuple[Any | None, str]:
    """The interpreter with ``arena`` bytes, or None and TFLite Micro's diagnostics."""
    interpreter_class = _interpreter_class()
    with _captured_output() as output:
        try:
            return interpreter_class.from_bytes(content, arena_size=arena), ""
        except RuntimeError:
            pass
    return None, output[0]


def _too_small(output: str) -> bool:
    return "Failed to allocate" in output or "Failed to resize buffer" in output \
        or "missing:" in output


def arena_size(content: bytes, fmt: str = "tflite_micro") -> int:
    """The smallest tensor arena (bytes, a multiple of ARENA_STEP) the model allocates in;
    ExportError naming the cause if it does not run under TFLite Micro at any size."""
    high = 1 << 16
    while True:
        interpreter, output = _open(content, high)
        if interpreter is not None:
            break
        if not _too_small(output) or high >= ARENA_LIMIT:
            raise ExportError(f"{fmt} does not run under TFLite Micro: {_why(output)}; a "
                              f"microcontroller needs a full-integer model of the ops TFLite "
                              f"Micro implements (tflite_micro, tflite_int8).")
        high *= 2
    low = 0  # too small (or untried); both stay multiples of ARENA_STEP
    while high - low > ARENA_STEP:
        middle = (low + high) // 2 // ARENA_STEP * ARENA_STEP
        if _open(content, middle)[0] is not None:
            high = middle
        else:
            low = middle
    return high


class MicroModel:
    """A .tflite model under the TFLite Micro interpreter (batch 1, as on a device), taking float
    0-255 images and giving float logits whatever its I/O types."""

    def __init__(self, content: bytes, arena: int):
        interpreter, output = _open(content, arena)
        if interpreter is None:
            raise ExportError(f"TFLite Micro cannot run the model in {arena} bytes: "
                              f"{_why(output)}.")
        self.content = content  # the interpreter reads the flatbuffer in place
        self.interpreter = interpreter
        self.input = interpreter.get_input_details(0)
        self.output = interpreter.get_output_details(0)

    @staticmethod
    def _params(details: dict) -> tuple[float, int]:
        quantization = details["quantization_parameters"]
        return float(quantization["scales"][0]), int(quantization["zero_points"][0])

    def raw(self, image: np.ndarray) -> np.ndarray:
        """The output tensor as the model gives it (int8 for int8 output) for one image."""
        dtype = self.input["dtype"]
        if dtype == np.float32:
            value = image[None].astype(np.float32)
        else:
            scale, zero = self._params(self.input)
            info = np.iinfo(dtype)
            value = np.clip(np.round(image[None] / scale + zero), info.min,
                            info.max).astype(dtype)
        self.interpreter.set_input(value, 0)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_output(0))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Float logits for float32 0-255 images [N, H, W, 3], one image at a time."""
        outputs = [self.raw(image) for image in images]
        values = np.concatenate(outputs).astype(np.float32)
        if self.output["dtype"] == np.float32:
            return values
        scale, zero = self._params(self.output)
        return (values - zero) * scale

    @property
    def output_step(self) -> float | None:
        """The output quantization step of an int8-output model (None for float output)."""
        return None if self.output["dtype"] == np.float32 else self._params(self.output)[0]


def check(content: bytes, images: np.ndarray, litert_logits: np.ndarray, fmt: str,
          arena: int | None = None) -> dict[str, Any]:
    """The report's ``micro`` entry: the arena the model needs (searched unless given) and, on
    ``images``, TFLite Micro's top-1 agreement with LiteRT and their largest logit difference
    (in int8 output steps when the output is int8)."""
    arena = arena or arena_size(content, fmt)
    row: dict[str, Any] = {"runs": True, "arena_bytes": arena, "examples": len(images)}
    if len(images):
        runner = MicroModel(content, arena)
        logits = runner.predict(images)
        row["agreement_with_litert"] = float((logits.argmax(-1)
                                              == litert_logits.argmax(-1)).mean())
        difference = float(np.abs(logits - litert_logits).max())
        step = runner.output_step
        row["max_logit_difference"] = round(difference / step, 2) if step else difference
        row["difference_unit"] = "int8 output steps" if step else "logit"
    return row


def c_header(content: bytes, name: str, arena: int, ops: list[str]) -> str:
    """The model as a C++ header a firmware includes (in one source file): the flatbuffer as an
    aligned byte array, the arena size found, and the op resolver registrations it needs."""
    symbol = re.sub(r"\W", "_", name)
    symbol = f"model_{symbol}" if symbol[0].isdigit() else symbol
    registrations = "\n".join(f"//   resolver.Add{_resolver_name(op)}();"
                              for op in sorted(set(ops)))
    rows = [", ".join(f"0x{byte:02x}" for byte in content[i:i + 16])
            for i in range(0, len(content), 16)]
    body = ",\n  ".join(rows)
    return (f"// {name}: written by keras_wrn's export. TFLite Micro needs a tensor arena of at\n"
            f"// least {symbol}_arena_size bytes (measured with the tflite-micro interpreter)\n"
            f"// and these registrations in a MicroMutableOpResolver<{len(set(ops))}>:\n"
            f"{registrations}\n"
            f"#pragma once\n#include <cstddef>\n\n"
            f"alignas(16) static const unsigned char {symbol}_model[] = {{\n  {body}\n}};\n"
            f"static const unsigned int {symbol}_model_len = {len(content)};\n"
            f"constexpr std::size_t {symbol}_arena_size = {arena};\n")


def _resolver_name(op: str) -> str:
    """TFLite Micro's resolver method for a builtin op: CONV_2D -> Conv2D."""
    return "".join(part if part[:1].isdigit() else part.capitalize() for part in op.split("_"))
