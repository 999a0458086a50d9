"""SIGTERM, then kill -9 at 6 random points of a short run, some of them inside a checkpoint
write, each time running the same command again: the run finishes, with every epoch in its
history, and under --deterministic its final weights equal an uninterrupted run's bit for bit.
The run streams TFRecord shards through a shuffle buffer with ImageNet-style random crops, the
hardest data to resume at the same position (a streamed folder skips as test_streaming's
resumed-epoch test shows, in-memory examples as test_data's). The uninterrupted run takes 3
steps per host call (loops of 3, 1 and 2, cut at its checkpoint every 4 steps and at the
epoch's end), the interrupted one 1: the loop changes nothing either. A run whose input
pipeline hangs exits within --stop-grace of SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import (
    ROOT,
    TINY,
    TINY_MODEL,
    app_command,
    app_env,
    call_app,
    history,
    run_app,
    write_image_folder,
)

import keras_wrn  # noqa: F401  (registers the custom layers for loading)

# Read from the test's TFRecord shards (--data-dir, added by the test).
ARGS = [*TINY_MODEL, "--image-size", "24", "--augmentation", "imagenet", "--batch-size", "8",
        "--epochs", "2", "--steps-per-epoch", "6", "--checkpoint-steps", "1", "--deterministic"]
KILLS = 6


def _writing_checkpoint(checkpoints: Path, since_ns: int) -> bool:
    """TensorFlow writes a checkpoint's shards under ``ckpt-N_temp`` before merging them, and
    the folder's state file as ``checkpoint.tmp...`` before renaming it. Only entries changed
    since ``since_ns`` count: a write killed earlier leaves its own until the next run starts."""
    try:
        return any((p.name.endswith("_temp") or p.name.startswith("checkpoint.tmp"))
                   and p.stat().st_mtime_ns >= since_ns for p in checkpoints.iterdir())
    except FileNotFoundError:
        return False


def _signalled_life(args: list, out: Path, seconds: float, until=lambda since_ns: False,
                    signum: int = signal.SIGKILL) -> tuple[int, str, str, bool]:
    """Runs the command until ``seconds`` have passed or ``until(launch time)`` holds, then
    sends ``signum``; returns its exit code, stdout, stderr and whether ``until()`` held."""
    launched = time.time_ns()
    process = subprocess.Popen(app_command("train.py", *args, "--output-dir", out),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=app_env())
    deadline = time.monotonic() + seconds
    held = False
    while process.poll() is None and time.monotonic() < deadline and not held:
        held = until(launched)
        time.sleep(0 if held else 0.002)
    if process.poll() is None:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr, held


def _weights(path: Path) -> list[np.ndarray]:
    return [np.asarray(w) for w in keras.models.load_model(path).weights]


@pytest.mark.slow
def test_kill_9_at_6_points_then_rerun_ends_with_the_uninterrupted_weights(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=20, size=40)
    call_app("make_tfrecords.py", "--data-dir", root, "--output", tmp_path / "records",
             "--shards", "3")
    args = [*ARGS, "--data-dir", tmp_path / "records"]
    began = time.monotonic()
    run_app("train.py", *args, "--checkpoint-steps", "4", "--steps-per-loop", "3",
            "--output-dir", tmp_path / "reference")
    whole = time.monotonic() - began
    rng = np.random.default_rng(20)
    out = tmp_path / "killed"
    checkpoints = out / "checkpoints"
    # SIGTERM (a scheduler's preemption) after the second step: saves, exits 42, one line.
    code, _, stderr, _ = _signalled_life(
        args, out, 300, lambda _: len(list(checkpoints.glob("*.index"))) >= 2, signal.SIGTERM)
    assert code == 42 and "SIGTERM: checkpoint saved at epoch 1 step" in stderr, stderr[-2000:]
    assert "Traceback" not in stderr
    mid_run, mid_epoch, on_write = 0, 0, 0
    for kill in range(KILLS):
        # Every other kill waits for a checkpoint write, the rest land anywhere from start-up
        # (imports, the lock, restoring) to the last step.
        write = kill % 2 == 1
        unfinished = not (out / "model.keras").exists()
        seconds = rng.uniform(0.15, 0.7) * whole
        code, stdout, _, writing = _signalled_life(
            args, out, 3 * whole if write else seconds,
            (lambda since: _writing_checkpoint(checkpoints, since)) if write
            else (lambda _: False))
        mid_run += unfinished and code == -9
        mid_epoch += re.search(r"resuming at epoch \d+ step [1-9]", stdout) is not None
        on_write += unfinished and writing and code == -9
    final = run_app("train.py", *args, "--output-dir", out)
    assert mid_run >= 4 and on_write >= 2 and mid_epoch >= 1, (mid_run, on_write, mid_epoch)
    assert "summary: " in final.stdout
    # What the killed writes left is gone, and nothing else.
    assert not [p.name for p in checkpoints.iterdir()
                if p.name.endswith("_temp") or p.name.startswith("checkpoint.tmp")]
    assert [r["epoch"] for r in history(out)] == [1, 2]
    # The history is complete: each epoch's loss covers all its steps, across the kills. (A loop
    # sums its steps' losses in float32 on the device, the host in float64.)
    reference = history(tmp_path / "reference")
    run = json.loads((tmp_path / "reference" / "run.json").read_text())
    assert run["runtime"]["steps_per_loop"] == 3
    assert json.loads((out / "config.json").read_text())["runtime"]["deterministic"] is True
    for key in ("lr", "val_top1"):
        assert [r[key] for r in history(out)] == [r[key] for r in reference]
    for key in ("train_loss", "train_acc"):
        assert [r[key] for r in history(out)] == pytest.approx([r[key] for r in reference],
                                                               rel=1e-6)
    for got, want in zip(_weights(out / "model.keras"),
                         _weights(tmp_path / "reference" / "model.keras"), strict=True):
        np.testing.assert_array_equal(got, want)


# apps/train.py whose input pipeline yields two batches and then blocks forever, as on a hung
# file system: the main thread waits inside TensorFlow, where no Python signal handler runs.
STUCK_TRAIN = """
import os, runpy, sys, time
import tensorflow as tf
from keras_wrn.training import trainer

