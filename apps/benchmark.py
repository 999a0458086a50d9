"""Benchmarks, written as JSON under benchmarks/results/ (git-ignored):

    python apps/benchmark.py train --arch pyramidnet-110-a48 --batch-size 128 [--precision bf16]
    python apps/benchmark.py infer --arch resnet-20
    python apps/benchmark.py pipeline [--data-dir FOLDER]
    python apps/benchmark.py winograd --shapes 64@32 512@8

`train` times the training step of apps/train.py (median images/s of timed windows after
warm-up), counts forward FLOPs from the graph and measures this machine's peak with a large
matmul: mfu = images/s x 3 x forward FLOPs / peak. `--torch-reference SCRIPT` also runs a PyTorch
training-step script (`SCRIPT ARCH --batch N --precision P`, last line JSON with
`train_images_per_s`) with `--torch-python` (default this Python) for a side-by-side number
(`--rounds N` alternates the two N times and reports the median ratio); `--conv-floor` times
every conv of the step alone with oneDNN, the least the step can cost with those kernels;
`--no-winograd` trains with oneDNN everywhere and `--no-xla-fusion` without XLA fusing the
elementwise ops.
`winograd` times single 3x3 convs (CHANNELS@SIDE) forward and backward with oneDNN and with
Winograd F(2x2, 3x3) and F(4x4, 3x3): the measurements behind the training step's choice.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _app import fail, guarded, parse

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
# The channel widths and image sides of the WRN and PyramidNet stages, around the choice's edge.
WINOGRAD_SHAPES = ("32@32", "48@32", "64@32", "128@32", "64@16", "96@16", "256@16", "64@8",
                   "80@8", "96@8", "128@8", "512@8")
PROFILED_CALLS = 3  # --profile traces this many more step calls
PROFILED_OPS = 15  # op types the result lists from the trace


def _train(args) -> dict:
    if args.torch_python and not (args.torch_reference or args.side_by_side):
        raise ValueError("--torch-python runs a PyTorch script: add --torch-reference SCRIPT "
                         "or --side-by-side SCRIPT.")
    if args.torch_reference and not Path(args.torch_reference).is_file():
        raise ValueError(f"no PyTorch training-step script at {args.torch_reference}; pass its "
                         "path to --torch-reference.")
    if args.side_by_side:
        return _train_side_by_side(args)
    import tensorflow as tf

    from keras_wrn.benchmark import (
        conv_seconds,
        forward_flops_per_image,
        median_rate,
        peak_flops_per_s,
        timed_step,
    )
    from keras_wrn.benchmark.ops import op_seconds
    from keras_wrn.layers import StochasticResidual
    from keras_wrn.runtime import start
    from keras_wrn.training import resolve_config
    from keras_wrn.training.flags import given_config

    # The family's recipe, so that the plan is what apps/train.py runs by default.
    config = resolve_config({**given_config(args), "dataset": "synthetic"})
    plan, strategy = start(config.runtime.request())
    if args.conv_floor and (plan.precision != "fp32" or plan.jit_compile
                            or plan.strategy != "one_device" or plan.winograd):
        raise ValueError("--conv-floor times oneDNN's float32 convs on one device without XLA; "
                         "add --no-winograd and --precision fp32, and drop --jit-compile and "
                         "--strategy to use it.")
    with tempfile.TemporaryDirectory() as tmp:
        trainer, step = timed_step(config, plan, strategy, tmp)
        per_call = plan.steps_per_loop

        # Rounds alternate keras_wrn's windows with a run of the PyTorch reference, so that both
        # see the same load on a shared machine; each round's ratio counts, their median wins.
        rates, windows, torch_rates = [], [], []
        for index in range(args.rounds):
            round_rate, round_windows = median_rate(step, args.batch_size * per_call,
                                                    args.windows, args.steps,
                                                    warmup=3 if index == 0 else 1)
            rates.append(round_rate)
            windows += round_windows
            if args.torch_reference:
                torch_rates.append(_torch_rate(args, plan.precision))
        rate = statistics.median(rates)
        ops = None
        if args.profile:  # a trace of more steps, for TensorBoard's profile plugin (xprof)
            tf.profiler.experimental.start(args.profile)
            for _ in range(PROFILED_CALLS):
                step()
            tf.profiler.experimental.stop()
            ops = op_seconds(args.profile, PROFILED_CALLS * per_call)
        flops = forward_flops_per_image(trainer.model)
        convs = conv_seconds(trainer.model, args.batch_size) if args.conv_floor else None
    peak = peak_flops_per_s()
    result = {
        "kind": "train", "arch": args.arch, "batch_size": args.batch_size,
        "precision": plan.precision, "runtime": plan.to_dict(),
        "drop_rate": max((layer.gate.rate for layer in trainer.model.layers
                          if isinstance(layer, StochasticResidual)), default=0.0),
        "params": trainer.model.count_params(),
        "winograd_convs": len(trainer.winograd_layers),
        "onednn_batch_norms": len(trainer.batch_norm_layers), "xla_fusion": plan.xla_fusion,
        "train_images_per_s": round(rate, 1),
        "window_images_per_s": [round(r, 1) for r in windows],
        "flops_per_image": flops, "peak_flops_per_s": round(peak),
        "mfu": round(rate * 3 * flops / peak, 4), "threads": os.cpu_count(),
        "tensorflow": tf.__version__,
    }
    if ops is not None:  # the trace's busiest op types (self time, all threads)
        result["op_s_per_step"] = dict(list(ops.items())[:PROFILED_OPS])
        result["op_s_per_step_total"] = round(sum(ops.values()), 4)
    if convs is not None:  # the step's convs timed alone: the least a step costs in them
        result["conv_s_per_step"] = {name: round(t, 3) for name, t in convs.items()}
        result["conv_share_of_step"] = round(convs["total"] * rate / args.batch_size, 3)
    if args.torch_reference:
        torch_rate = statistics.median(torch_rates)
        ratios = [ours / theirs for ours, theirs in zip(rates, torch_rates, strict=True)]
        result["torch_images_per_s"] = round(torch_rate, 1)
        result["speedup_vs_torch"] = round(statistics.median(ratios), 3)
        result["round_images_per_s"] = [round(r, 1) for r in rates]
        result["round_torch_images_per_s"] = torch_rates
        result["round_speedups_vs_torch"] = [round(r, 3) for r in ratios]
        if convs is not None:  # the speed-up of a step made of nothing but these convs
            result["conv_floor_speedup_vs_torch"] = round(
                args.batch_size / convs["total"] / torch_rate, 3)
    return result


def _torch_rate(args, precision: str) -> float:
    """Training images/s of the --torch-reference script, run with --torch-python."""
    torch = subprocess.run(
        [args.torch_python or sys.executable, str(args.torch_reference), args.arch, "--batch",
         str(args.batch_size), "--precision", precision], capture_output=True, text=True)
    try:
        if torch.returncode:
            raise ValueError(f"exited {torch.returncode}")
        return float(json.loads(torch.stdout.strip().splitlines()[-1])["train_images_per_s"])
    except (ValueError, IndexError, KeyError, TypeError) as err:
        last = (torch.stderr.strip().splitlines() or ["no output"])[-1]
        raise ValueError(f"--torch-reference {args.torch_reference} gave no train_images_per_s "
                         f"({err}; its last error line: {last}); run it alone to see why."
                         ) from None


def _train_side_by_side(args) -> dict:
    """Whole apps/train.py commands on --data-dir against a plain PyTorch loop's script on the
    same folder, alternated ``--rounds`` times: wall time, training seconds per epoch,
    validation top-1 and the time to ``--target``."""
    import shlex

    from keras_wrn.benchmark.commands import history_epoch_seconds, side_by_side
    from keras_wrn.training.flags import given_config

    others = sorted(set(given_config(args)) - {"arch", "batch_size", "strategy"})
    if others:
        raise ValueError("with --side-by-side, pass apps/train.py's flags in --train-args "
                         "(got " + ", ".join("--" + k.replace("_", "-") for k in others) + ").")
    if not args.side_data_dir:
        raise ValueError("--side-by-side needs --data-dir, the image folder both train on.")
    if args.side_epochs < 1:
        raise ValueError(f"--epochs {args.side_epochs}: pass 1 or more.")
    script = Path(args.side_by_side)
    if not script.is_file():
        raise ValueError(f"no PyTorch training script at {script}; pass its path to "
                         f"--side-by-side.")
    train_py = Path(__file__).resolve().parent / "train.py"

    def ours(folder: Path) -> list[str]:
        return [sys.executable, str(train_py), "--arch", args.arch, "--recipe",
                args.side_recipe, "--epochs", str(args.side_epochs), "--batch-size",
                str(args.batch_size), "--data-dir", args.side_data_dir, "--val-split", "0.1",
                "--output-dir", str(folder / "run"), *shlex.split(args.train_args)]

    def theirs(folder: Path) -> list[str]:
        return [args.torch_python or sys.executable, str(script), args.side_data_dir,
                "--epochs", str(args.side_epochs), "--out", str(folder / "torch.json")]

    def epoch_seconds(side: str, folder: Path) -> list[float]:
        if side == "ours":
            return history_epoch_seconds(folder / "run")
        return json.loads((folder / "torch.json").read_text())["epoch_seconds"]

    with tempfile.TemporaryDirectory() as tmp:
        result = side_by_side(ours, theirs, epoch_seconds, args.rounds, Path(tmp),
                              target=args.target)
    return {"kind": "train-side-by-side", "arch": args.arch, "recipe": args.side_recipe,
            "batch_size": args.batch_size, "epochs": args.side_epochs,
            "train_args": args.train_args, "torch_script": script.name, **result}


def _infer(args) -> dict:
    import keras
    import tensorflow as tf

    import keras_wrn
    from keras_wrn.benchmark import median_rate
    from keras_wrn.export import LiteRTModel
    from keras_wrn.export import tflite as tfl
    from keras_wrn.export.saved_model import export_saved_model

    model = keras_wrn.build_model(args.arch)
    size = model.input_shape[1]
    images = np.random.default_rng(0).uniform(0, 255, (args.batch_size, size, size, 3))
    images = images.astype(np.float32)
    rows = {}
    forward = tf.function(lambda x: model(x, training=False))
    for batch in (1, args.batch_size):
        x = tf.constant(images[:batch])
        rate, _ = median_rate(lambda x=x: forward(x).numpy(), batch)
        rows.setdefault("keras", {})[f"images_per_s_batch{batch}"] = round(rate, 1)
    with tempfile.TemporaryDirectory() as tmp:
        serve = tf.saved_model.load(str(export_saved_model(
            model, [str(i) for i in range(model.output_shape[-1])], Path(tmp) / "1")))
        signature = serve.signatures["serve_float"]
        for batch in (1, args.batch_size):
            x = tf.constant(images[:batch])
            rate, _ = median_rate(lambda x=x: signature(images=x)["probabilities"].numpy(), batch)
            rows.setdefault("saved_model", {})[f"images_per_s_batch{batch}"] = round(rate, 1)
    representative = tfl.representative_dataset(images[:32])
    for fmt in ("tflite_fp32", "tflite_fp16", "tflite_dynamic", "tflite_int8"):
        runner = LiteRTModel(tfl.convert_keras(model, fmt, representative), args.threads,
                             args.kernels)
        rows[fmt] = {"latency_ms_batch1": round(runner.latency_ms(images[0]), 3)}
        start = time.perf_counter()
        runner.predict(images, batch_size=args.batch_size)
        rows[fmt][f"images_per_s_batch{args.batch_size}"] = round(
            len(images) / (time.perf_counter() - start), 1)
    for name in ("keras", "saved_model"):
        rows[name]["latency_ms_batch1"] = round(1000 / rows[name]["images_per_s_batch1"], 3)
    keras.backend.clear_session()
    speedup = rows["tflite_fp32"]["latency_ms_batch1"] / rows["tflite_int8"]["latency_ms_batch1"]
    return {"kind": "infer", "arch": args.arch, "tflite_threads": args.threads,
            "tflite_kernels": args.kernels, "int8_speedup_vs_fp32": round(speedup, 2),
            "formats": rows}


def _pipeline(args) -> dict:
    from keras_wrn.benchmark.images import write_imagenet_folder
    from keras_wrn.benchmark.pipeline import pipeline_rate
    from keras_wrn.data import AugmentConfig, load_data

    cores = os.cpu_count() or 1
    augmentation = AugmentConfig(kind=args.augmentation, cutout=args.cutout)
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.data_dir
        if folder is None:  # ImageNet-shaped: JPEGs of 300-500 px a side
            folder = str(write_imagenet_folder(Path(scratch) / "images", args.images))
        sources = {"folder": lambda: load_data(None, args.image_size, data_dir=folder,
                                               val_split=0.0, kind=args.augmentation,
                                               cache=args.cache)}
        if args.tfrecords:
            sources["tfrecords"] = lambda: load_data(
                None, args.image_size, data_dir=folder, val_split=0.0,
                kind=args.augmentation, cache=f"disk:{Path(scratch) / 'tfrecords'}")
        for name, load in sources.items():
            start = time.perf_counter()
            source = load()
            row = {"load_s": round(time.perf_counter() - start, 1),
                   **pipeline_rate(source, augmentation, args.batch_size, args.epochs,
                                   on_device=args.device_augment)}
            row["images_per_s_per_core"] = round(row["images_per_s"] / cores, 1)
            rows[name] = row
    result = {"kind": "pipeline", "data_dir": args.data_dir or f"generated ({args.images} "
              f"JPEGs, 300-500 px)", "image_size": args.image_size, "cores": cores,
              "augment": vars(augmentation), "batch_size": args.batch_size,
              "folder_cache": args.cache, "device_augment": args.device_augment,
              "sources": rows}
    if args.step_arch:
        from keras_wrn.benchmark import median_rate, timed_step
        from keras_wrn.runtime import start as start_runtime
        from keras_wrn.training import resolve_config

        config = resolve_config({"arch": args.step_arch, "batch_size": args.step_batch,
                                 "dataset": "synthetic", "image_size": args.image_size})
        plan, strategy = start_runtime(config.runtime.request())
        with tempfile.TemporaryDirectory() as out:
            _, call = timed_step(config, plan, strategy, out)
            rate, _ = median_rate(call, args.step_batch * plan.steps_per_loop, 3, 2, warmup=2)
        result["train_step"] = {"arch": args.step_arch, "batch_size": args.step_batch,
                                "images_per_s": round(rate, 1)}
        for row in rows.values():
            # The cores of this CPU type the input pipeline needs to keep the step fed.
            row["cores_to_feed_the_step"] = round(rate / row["images_per_s_per_core"], 2)
    return result


def _winograd(args) -> dict:
    from keras_wrn.benchmark import winograd_speedup
    from keras_wrn.kernels import onednn_avx512, prefers_winograd

    rows = []
    for channels, side in args.shapes:
        row = {"channels": channels, "side": side,
               **winograd_speedup(side, side, channels, channels, args.batch_size)}
        row["training_step_uses_winograd"] = prefers_winograd(side, side, channels, channels)
        rows.append(row)
    # The rule differs with the kernels oneDNN runs (AVX-512 or not).
    return {"kind": "winograd", "batch_size": args.batch_size, "onednn_avx512": onednn_avx512(),
            "shapes": rows}


def _shape(text: str) -> tuple[int, int]:
    """argparse type: CHANNELS@SIDE, e.g. 64@32."""
    try:
        channels, side = (int(part) for part in text.split("@"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not CHANNELS@SIDE, e.g. 64@32") from None
    if channels < 1 or side < 4 or side % 4:
        raise argparse.ArgumentTypeError(f"{text}: need channels >= 1 and a side that is a "
                                         f"multiple of 4 (whole 4x4 tiles)")
    return channels, side


def _positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.training.flags import add_config_flags, section_keys

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="kind", required=True)
    train = sub.add_parser("train", help="training throughput, FLOPs, MFU")
    # The model and runtime flags of apps/train.py, and its global batch size.
    add_config_flags(train, only=[*section_keys("model"), "batch_size", *section_keys("runtime")],
                     exclude=("output_dir", "checkpoint_steps", "stop_grace", "steps_per_epoch",
                              "require_gpu", "deterministic"),
                     overrides={"arch": {"required": True},
                                "batch_size": {"default": 128, "help": "global batch size "
                                                                       "(default 128)"},
                                "strategy": {"default": "one_device"}})
    train.add_argument("--windows", type=_positive, default=5)
    train.add_argument("--steps", type=_positive, default=5, help="training steps per window")
    train.add_argument("--torch-reference", metavar="SCRIPT",
                       help="a PyTorch training-step script to time beside keras_wrn: it takes "
                            "ARCH --batch N --precision P and prints JSON with "
                            "train_images_per_s as its last line")
    train.add_argument("--torch-python", metavar="PY",
                       help="the Python with torch that runs --torch-reference or "
                            "--side-by-side (default this Python)")
    train.add_argument("--rounds", type=_positive, default=1,
                       help="alternate the keras_wrn windows and the reference this many times "
                            "and report the median ratio (for noisy shared machines)")
    train.add_argument("--side-by-side", metavar="SCRIPT",
                       help="time whole apps/train.py commands (start-up, data, epochs, "
                            "validation) against this PyTorch training script on --data-dir, "
                            "alternated --rounds times (run with --torch-python, default this "
                            "Python); it takes FOLDER --epochs N --out JSON and prints "
                            "'epoch N: ... val_top1 X' lines")
    # --side-by-side's run: apps/train.py's own --data-dir, --epochs and --recipe flags.
    add_config_flags(train, only=["data_dir", "epochs", "recipe"], overrides={
        "data_dir": {"dest": "side_data_dir", "help": "with --side-by-side: the image folder "
                                                     "(the last 10%% of each class validates)"},
        "epochs": {"dest": "side_epochs", "default": 3, "help": "with --side-by-side (default 3)"},
        "recipe": {"dest": "side_recipe", "default": "cpu-fast",
                   "help": "with --side-by-side (default cpu-fast)"}})
    train.add_argument("--target", type=float,
                       help="with --side-by-side: also the seconds to this validation top-1")
    train.add_argument("--train-args", default="",
                       help="with --side-by-side: more apps/train.py flags, as one string")
    train.add_argument("--profile", metavar="DIR", help="also write a tf.profiler trace "
                       "there, and list the step's time by op type (op_s_per_step)")
    train.add_argument("--conv-floor", action="store_true",
                       help="also time every conv of the step alone (forward, backward-data, "
                            "backward-weights) with oneDNN: the step's cost in those kernels")
    infer = sub.add_parser("infer", help="Keras, SavedModel and TFLite inference")
    infer.add_argument("--arch", required=True)
    infer.add_argument("--batch-size", type=int, default=64)
    infer.add_argument("--threads", type=int, default=1)
    infer.add_argument("--kernels", choices=("xnnpack", "builtin"), default="xnnpack",
                       help="LiteRT CPU kernels: the XNNPACK delegate (default) or builtin only")
    pipeline = sub.add_parser("pipeline", help="input pipeline throughput and peak memory")
    pipeline.add_argument("--data-dir", help="image folder (default: a generated "
                                             "ImageNet-shaped one of --images JPEGs)")
    pipeline.add_argument("--images", type=_positive, default=3000)
    pipeline.add_argument("--image-size", type=_positive, default=224)
    pipeline.add_argument("--augmentation", choices=("cifar", "imagenet"), default="imagenet")
    pipeline.add_argument("--batch-size", type=_positive, default=128)
    pipeline.add_argument("--epochs", type=_positive, default=3,
                          help="epochs per source; their median rate is reported")
    pipeline.add_argument("--cutout", type=int, default=0)
    pipeline.add_argument("--device-augment", action="store_true",
                          help="the host's share when GPU plans crop, flip and cut out on "
                               "the device (in-memory CIFAR-size images: --cache memory)")
    pipeline.add_argument("--cache", default="none",
                          help="the folder's --cache (default none: read file by file; memory: "
                               "decoded once, as CIFAR trains)")
    pipeline.add_argument("--no-tfrecords", dest="tfrecords", action="store_false",
                          help="the folder only, not also its TFRecords")
    pipeline.add_argument("--step-arch", default="resnet-50",
                          help="the training step to compare with ('' for none)")
    pipeline.add_argument("--step-batch", type=_positive, default=16)
    winograd = sub.add_parser("winograd", help="oneDNN against Winograd, one 3x3 conv at a time")
    winograd.add_argument("--shapes", type=_shape, nargs="+", metavar="CHANNELS@SIDE",
                          default=[_shape(s) for s in WINOGRAD_SHAPES])
    winograd.add_argument("--batch-size", type=_positive, default=128)
    for p in (train, infer, pipeline, winograd):
        p.add_argument("--json", action="store_true", help="last line: one JSON object")
        p.add_argument("--output", help="result file (default benchmarks/results/...)")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.benchmark.machine import machine_info
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.data import DataError
    from keras_wrn.training import ConfigError

    try:
        result = {"train": _train, "infer": _infer, "pipeline": _pipeline,
                  "winograd": _winograd}[args.kind](args)
    except (ConfigError, DataError, ValueError) as err:
        fail(str(err))
    result["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    result["machine"] = machine_info()  # the CPU (its SIMD flags) and the runtimes' versions
    name = getattr(args, "arch", args.kind)
    output = Path(args.output) if args.output else \
        RESULTS / f"{args.kind}-{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(output, result)  # atomically, folders made as needed
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
