"""Shared by the apps: run from a source checkout (`python apps/train.py`) without installing
keras_wrn, and stop with a one-line error."""

import functools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Before any app imports TensorFlow: its oneDNN CPU kernels, which TensorFlow 2.21 leaves off on
# some x86 CPUs unless asked (ResNet-20's training step: 150 -> 236 images/s on an AVX2 EPYC,
# BENCHMARKS.md). An application's choice, so the library itself never sets it; a value the
# user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# Seconds an app has to stop after SIGTERM or Ctrl-C before it exits at once, stuck or not
# (train.py's run takes --stop-grace).
STOP_GRACE = 60.0
# Optional dependencies (setup.cfg's extras), by the module an app found missing.
EXTRAS = {"keras_tuner": "tune", "sklearn": "tune", "tensorboard": "tune",
          "tensorflow_model_optimization": "optimize", "tf_keras": "optimize",
          "ai_edge_litert": "litert", "torch": "convert", "matplotlib": "analysis",
          "onnxruntime": "onnx"}


# The stop signals the running app (guarded) received: what ended it, when fail() is reached
# after code on the way swallowed one.
_RUNNING = []


def fail(message: str, code: int = 2) -> None:
    """Prints ``error: message`` on stderr and exits (status 2: bad input); after a stop
    signal, raises that instead."""
    for stops in _RUNNING:
        stops.check()
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def guarded(main):
    """An app's ``main``: Ctrl-C exits 130 and SIGTERM 143, even when code on the way swallowed
    the signal, and within ``STOP_GRACE`` seconds even when stuck inside TensorFlow; a path the
    system refuses (permissions, a full or read-only disk) and an optional dependency not
    installed exit 2; each with one line on stderr instead of a traceback."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> None:
        # Imports TensorFlow (keras_wrn's __init__) before the arguments are parsed.
        from keras_wrn.core.interrupts import LINES, StopSignals, exit_code, stopped_by
        from keras_wrn.core.watchdog import Watchdog

        def stop(signum: int) -> None:
            print(LINES[signum], file=sys.stderr)
            raise SystemExit(exit_code(signum)) from None

        with StopSignals() as stops, Watchdog(STOP_GRACE, LINES.get):
            _RUNNING.append(stops)
            try:
                _one_line_errors(main, argv)
            except BaseException as err:
                signum = stopped_by(err) or stops.received
                if signum is None:
                    raise
                stop(signum)
            finally:
                _RUNNING.remove(stops)
            if stops.received is not None:  # swallowed on the way, and main went on
                stop(stops.received)

    return run


def _one_line_errors(main, argv: list[str] | None) -> None:
    """Runs ``main``, a missing optional dependency or a refused path as one line, exit 2."""
    try:
        main(argv)
    except ModuleNotFoundError as err:
        root = (err.name or "").split(".")[0]
        if root not in EXTRAS:
            raise
        fail(f"this needs {root}, which is not installed: pip install "
             f"'keras_wrn[{EXTRAS[root]}]' (or pip install -r requirements.txt).")
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        fail(f"cannot use{where}: {err.strerror or err}; check the path and its "
             f"permissions.")


def add_evaluation_flags(parser, model_help: str) -> None:
    """The flags of a trained model and the data to measure it on (evaluate, lesion)."""
    parser.add_argument("--model", required=True, help=model_help)
    parser.add_argument("--data-dir", help="image folder, one sub-folder per class")
    parser.add_argument("--dataset", help="TFDS name or 'synthetic'")
    parser.add_argument("--tfds-data-dir", help="folder with prepared TFDS datasets")


def load_evaluation(args, needs_keras: str | None = None):
    """(model, source, unbatched examples) for :func:`add_evaluation_flags`' flags, the model a
    keras_wrn.inference.LoadedModel of any kind, or a one-line error; unreadable images are
    counted in a warning. ``needs_keras``: what the app does that needs the Keras model (an
    export is refused with one line that says so)."""
    from keras_wrn.data import DataError
    from keras_wrn.inference import KINDS, load_model
    from keras_wrn.training.runs import evaluation_data

    try:
        model = load_model(args.model, ("keras",) if needs_keras else tuple(KINDS),
                           needs_keras or "")
        source, examples = evaluation_data(model, args.data_dir, args.dataset,
                                           args.tfds_data_dir)
    except (DataError, ValueError) as err:
        fail(str(err))
    if source.skipped:
        print(f"warning: skipped {source.skipped} unreadable images", file=sys.stderr)
    return model, source, examples


def decode_image_file(path: str):
    """The image at ``path`` as a uint8 [H, W, 3] tensor, or a one-line error naming it."""
    import tensorflow as tf

    if not Path(path).is_file():
        fail(f"no image at {path}.")
    try:
        return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except tf.errors.OpError:
        fail(f"cannot decode image {path}; pass JPEG, PNG, BMP or GIF files.")
