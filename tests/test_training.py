"""apps/train.py and apps/evaluate.py end to end: learning, outputs, distribution, resumption."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    ROOT,
    TINY,
    TINY_RUN_GROUP,
    app_env,
    call_app,
    error_line,
    history,
    run_app,
    summary,
    write_image_folder,
)

from keras_wrn.training import read_config_file, resolve_config
from keras_wrn.training.checkpoints import remove_unfinished_writes


@pytest.mark.slow
@pytest.mark.xdist_group(TINY_RUN_GROUP)
def test_quick_start_learns_and_writes_every_output(tiny_run):
    out, stdout = tiny_run
    final = summary(stdout)
    assert final["val_top1"] > 0.6  # chance is 0.1
    for name in ("model.keras", "history.json", "config.json", "run.json", "curves.png"):
        assert (out / name).is_file(), name
    assert list((out / "logs").glob("events.out.tfevents.*"))
    records = history(out)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert {"train_loss", "train_acc", "val_loss", "val_top1", "val_top5", "lr",
            "images_per_s"} <= set(records[0])
    # The first line names the validation data; then the runtime plan, also in run.json with
    # TensorFlow's build.
    first, second = stdout.splitlines()[:2]
    assert first == ("data: 2000 training images (in memory), validating on the synthetic "
                     "validation set "
                     "(the same patterns, other noise) (500 images)")
    assert second.startswith("runtime: CPU, one_device, 1 replica(s), fp32")
    # Each epoch's line is a line of its own (piped: no progress bar), then its summary.
    assert [line.split(":")[0] for line in stdout.splitlines() if line.startswith("epoch ")] \
        == ["epoch 1/3", "epoch 1", "epoch 2/3", "epoch 2", "epoch 3/3", "epoch 3"]
    assert "\r" not in stdout
    run = json.loads((out / "run.json").read_text())
    assert run["runtime"]["device"] == "cpu" and run["runtime"]["steps_per_loop"] == 1
    # In-memory CIFAR-size images are cropped and flipped inside the step, on CPUs too.
    assert run["device_augmentation"] and second.endswith(", CIFAR augmentation in the step")
    assert {"cuda_build", "cuda", "cudnn", "gpu_names"} <= set(run) and run["devices"]
    # The written config is complete and accepted back as a --config file.
    config = resolve_config({}, read_config_file(str(out / "config.json")))
    assert (config.model.arch, config.model.depth, config.recipe.epochs) == ("pyramidsepdrop", 8, 3)

    evaluated = run_app("evaluate.py", "--model", out, "--json")
    metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert set(metrics) == {"top1", "top5", "loss", "examples"}
    assert metrics["examples"] == 500
    assert metrics["top1"] == pytest.approx(records[-1]["val_top1"], abs=1e-6)


# A WRN wide enough for Winograd on 8x8 images with either CPU's rule (its 128- and
# 256-channel 3x3 convs), yet small.
MIRROR_ARGS = ["--arch", "wrn", "--depth", "10", "--widen-factor", "8", "--image-size", "8",
               "--dataset", "synthetic", "--recipe", "quick", "--epochs", "2",
               "--steps-per-epoch", "4", "--batch-size", "16", "--lr", "0.02",
               "--crop-padding", "0", "--no-flip"]


@pytest.mark.slow
def test_two_replica_mirrored_matches_one_device(tmp_path):
    """Also checks the plan's kernels: Winograd on under MirroredStrategy, off on the one
    device; the oneDNN batch-norm sums on the one device only (the replicas' batch norms are
    synchronized); XLA fusion off with two devices in one process."""
    one = call_app("train.py", *MIRROR_ARGS, "--strategy", "one_device", "--no-winograd",
                   "--output-dir", tmp_path / "one")
    two = run_app("train.py", *MIRROR_ARGS, "--strategy", "mirrored", "--cpu-devices", "2",
                  "--sync-bn", "on", "--output-dir", tmp_path / "two")
    assert "runtime: CPU, mirrored, 2 replica(s), fp32, batch norm synchronised, XLA off, " \
        "CPU kernels Winograd, oneDNN batch-norm sums, stochastic depth multiplies" in two.stdout
    assert "recipe quick, 2 conv(s) on Winograd, 0 batch norm(s) summing on oneDNN" \
        in two.stdout  # synchronized batch norms
    assert "runtime: CPU, one_device, 1 replica(s), fp32, XLA off, CPU kernels oneDNN " \
        "batch-norm sums," in one.stdout
    assert "0 conv(s) on Winograd, 7 batch norm(s) summing on oneDNN" in one.stdout
    a, b = history(tmp_path / "one"), history(tmp_path / "two")
    # Winograd's rounding grows with the width: WRN-10-8's second-epoch loss was 3.2e-3 apart
    # in the suite's environment (1.5e-5 from a shell), WRN-10-6's under 2e-3.
    np.testing.assert_allclose([r["train_loss"] for r in a], [r["train_loss"] for r in b],
                               rtol=5e-3)
    np.testing.assert_allclose([r["val_loss"] for r in a], [r["val_loss"] for r in b], rtol=5e-3)
    # Winograd (two) against oneDNN (one): 1.6e-4 apart on an AVX-512 BF16 EPYC, before and
    # after the two-function multi-replica step alike (the same checksums).
    assert summary(one.stdout)["weights_checksum"] == pytest.approx(
        summary(two.stdout)["weights_checksum"], rel=3e-4)


def _readme_two_worker_command() -> str:
    """The README's two-worker block, as a user copies it."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(block for block in blocks if "TF_CONFIG" in block)


