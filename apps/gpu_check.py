"""Check keras_wrn on a machine with GPUs, in one command, the way users run it:

    python apps/gpu_check.py

Prints one JSON line per case, and exits 0 only if every check passed:

1. throughput: the training step of resnet-20, pyramidnet-110-a48, pyramidsepdrop-110-a48 and
   wrn-28-10 at 128 and 512 images per GPU, with the default plan over every visible GPU
   (MirroredStrategy when there are several), with XLA off and in fp32. Reports images/s per
   GPU as the median of --windows timed windows (at least 5) after compilation, each window
   one host call of --steps steps, and the compile time. A case that does not fit in memory
   reports "out of memory" and is not a failure.
2. two_workers: apps/train.py as two MultiWorkerMirrored workers on 127.0.0.1, each given half
   of the visible GPUs (CUDA_VISIBLE_DEVICES), training ResNet-8 on the synthetic set for
   --windows + 1 epochs; reports images/s per GPU of training epochs (input pipeline included)
   as the median over the epochs after the first (which compiles). Fails if a worker fails or
   the workers end with different weights. Skipped, with the reason, with fewer than 2 GPUs.
3. train and precision_agreement: ResNet-8 trained twice from the same seed with the default
   plan over every GPU, in bf16 and in fp32 (quick recipe, synthetic set, --train-epochs).
   Each run must pass 90% validation top-1 (chance: 10%), and their per-epoch mean training
   losses must agree: |bf16 - fp32| <= 5% of the fp32 loss + 0.005 at every epoch. Why that
   bound: measured on tf.distribute's GPU paths over 2 CPU devices (4 epochs, the default
   plan otherwise), bf16 stayed within 0.5-1.9% of fp32 (at most 0.2x the bound) at two
   seeds, while the fp32 runs of those seeds part by 21% and 27% in epochs 2 and 3 (2.3x and
   1.6x the bound):
   the bound passes bf16's rounding (8-bit mantissa; weights, loss and optimizer in fp32)
   and fails a bf16 path that trains a different model (NaNs, a lost gradient, an op in the
   wrong dtype). The 0.005 keeps losses near 0 from failing on rounding alone.

Stops at once when no GPU is visible; --allow-cpu runs the same cases on the CPU (images/s
then per replica). Any failure ends with one line on stderr and exit 1; bad options exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _app import fail, guarded, parse

APPS = Path(__file__).resolve().parent
# The cases' models: presets, PyramidSepDrop-110 at the PyramidNet preset's widening, and the
# training check's ResNet-8 (not a default case: a quick one).
ARCHS = {"resnet-20": {"arch": "resnet-20"}, "pyramidnet-110-a48": {"arch": "pyramidnet-110-a48"},
         "pyramidsepdrop-110-a48": {"arch": "pyramidsepdrop", "depth": 110, "alpha": 48},
         "wrn-28-10": {"arch": "wrn-28-10"}, "resnet-8": {"arch": "resnet", "depth": 8}}
DEFAULT_ARCHS = ["resnet-20", "pyramidnet-110-a48", "pyramidsepdrop-110-a48", "wrn-28-10"]
# Each variant is the default plan with some choices forced.
VARIANTS = {"default": {}, "xla_off": {"jit_compile": False}, "fp32": {"precision": "fp32"}}
MIN_WINDOWS = 5
# The training check: ResNet-8 (as the README's two-worker command) must pass 90% on the
# synthetic set (chance: 10%) in the quick recipe, in bf16 and in fp32.
TRAIN_CHECK = {"arch": "resnet", "depth": 8}
PASS_TOP1 = 0.9
# bf16 against fp32 from the same seed, per epoch: |bf16 - fp32| <= REL * fp32 + ABS (the
# module docstring says why).
LOSS_REL_BOUND = 0.05
LOSS_ABS_BOUND = 0.005
# The two-worker run: ResNet-8 on the synthetic set; a worker that runs longer than this is
# stopped (a collective waits forever for a worker that died).
WORKER_TIMEOUT_S = 1800
# Agreement of the two workers' weight sums (they hold the same model).
CHECKSUM_REL = 1e-6


def build_parser() -> argparse.ArgumentParser:
    """The command line; --launcher and the small sizes are what the tests run."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", nargs="+", choices=list(ARCHS), default=DEFAULT_ARCHS)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512],
                   help="images per GPU (the global batch is this times the GPUs)")
    p.add_argument("--steps", type=int, default=10,
                   help="training steps per timed host call (one window)")
    p.add_argument("--windows", type=int, default=MIN_WINDOWS,
                   help=f"timed windows per case, the rate is their median (>= {MIN_WINDOWS})")
    p.add_argument("--train-epochs", type=int, default=4,
                   help="epochs of each ResNet-8 run of the bf16/fp32 check (each must pass "
                        f"{PASS_TOP1 * 100:.0f}%% validation top-1; the losses must agree per "
                        f"epoch within {LOSS_REL_BOUND * 100:.0f}%% of fp32's + "
                        f"{LOSS_ABS_BOUND})")
    p.add_argument("--worker-batch-size", type=int, default=32,
                   help="images per GPU in the two-worker run")
    p.add_argument("--worker-steps", type=int,
                   help="cap the steps per epoch of the two-worker run (default: whole "
                        "epochs of the 2000 synthetic images)")
    p.add_argument("--launcher", default=None,
                   help="for tests: the command that runs each worker's apps/train.py in "
                        "place of this Python, e.g. 'python tests/gpu_paths.py --gpus 1'")
    p.add_argument("--allow-cpu", action="store_true",
                   help="run without a GPU (to test this command)")
    return p


