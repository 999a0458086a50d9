"""apps/gpu_check.py, the check a GPU machine runs, here on tf.distribute's GPU code paths over
logical CPU devices (tests/gpu_paths.py): Mirrored throughput over every GPU as the median of
timed windows, two MultiWorkerMirrored workers over the GPUs split in two, and bf16 against fp32
from the same seed; and requirements-gpu.txt, which must not install torch or jax."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, app_env, call_app, error_line, load_app

# Distributions whose CUDA wheels clash with TensorFlow's (torch, jax) or that only the tests
# and the lint need.
NOT_ON_GPU_MACHINES = {"torch", "jax", "jaxlib", "pytest", "pytest-xdist", "hypothesis", "ruff"}


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of ``path``, with those of the files it includes (-r FILE)."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            lines += requirement_lines(path.parent / line.split(maxsplit=1)[1])
        elif line:
            lines.append(line)
    return lines


def name(requirement: str) -> str:
    return re.split(r"[<>=\[;! ]", requirement)[0].lower().replace("_", "-")


def test_requirements_gpu_has_the_runtime_at_the_same_pins_without_torch_or_jax():
    gpu = requirement_lines(ROOT / "requirements-gpu.txt")
    assert not {name(line) for line in gpu} & NOT_ON_GPU_MACHINES, gpu
    pins = {name(line): line for line in gpu}
    # Every runtime line of requirements.txt, pinned as there; TensorFlow with its CUDA libraries.
    for line in requirement_lines(ROOT / "requirements.txt"):
        if name(line) in NOT_ON_GPU_MACHINES:
            continue
        if name(line) == "tensorflow":
            assert pins["tensorflow"] == line.replace("tensorflow", "tensorflow[and-cuda]", 1)
        else:
            assert pins.get(name(line)) == line


def test_fewer_than_five_windows_are_refused_with_one_line():
    result = call_app("gpu_check.py", "--windows", "3", check=False)
    assert result.returncode == 2
    assert error_line(result) == ("error: --windows must be >= 5 (the rate is their median), "
                                  "got 3.")


def test_the_loss_bound_is_five_percent_of_fp32_plus_0_005_and_nan_fails(monkeypatch):
    gpu_check = load_app("gpu_check.py")
    gaps = gpu_check.loss_gaps([2.0, 1.0 + 0.055, 0.1 + 0.012], [2.0, 1.0, 0.1])
    assert gaps == pytest.approx([0.0, 1.0, 1.2])
    assert gpu_check.loss_gaps([math.nan], [1.0]) == [math.inf]
    # The workers' GPUs: CUDA_VISIBLE_DEVICES's entries when it lists those TensorFlow sees.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3,5,7")
    assert gpu_check.visible_gpu_ids(4) == ["2", "3", "5", "7"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_check.visible_gpu_ids(2) == ["0", "1"]


@pytest.mark.slow
def test_gpu_check_on_two_gpus_runs_mirrored_two_workers_and_the_precision_check():
    """The whole check on 2 forced GPUs, small. Its two workers are tests/fake_train_worker.py,
    which checks each worker's environment: apps/train.py on two workers of forced GPUs runs
    in tests/test_gpu_paths.py."""
    launcher = f"{sys.executable} {ROOT / 'tests' / 'fake_train_worker.py'}"
    command = [sys.executable, str(ROOT / "tests" / "gpu_paths.py"), "--gpus", "2",
               str(ROOT / "apps" / "gpu_check.py"), "--archs", "resnet-8", "--batch-sizes", "32",
               "--steps", "1", "--variants", "default", "--worker-batch-size", "8",
               "--worker-steps", "2", "--train-epochs", "2", "--launcher", launcher]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=app_env())
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {row["case"] + row.get("precision", ""): row
            for row in map(json.loads, result.stdout.strip().splitlines())}
    assert list(rows) == ["throughput", "two_workers", "trainbf16", "trainfp32",
                          "precision_agreement"]

    throughput = rows["throughput"]
    assert (throughput["gpus"], throughput["strategy"], throughput["global_batch_size"]) == \
        (2, "mirrored", 64)
    assert throughput["windows"] == 5 and len(throughput["window_images_per_s_per_gpu"]) == 5
    assert throughput["images_per_s_per_gpu"] == pytest.approx(
        sorted(throughput["window_images_per_s_per_gpu"])[2], abs=0.11)
    assert throughput["compile_s"] >= 0
    assert throughput["plan"].startswith(
        "runtime: 2 GPU(s), mirrored, 2 replica(s), bf16, batch norm per replica, XLA whole step")

    # Each worker got one GPU, and train.py the flags of the check: 6 epochs (the first
    # compiles), 2 steps each, 8 images a GPU. The fake chief's epochs ran at 100, 200, ...
    # 600 images/s: per GPU, the median of epochs 2-6 is 400 / 2.
    workers = rows["two_workers"]
    assert workers["passed"] and workers["weights_agree"]
    assert workers["cuda_visible_devices"] == ["0", "1"] and workers["gpus_per_worker"] == 1
    assert workers["global_batch_size"] == 16
    assert workers["plan"].startswith("runtime: fake worker 0, CUDA_VISIBLE_DEVICES=0, flags ")
    flags = workers["plan"].split(" flags ", 1)[1].split()
    for flag, value in (("--batch-size", "16"), ("--epochs", "6"), ("--steps-per-epoch", "2"),
                        ("--dataset", "synthetic")):
        assert flags[flags.index(flag) + 1] == value
    assert "--require-gpu" in flags
    assert workers["windows"] == 5 and workers["images_per_s_per_gpu"] == 200.0
    assert workers["window_images_per_s_per_gpu"] == [100.0, 150.0, 200.0, 250.0, 300.0]

    for precision in ("bf16", "fp32"):
        train = rows[f"train{precision}"]
        assert train["passed"] and train["val_top1"] >= 0.9
        assert f"mirrored, 2 replica(s), {precision}" in train["plan"]
    agreement = rows["precision_agreement"]
    assert agreement["passed"] and agreement["worst_gap_of_bound"] <= 1
    assert len(agreement["bf16_train_loss"]) == len(agreement["fp32_train_loss"]) == 2
    assert agreement["bound"] == "|bf16 - fp32| <= 0.05 * fp32 + 0.005 per epoch"