@pytest.mark.slow
def test_the_readmes_two_worker_command_trains_as_written(tmp_path):
    """The README's command exactly as written (default flags: the plan keeps XLA
    auto-clustering off, which crashed MultiWorkerMirrored with 'Multiple CPU devices'), run
    from a folder of its own; the run it leaves evaluates to the chief's last validation top-1.
    (Resuming two workers from the chief's checkpoint: tests/test_gpu_paths.py.)"""
    (tmp_path / "apps").symlink_to(ROOT / "apps")
    command = _readme_two_worker_command()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                            text=True, timeout=400, env=app_env(PATH=path))
    summaries = [json.loads(line[len("summary: "):]) for line in result.stdout.splitlines()
                 if line.startswith("summary: ")]
    assert len(summaries) == 2, result.stderr[-3000:]
    chief, other = sorted(summaries, key=lambda s: s["worker"])
    assert (chief["worker"], other["worker"]) == (0, 1)
    assert chief["weights_checksum"] == other["weights_checksum"]
    assert chief["epochs"] == other["epochs"] == 2
    out = tmp_path / chief["output_dir"]
    assert json.loads((out / "run.json").read_text())["runtime"]["strategy"] == "multi_worker"
    assert (out / "model.keras").is_file()
    assert not (out / "checkpoints" / "worker-1").exists()  # only the chief keeps outputs
    assert [r["epoch"] for r in history(out)] == [1, 2]
    metrics = json.loads(call_app("evaluate.py", "--model", out, "--json")
                         .stdout.strip().splitlines()[-1])
    assert metrics["top1"] == pytest.approx(chief["val_top1"], abs=1e-6)


def _latest_position(checkpoints) -> tuple[int, int] | None:
    latest = tf.train.latest_checkpoint(str(checkpoints))
    if latest is None:
        return None
    reader = tf.train.load_checkpoint(latest)
    return (int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")),
            int(reader.get_tensor("step_in_epoch/.ATTRIBUTES/VARIABLE_VALUE")))


