"""Delete residual blocks of a trained model at test time and measure top-1 (Veit, Wilber &
Belongie 2016): each block in turn, then k random blocks for k = 1..n.

    python apps/lesion.py --model runs/resnet-32 --output runs/resnet-32/lesion
    python apps/lesion.py --model model.keras --dataset synthetic --output lesion --draws 5

Writes OUTPUT/lesion.json and OUTPUT/lesion.png (error against the deleted block, and against
the number deleted). Data as apps/evaluate.py: by default a training directory's own
validation split. The plot needs matplotlib (pip install 'keras_wrn[analysis]').
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from _app import add_evaluation_flags, fail, guarded, load_evaluation, parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_evaluation_flags(parser, ".keras file or training output dir")
    parser.add_argument("--output", required=True, help="folder for lesion.json, lesion.png")
    parser.add_argument("--draws", type=int, default=3,
                        help="random sets of blocks per k (default 3)")
    parser.add_argument("--max-examples", type=int,
                        help="measure on the first N examples only (default: all)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="draws of the random sets")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    for flag in ("draws", "batch_size", "max_examples"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            fail(f"--{flag.replace('_', '-')} must be >= 1, got {value}.")
    from keras_wrn.training.config import MAX_SEED

    if not 0 <= args.seed <= MAX_SEED:
        fail(f"--seed must be in [0, {MAX_SEED}], got {args.seed}.")
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        fail(f"--output {output} is a file; pass a folder.")
    import matplotlib  # noqa: F401  (before the minutes of measuring: is the plot possible?)

    from keras_wrn.analysis import lesion, plot
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.data import eval_dataset

    loaded, source, examples = load_evaluation(args, "lesion deletes the residual blocks")
    run = loaded.run
    if args.max_examples:
        examples = examples.take(args.max_examples)
    dataset = eval_dataset(examples, source.num_classes, args.batch_size).cache()
    try:
        result = lesion(run.model, dataset, draws=args.draws, seed=args.seed)
    except ValueError as err:
        fail(str(err))
    result["model_path"] = str(args.model)
    output.mkdir(parents=True, exist_ok=True)
    # The plot is written next to its final name and renamed: never half a PNG.
    tmp = output / ".lesion.png.tmp"
    try:
        plot(result, str(tmp), title=f"{run.model.name}: residual blocks deleted at test time")
        os.replace(tmp, output / "lesion.png")
    finally:
        tmp.unlink(missing_ok=True)
    write_json(output / "lesion.json", result)
    worst = min(result["single"], key=lambda r: r["top1"])
    print(f"{result['blocks']} blocks, top-1 {result['baseline_top1']:.4f}; one deleted: "
          f"{min(r['top1'] for r in result['single']):.4f} to "
          f"{max(r['top1'] for r in result['single']):.4f} (worst {worst['block']}); all but "
          f"one deleted at random: {result['random'][-2]['top1_mean']:.4f}"
          if result["blocks"] > 1 else f"1 block, top-1 {result['baseline_top1']:.4f}")
    print(f"wrote {output / 'lesion.json'} and {output / 'lesion.png'}")


if __name__ == "__main__":
    main()