def wait(index):
    while index >= 2:
        time.sleep(3600)
    return index

def stuck(*args, **kwargs):
    batches = original(*args, **kwargs)
    gate = tf.data.Dataset.range(2**62).map(lambda i: tf.py_function(wait, [i], tf.int64))
    return tf.data.Dataset.zip((batches, gate)).map(lambda batch, _: batch)

original, trainer.train_dataset = trainer.train_dataset, stuck
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_run_stuck_in_its_input_pipeline_exits_within_the_stop_grace(signum, tmp_path):
    """The step never ends, so the run cannot save: --stop-grace after the signal, it exits
    (143 or 130) with one line naming the checkpoint a rerun resumes from."""
    out, grace = tmp_path / "run", 3
    command = app_command("train.py", *TINY, "--image-size", "16", "--epochs", "1",
                          "--steps-per-epoch", "6", "--checkpoint-steps", "1", "--stop-grace",
                          grace, "--output-dir", out)
    process = subprocess.Popen([command[0], "-c", STUCK_TRAIN, *command[1:]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=app_env(PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline \
            and not (out / "checkpoints" / "ckpt-2.index").exists():
        time.sleep(0.05)
    time.sleep(1)  # the third step is waiting for its batch
    signalled = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=grace + 60)
    finally:
        process.kill()  # still stuck: a failure, and no process left behind
    took = time.monotonic() - signalled
    assert process.returncode == 128 + signum, stderr[-2000:]
    assert grace <= took < grace + 20, took
    label = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    (line,) = [line for line in stderr.splitlines() if line.startswith(label)]
    assert line == (f"{label}: no training step ended within --stop-grace {grace} s; stopped "
                    f"without saving: the last checkpoint kept is epoch 1 step 2 "
                    f"({out / 'checkpoints' / 'ckpt-2'}); run the same command again to "
                    f"resume from it."), stderr[-2000:]
    assert "Traceback" not in stderr