def _truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def test_what_a_killed_save_left_is_removed_and_nothing_else(tmp_path):
    """A kill -9 inside a save leaves TensorFlow's ``ckpt-N_temp`` folder and a
    ``checkpoint.tmp...`` state file behind; the next run's chief removes exactly those."""
    (tmp_path / "ckpt-3_temp").mkdir()
    (tmp_path / "ckpt-3_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
    (tmp_path / "checkpoint.tmp8a3f").write_text("partial")
    kept = ["checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001"]
    for name in kept:
        (tmp_path / name).write_text("kept")
    (tmp_path / "worker-1").mkdir()
    assert remove_unfinished_writes(tmp_path) == ["checkpoint.tmp8a3f", "ckpt-3_temp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "worker-1"])
    assert remove_unfinished_writes(tmp_path / "missing") == []


@pytest.mark.slow
def test_a_truncated_checkpoint_falls_back_to_the_one_before(tmp_path):
    """The newest checkpoint cut short (a full disk, a copy cut off): the run resumes from the
    one before, says which it skipped, and finishes; with every checkpoint cut, one line."""
    out = tmp_path / "run"
    args = [*TINY, "--steps-per-epoch", "6", "--checkpoint-steps", "4", "--output-dir", out]
    call_app("train.py", *args, "--epochs", "1")
    checkpoints = out / "checkpoints"
    newest = Path(tf.train.latest_checkpoint(str(checkpoints))).name  # epoch 1's end
    _truncate(next(checkpoints.glob(f"{newest}.data-*")))
    resumed = call_app("train.py", *args, "--epochs", "2")
    assert f"warning: skipped checkpoint {newest}, which does not restore" in resumed.stdout
    assert "resuming at epoch 1 step 4" in resumed.stdout  # the checkpoint before it
    assert [r["epoch"] for r in history(out)] == [1, 2]
    assert _latest_position(checkpoints) == (2, 0)

    for index in checkpoints.glob("*.index"):
        _truncate(index)
    failed = call_app("train.py", *args, "--epochs", "3", check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert f"no checkpoint in {checkpoints} restores" in error_line(failed)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains(tmp_path, precision):
    out = tmp_path / "run"
    result = call_app("train.py", *TINY, "--epochs", "1", "--steps-per-epoch", "2",
                      "--image-size", "16", "--precision", precision, "--output-dir", out)
    assert np.isfinite(summary(result.stdout)["train_loss"])
    assert json.loads((out / "config.json").read_text())["runtime"]["precision"] == precision
    assert json.loads((out / "run.json").read_text())["runtime"]["precision"] == precision


@pytest.mark.slow
def test_no_device_augment_crops_and_flips_on_the_host(tmp_path):
    out = tmp_path / "run"
    result = call_app("train.py", *TINY, "--epochs", "1", "--steps-per-epoch", "2",
                      "--image-size", "16", "--no-device-augment", "--output-dir", out)
    assert np.isfinite(summary(result.stdout)["train_loss"])
    assert "augmentation in the step" not in result.stdout
    run = json.loads((out / "run.json").read_text())
    assert not run["device_augmentation"] and not run["runtime"]["device_augment"]


@pytest.mark.slow
def test_ctrl_c_saves_exits_130_and_the_same_command_resumes(tmp_path, monkeypatch):
    """Ctrl-C in the third host call: checkpoint at that step, exit 130 with one line, the lock
    released; the rerun resumes there. Trained on a folder with --val-split 0: no validation,
    so no best validation accuracy either."""
    from keras_wrn.training import Trainer

    real, calls = Trainer.train_call, []

    def call_then_ctrl_c(self, iterator, steps):
        result = real(self, iterator, steps)
        calls.append(steps)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Trainer, "train_call", call_then_ctrl_c)
    out = tmp_path / "run"
    args = ["--arch", "resnet", "--depth", "8", "--data-dir",
            write_image_folder(tmp_path / "images", size=16), "--val-split", "0",
            "--recipe", "quick", "--epochs", "2", "--batch-size", "6", "--output-dir", out]
    stopped = call_app("train.py", *args, check=False)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "Ctrl-C: checkpoint saved at epoch 1 step 3" in stopped.stderr
    assert "Traceback" not in stopped.stderr and not (out / ".lock").exists()
    monkeypatch.undo()
    resumed = call_app("train.py", *args)
    assert "resuming at epoch 1 step 3" in resumed.stdout
    final = summary(resumed.stdout)
    assert final["epochs"] == 2 and final["val_top1"] is None and final["best_val_top1"] is None
