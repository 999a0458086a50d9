"""Check keras_wrn on a machine with a GPU, in one command (minutes on one GPU):

    python apps/gpu_check.py

Prints one JSON line per case: training images/s after compilation and the compile time, for
resnet-20, pyramidnet-110-a48, pyramidsepdrop-110-a48 and wrn-28-10 at batch 128 and 512, with
the default runtime plan, with XLA off and in fp32; then trains ResNet-8 for 2 epochs on the
synthetic set with the default plan, which must pass 90% validation top-1 (exit 1 if it does
not). Stops at once when no GPU is visible; --allow-cpu runs the same cases on the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import tempfile
import time

from _app import fail, guarded

# The cases' models: presets, and PyramidSepDrop-110 at the PyramidNet preset's widening.
ARCHS = {"resnet-20": {"arch": "resnet-20"}, "pyramidnet-110-a48": {"arch": "pyramidnet-110-a48"},
         "pyramidsepdrop-110-a48": {"arch": "pyramidsepdrop", "depth": 110, "alpha": 48},
         "wrn-28-10": {"arch": "wrn-28-10"}}
# Each variant is the default plan with some choices forced.
VARIANTS = {"default": {}, "xla_off": {"jit_compile": False}, "fp32": {"precision": "fp32"}}
# The training check: ResNet-8 (as the README's two-worker command) must pass 90% on the
# synthetic set (chance: 10%) in 2 epochs of the quick recipe.
TRAIN_CHECK = {"arch": "resnet", "depth": 8}
PASS_TOP1 = 0.9


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", nargs="+", choices=list(ARCHS), default=list(ARCHS))
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--steps", type=int, default=10,
                   help="training steps per timed host call (one loop)")
    p.add_argument("--train-epochs", type=int, default=2)
    p.add_argument("--allow-cpu", action="store_true",
                   help="run without a GPU (to test this command)")
    return p


def throughput(config, plan, strategy) -> dict:
    """Compile time and images/s after compilation of one loop of ``plan.steps_per_loop``."""
    import keras
    import tensorflow as tf

    from keras_wrn.benchmark import timed_step

    with tempfile.TemporaryDirectory() as tmp:
        try:
            _, call = timed_step(config, plan, strategy, tmp)
            start = time.perf_counter()
            call()  # traces and compiles, then runs one loop
            first = time.perf_counter() - start
            start = time.perf_counter()
            call()
            loop = time.perf_counter() - start
        except tf.errors.ResourceExhaustedError:
            return {"error": "out of memory"}
        finally:
            keras.backend.clear_session()
    images = config.recipe.batch_size * plan.steps_per_loop
    return {"images_per_s": round(images / loop, 1), "compile_s": round(first - loop, 2),
            "plan": plan.summary()}


@guarded
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if min(args.batch_sizes) < 1 or args.steps < 1 or args.train_epochs < 1:
        fail("--batch-sizes, --steps and --train-epochs must be >= 1.")
    from keras_wrn.data import load_synthetic
    from keras_wrn.runtime import PlanError, RuntimeRequest, resolve_plan, start
    from keras_wrn.runtime.devices import detect
    from keras_wrn.training import ConfigError, Trainer, resolve_config

    try:
        configs = {(arch, batch): resolve_config({
            **ARCHS[arch], "dataset": "synthetic", "batch_size": batch,
            "strategy": "one_device", "steps_per_loop": args.steps})
            for arch in args.archs for batch in args.batch_sizes}
        base, strategy = start(RuntimeRequest(strategy="one_device"),
                               require_gpu=not args.allow_cpu)
    except (ConfigError, PlanError, ValueError) as err:
        fail(str(err))
    devices = detect()

    def plan_for(config, **forced):
        request = dataclasses.replace(config.runtime.request(), **forced)
        return dataclasses.replace(resolve_plan(request, devices), xla_fusion=base.xla_fusion)

    for (arch, batch), config in configs.items():
        for variant in args.variants:
            row = throughput(config, plan_for(config, **VARIANTS[variant]), strategy)
            print(json.dumps({"case": "throughput", "arch": arch, "batch_size": batch,
                              "variant": variant, **row}), flush=True)

    config = resolve_config({**TRAIN_CHECK, "dataset": "synthetic", "recipe": "quick",
                             "epochs": args.train_epochs, "strategy": "one_device"})
    with tempfile.TemporaryDirectory() as tmp:
        start_time = time.perf_counter()
        trainer = Trainer(config, strategy, load_synthetic(32), tmp, log=lambda _: None,
                          plan=plan_for(config))
        with contextlib.redirect_stdout(io.StringIO()):  # the progress bar: JSON lines only
            top1 = trainer.fit()[-1]["val_top1"]
    passed = top1 >= PASS_TOP1
    print(json.dumps({"case": "train", "arch": "resnet-8", "epochs": args.train_epochs,
                      "val_top1": top1, "passed": passed, "plan": trainer.plan.summary(),
                      "seconds": round(time.perf_counter() - start_time, 1)}), flush=True)
    if not passed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
