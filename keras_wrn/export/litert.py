"""Running TFLite models with the LiteRT interpreter: predictions (with int8 input/output
quantised and dequantised here) and batch-1 latency."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# "xnnpack": LiteRT's default CPU delegate; "builtin": its own (ruy / optimized) kernels only.
KERNELS = ("xnnpack", "builtin")


def median_latency_ms(call, runs: int = 50, warmup: int = 5) -> float:
    """Median wall time of ``call()`` over ``runs`` calls after ``warmup``, in milliseconds."""
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        call()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


class LiteRTModel:
    """A .tflite model taking float 0-255 images and giving float logits, whatever its I/O."""

    def __init__(self, model: str | Path | bytes, num_threads: int = 1, kernels: str = "xnnpack"):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, got {kernels!r}.")
        kwargs = ({"model_content": model} if isinstance(model, bytes)
                  else {"model_path": str(model)})
        self.num_threads = num_threads
        resolver = (OpResolverType.AUTO if kernels == "xnnpack"
                    else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.interpreter = Interpreter(num_threads=num_threads,
                                       experimental_op_resolver_type=resolver, **kwargs)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._batch = None

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            shape = [batch, *self.input["shape"][1:]]
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
            self._batch = batch

    def _quantize(self, images: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return images.astype(np.float32)
        scale, zero = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(images / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, values: np.ndarray) -> np.ndarray:
        if self.output["dtype"] == np.float32:
            return values
        scale, zero = self.output["quantization"]
        return (values.astype(np.float32) - zero) * scale

    def predict(self, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
        """Logits for float32 0-255 images [N, H, W, 3]."""
        outputs = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            self._resize(len(chunk))
            self.interpreter.set_tensor(self.input["index"], self._quantize(chunk))
            self.interpreter.invoke()
            outputs.append(self._dequantize(self.interpreter.get_tensor(self.output["index"])))
        return np.concatenate(outputs)

    def latency_ms(self, image: np.ndarray, runs: int = 50, warmup: int = 5) -> float:
        """Median wall time of one batch-1 inference, in milliseconds."""
        self._resize(1)
        self.interpreter.set_tensor(self.input["index"], self._quantize(image[None]))
        return median_latency_ms(self.interpreter.invoke, runs, warmup)
