"""SavedModel for TF Serving, with signatures that do their own preprocessing.

* ``serving_default``: ``images`` uint8 [batch, H, W, 3] RGB.
* ``serve_float``: ``images`` float32 [batch, H, W, 3] in 0-255.
* ``serve_bytes``: ``image_bytes`` string [batch] of encoded JPEG/PNG/BMP/GIF (TF Serving's REST
  ``{"b64": ...}`` form: inputs whose name ends in ``_bytes`` are base64-decoded by the server),
  decoded and resized inside.

Each returns ``probabilities`` [batch, classes], ``classes`` (top-k ids), ``scores`` (top-k
probabilities) and ``labels`` (top-k class names). The class names are stored in the graph and
as ``assets/labels.txt``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from keras_wrn.core import lazy
from keras_wrn.export.formats import Format, Job, dir_size, measure, register
from keras_wrn.export.layout import publish, staging_dir

keras = lazy.module("keras")
tf = lazy.module("tensorflow")

TOP_K = 5


def _outputs(model: keras.Model, images: tf.Tensor, class_names: tf.Tensor, k: int) -> dict:
    logits = tf.cast(model(tf.cast(images, tf.float32), training=False), tf.float32)
    probabilities = tf.nn.softmax(logits)
    scores, classes = tf.math.top_k(probabilities, k=k)
    return {"probabilities": probabilities, "classes": classes, "scores": scores,
            "labels": tf.gather(class_names, classes)}


def decode_and_resize(image_bytes: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Encoded images -> float32 [batch, height, width, 3] in 0-255 (bilinear, antialiased)."""

    def one(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        return tf.image.resize(image, (height, width), antialias=True)

    return tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec([height, width, 3],
                                                                         tf.float32))


def export_saved_model(model: keras.Model, class_names: list[str], path: Path) -> Path:
    """Writes the SavedModel to ``path`` (a new version directory) atomically."""
    tmp = staging_dir(path)
    try:
        write_saved_model(model, class_names, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return publish(tmp, path)


def write_saved_model(model: keras.Model, class_names: list[str], path: Path) -> None:
    """Writes the SavedModel, its signatures and ``assets/labels.txt`` to the folder ``path``."""
    height, width = model.input_shape[1:3]
    k = min(TOP_K, len(class_names))
    names = tf.constant(class_names)
    archive = keras.export.ExportArchive()
    archive.track(model)

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.uint8, "images")])
    def serving_default(images):
        return _outputs(model, images, names, k)

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, "images")])
    def serve_float(images):
        return _outputs(model, images, names, k)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, "image_bytes")])
    def serve_bytes(image_bytes):
        return _outputs(model, decode_and_resize(image_bytes, height, width), names, k)

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("serve_float", serve_float)
    archive.add_endpoint("serve_bytes", serve_bytes)
    archive.write_out(str(path), verbose=False)
    (path / "assets").mkdir(exist_ok=True)
    (path / "assets" / "labels.txt").write_text("\n".join(class_names) + "\n")


def _write(job: Job, folder: Path) -> list[str]:
    write_saved_model(job.model, job.class_names, folder)
    job.log(f"saved_model: {dir_size(folder):,} bytes")
    return ["saved_model.pb"]


def _measure(job: Job, folder: Path, final: Path) -> list[dict[str, Any]]:
    """Size; with evaluation images, top-1 and agreement through ``serve_float`` and its
    batch-1 latency."""
    row = {"format": "saved_model", "path": str(final), "size_bytes": dir_size(folder)}
    if job.reference is None:
        return [row]
    serve = tf.saved_model.load(str(folder)).signatures["serve_float"]
    images = job.data.eval_images
    probabilities = np.concatenate([
        serve(images=tf.constant(images[i:i + 100]))["probabilities"].numpy()
        for i in range(0, len(images), 100)])
    row.update(measure("saved_model", np.log(probabilities + 1e-12), job.reference,
                       job.data.eval_labels))
    one = tf.constant(job.sample[None])
    serve(images=one)
    start = time.perf_counter()
    for _ in range(20):
        serve(images=one)
    row["latency_ms"] = (time.perf_counter() - start) / 20 * 1000
    return [row]


register(Format(
    name="saved_model", rank=0, folder="", write=_write, measure=_measure,
    help="TF Serving's SavedModel (EXPORT_DIR/NAME/VERSION) with uint8, float and encoded-image "
         "signatures"))
