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
from pathlib import Path

import keras
import tensorflow as tf

from keras_wrn.export.layout import publish, staging_dir

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