def emit(row: dict) -> None:
    """One case's JSON line, at once (a long check shows its progress)."""
    print(json.dumps(row), flush=True)


def per_device(plan) -> int:
    """The devices a rate is divided by: the plan's GPUs, or its replicas on a CPU."""
    return plan.gpus if plan.device == "gpu" else plan.replicas


def throughput(config, plan, strategy, windows: int) -> dict:
    """Compile time and images/s per GPU after compilation: the median of ``windows`` timed
    host calls of ``plan.steps_per_loop`` steps each (one untimed call after the compile)."""
    import keras
    import tensorflow as tf

    from keras_wrn.benchmark import median_rate, timed_step

    images = config.recipe.batch_size * plan.steps_per_loop
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _, call = timed_step(config, plan, strategy, tmp)
            start = time.perf_counter()
            call()  # traces and compiles, then runs one loop
            first = time.perf_counter() - start
            rate, rates = median_rate(call, images, windows=windows, calls_per_window=1,
                                      warmup=1)
        except tf.errors.ResourceExhaustedError:
            return {"error": "out of memory", "plan": plan.summary()}
        finally:
            keras.backend.clear_session()
    devices = per_device(plan)
    return {"gpus": plan.gpus, "strategy": plan.strategy, "global_batch_size":
            config.recipe.batch_size, "images_per_s_per_gpu": round(rate / devices, 1),
            "windows": len(rates),
            "window_images_per_s_per_gpu": [round(r / devices, 1) for r in rates],
            "compile_s": round(max(first - images / rate, 0.0), 2), "plan": plan.summary()}


def visible_gpu_ids(count: int) -> list[str]:
    """The CUDA_VISIBLE_DEVICES entries of the ``count`` GPUs TensorFlow sees: the variable's
    when it lists that many, else their indices 0..count-1."""
    listed = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
              if d.strip()]
    return listed if len(listed) == count else [str(i) for i in range(count)]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a worker to listen on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_flags(keys: dict) -> list[str]:
    """apps/train.py's flags for a model's configuration keys."""
    return [item for key, value in keys.items()
            for item in (f"--{key.replace('_', '-')}", str(value))]


def run_workers(commands: list[list[str]], envs: list[dict], folder: Path) -> list[tuple]:
    """Runs the workers to their end, their output in files of ``folder`` (no pipe to fill);
    stops the others when one fails or all run past WORKER_TIMEOUT_S. Their (exit code,
    stdout, stderr), chief first."""
    with contextlib.ExitStack() as files:
        logs = [(files.enter_context(open(folder / f"worker-{i}.out", "w")),
                 files.enter_context(open(folder / f"worker-{i}.err", "w")))
                for i in range(len(commands))]
        workers = [subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True)
                   for command, env, (out, err) in zip(commands, envs, logs, strict=True)]
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        try:
            while any(w.poll() is None for w in workers):
                failed = any(w.returncode not in (None, 0) for w in workers)
                if failed or time.monotonic() > deadline:
                    for w in workers:
                        if w.poll() is None:
                            w.kill()
                time.sleep(0.5)
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                w.wait()
    return [(w.returncode, (folder / f"worker-{i}.out").read_text(),
             (folder / f"worker-{i}.err").read_text()) for i, w in enumerate(workers)]


