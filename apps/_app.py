"""Shared by the apps: run from a source checkout (`python apps/train.py`) without installing
keras_wrn, and stop with a one-line error."""

import argparse
import atexit
import contextlib
import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# Before any app imports TensorFlow: its oneDNN CPU kernels, which TensorFlow 2.21 leaves off on
# some x86 CPUs unless asked (ResNet-20's training step: 150 -> 236 images/s on an AVX2 EPYC,
# BENCHMARKS.md). An application's choice, so the library itself never sets it; a value the
# user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# TensorFlow's C++ log level when the user set none: 3 keeps its INFO/WARNING/ERROR lines (on a
# CPU machine, "failed call to cuInit") off the app's output. Read once, when TensorFlow loads.
QUIET_LOG_LEVEL = "3"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)

# Python's full garbage collections walk every object alive, TensorFlow's from its import
# included: at exit they took 2.2-2.6 s of every command on a Zen 3 EPYC (docs/performance.md).
# Frozen just before exit (and after TensorFlow's import: load_tensorflow_quietly), they are
# skipped; what the app wrote is flushed and closed before, and the system frees the memory.
atexit.register(gc.freeze)

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


def parse(build_parser: Callable[[], argparse.ArgumentParser],
          argv: list[str] | None = None) -> argparse.Namespace:
    """An app's flags parsed before TensorFlow loads (``--help`` and a bad flag answer at
    once; ``build_parser`` must not import it), then TensorFlow imported quietly."""
    args = build_parser().parse_args(argv)
    load_tensorflow_quietly()
    return args


def load_tensorflow_quietly() -> None:
    """Imports TensorFlow with its C++ log lines off unless the user set TF_CPP_MIN_LOG_LEVEL
    lower. The log level does not reach the lines TensorFlow prints while loading its CUDA
    stubs ("Could not find cuda drivers"), so at the quiet level and without an NVIDIA driver
    the import runs with the process's native stderr on /dev/null; Python's stays open."""
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    if "tensorflow" in sys.modules:  # main called in a process that loaded it already
        return
    from keras_wrn.runtime.devices import gpu_driver_present

    quiet = level == QUIET_LOG_LEVEL and not gpu_driver_present()
    # The import makes ~450,000 objects that live as long as the process, and Python's full
    # collections, which walk them all, ran 7 times during it: without them it takes ~2 s less
    # (docs/performance.md). Then frozen, later collections skip them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _native_stderr_closed() if quiet else contextlib.nullcontext():
            import tensorflow  # noqa: F401
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


@contextlib.contextmanager
def _native_stderr_closed() -> Iterator[None]:
    """File descriptor 2 on /dev/null for native code, while ``sys.stderr`` (Python's
    warnings and errors) writes to a copy of the real one."""
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, errors="backslashreplace",
                           closefd=True)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = python_stderr


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
        # torch is a test tool in requirements-dev.txt; the rest are in the runtime set.
        requirements = "requirements-dev.txt" if root == "torch" else "requirements.txt"
        fail(f"this needs {root}, which is not installed: pip install "
             f"'keras_wrn[{EXTRAS[root]}]' (or pip install -r {requirements}).")
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