def last_error(stderr: str) -> str:
    """A failed worker's one-line error, else the last line it printed."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors or lines or ["no output"])[-1]


def two_workers(args, gpus: int, launcher: list[str], environ: dict[str, str]) -> dict:
    """apps/train.py on two MultiWorkerMirrored workers over the visible GPUs split in two,
    in ``environ`` (this process's environment before TensorFlow started: not the XLA flags
    it set for itself): images/s per GPU of the training epochs after the first (median),
    and whether the workers ended with the same weights."""
    ids = visible_gpu_ids(gpus)
    per_worker = len(ids) // 2
    if per_worker < 1:
        return {"case": "two_workers", "skipped": f"needs 2 GPUs to split in two, "
                f"{len(ids)} visible", "passed": True}
    halves = [ids[:per_worker], ids[per_worker:2 * per_worker]]
    batch = args.worker_batch_size * 2 * per_worker
    ports = [free_port(), free_port()]
    with tempfile.TemporaryDirectory() as tmp:
        output_dir = Path(tmp) / "run"
        flags = [*model_flags(TRAIN_CHECK), "--dataset", "synthetic", "--recipe", "quick",
                 "--batch-size", str(batch), "--epochs", str(args.windows + 1),
                 "--output-dir", str(output_dir)]
        if args.worker_steps:
            flags += ["--steps-per-epoch", str(args.worker_steps)]
        if not args.allow_cpu:
            flags.append("--require-gpu")
        commands, envs = [], []
        for index, half in enumerate(halves):
            tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                         "task": {"type": "worker", "index": index}}
            commands.append([*launcher, str(APPS / "train.py"), *flags])
            envs.append(dict(environ, TF_CONFIG=json.dumps(tf_config),
                             CUDA_VISIBLE_DEVICES=",".join(half)))
        start = time.perf_counter()
        results = run_workers(commands, envs, Path(tmp))
        row = {"case": "two_workers", "workers": 2, "gpus_per_worker": per_worker,
               "cuda_visible_devices": [",".join(h) for h in halves],
               "batch_size": args.worker_batch_size, "global_batch_size": batch,
               "seconds": round(time.perf_counter() - start, 1)}
        failed = [(i, code, stderr) for i, (code, _, stderr) in enumerate(results) if code]
        if failed:
            index, code, stderr = failed[0]
            return {**row, "passed": False,
                    "error": f"worker {index} exited {code}: {last_error(stderr)}"}
        history = json.loads((output_dir / "history.json").read_text())
    summaries = [json.loads(next(line for line in stdout.splitlines()
                                 if line.startswith("summary: "))[len("summary: "):])
                 for _, stdout, _ in results]
    plan = next((line for line in results[0][1].splitlines() if line.startswith("runtime: ")),
                None)
    rates = [r["images_per_s"] / (2 * per_worker) for r in history[1:]]
    sums = [s["weights_checksum"] for s in summaries]
    agree = math.isclose(sums[0], sums[1], rel_tol=CHECKSUM_REL)
    return {**row, "images_per_s_per_gpu": round(statistics.median(rates), 1),
            "windows": len(rates), "window_images_per_s_per_gpu": [round(r, 1) for r in rates],
            "weights_agree": agree, "plan": plan, "passed": agree}


def loss_gaps(bf16: list[float], fp32: list[float]) -> list[float]:
    """Per epoch, how far bf16's mean training loss is from fp32's as a fraction of the bound
    (> 1: outside it; NaN losses count as infinitely far)."""
    gaps = []
    for low, full in zip(bf16, fp32, strict=True):
        gap = abs(low - full) / (LOSS_REL_BOUND * abs(full) + LOSS_ABS_BOUND)
        gaps.append(gap if math.isfinite(gap) else math.inf)
    return gaps


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    if args.windows < MIN_WINDOWS:
        fail(f"--windows must be >= {MIN_WINDOWS} (the rate is their median), "
             f"got {args.windows}.")
    if min(args.batch_sizes) < 1 or min(args.steps, args.train_epochs,
                                        args.worker_batch_size) < 1:
        fail("--batch-sizes, --steps, --train-epochs and --worker-batch-size must be >= 1.")
    if args.worker_steps is not None and args.worker_steps < 1:
        fail(f"--worker-steps must be >= 1, got {args.worker_steps}.")
    if os.environ.get("TF_CONFIG"):
        fail("unset TF_CONFIG: gpu_check uses this machine's GPUs and starts its own workers.")
    launcher = shlex.split(args.launcher) if args.launcher else [sys.executable]
    if not launcher:
        fail("--launcher is empty; leave it out to run the workers with this Python.")
    from keras_wrn.data import load_synthetic
    from keras_wrn.runtime import PlanError, RuntimeRequest, resolve_plan, start
    from keras_wrn.runtime.devices import detect
    from keras_wrn.training import ConfigError, Trainer, resolve_config

    environ = dict(os.environ)  # the workers' (start() may set TF_XLA_FLAGS for this process)
    try:
        base, strategy = start(RuntimeRequest(), require_gpu=not args.allow_cpu)
        devices = detect()
        scale = per_device(base)
        configs = {(arch, batch): resolve_config({
            **ARCHS[arch], "dataset": "synthetic", "batch_size": batch * scale,
            "steps_per_loop": args.steps}) for arch in args.archs for batch in args.batch_sizes}
    except (ConfigError, PlanError, ValueError) as err:
        fail(str(err))

    def plan_for(config, **forced):
        request = dataclasses.replace(config.runtime.request(), **forced)
        plan = resolve_plan(request, devices, batch_size=config.recipe.batch_size)
        # XLA fusion's flags are process-wide: on where the plan wants them and start() set them.
        return dataclasses.replace(plan, xla_fusion=plan.xla_fusion and base.xla_fusion)

    failures = []
    for (arch, batch), config in configs.items():
        for variant in args.variants:
            row = throughput(config, plan_for(config, **VARIANTS[variant]), strategy,
                             args.windows)
            emit({"case": "throughput", "arch": arch, "batch_size": batch, "variant": variant,
                  **row})

    row = two_workers(args, len(devices.gpus), launcher, environ)
    emit(row)
    if not row["passed"]:
        failures.append(f"two workers: {row.get('error') or 'their weights differ'}")

    losses = {}
    for precision in ("bf16", "fp32"):
        config = resolve_config({**TRAIN_CHECK, "dataset": "synthetic", "recipe": "quick",
                                 "epochs": args.train_epochs, "precision": precision})
        with tempfile.TemporaryDirectory() as tmp:
            start_time = time.perf_counter()
            trainer = Trainer(config, strategy, load_synthetic(32), tmp, log=lambda _: None,
                              plan=plan_for(config))
            with contextlib.redirect_stdout(io.StringIO()):  # the progress bar: JSON only
                history = trainer.fit()
        top1 = history[-1]["val_top1"]
        losses[precision] = [round(float(r["train_loss"]), 5) for r in history]
        passed = top1 >= PASS_TOP1
        emit({"case": "train", "arch": "resnet-8", "precision": precision,
              "epochs": args.train_epochs, "val_top1": top1, "passed": passed,
              "plan": trainer.plan.summary(),
              "seconds": round(time.perf_counter() - start_time, 1)})
        if not passed:
            failures.append(f"ResNet-8 in {precision} reached {top1:.1%} validation top-1, "
                            f"under {PASS_TOP1:.0%}")
    gaps = loss_gaps(losses["bf16"], losses["fp32"])
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    agree = gaps[worst] <= 1
    emit({"case": "precision_agreement", "arch": "resnet-8", "bf16_train_loss": losses["bf16"],
          "fp32_train_loss": losses["fp32"],
          "bound": f"|bf16 - fp32| <= {LOSS_REL_BOUND} * fp32 + {LOSS_ABS_BOUND} per epoch",
          "worst_epoch": worst + 1, "worst_gap_of_bound": round(gaps[worst], 3),
          "passed": agree})
    if not agree:
        failures.append(f"bf16 and fp32 training losses part at epoch {worst + 1} "
                        f"({losses['bf16'][worst]:.4g} vs {losses['fp32'][worst]:.4g}, "
                        f"{gaps[worst]:.2f}x the bound)")
    if failures:
        fail("; ".join(failures), code=1)


if __name__ == "__main__":
    main()
