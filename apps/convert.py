r"""Convert a published PyTorch checkpoint into a keras_wrn `.keras` model.

    python apps/convert.py --from resnet50-0676ba61.pth --arch resnet-50 --output resnet50.keras
    python apps/convert.py --from pyramidnet200.pth.tar --arch pyramidnet-200-a300-imagenet \
        --output pyramidnet200.keras

Layouts: torchvision's ResNets (ImageNet presets), dyhan0920/PyramidNet-PyTorch (PyramidNet,
PyramidDrop, PyramidSepDrop) and szagoruyko/wide-residual-networks' PyTorch code (WRN). The
model takes 0-255 RGB pixels and normalises them as the checkpoint's training did (ImageNet
mean/std for the ImageNet stems, CIFAR's otherwise), so its logits on raw pixels equal the
PyTorch model's on its normalised input. Needs torch (pip install 'keras_wrn[convert]'). The
checkpoint is read with weights_only=True: no code in it runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _app import fail, guarded


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", required=True,
                        help="PyTorch checkpoint (.pth, .pt, .pth.tar: a state dict)")
    parser.add_argument("--arch", required=True,
                        help="preset or family of the checkpoint, e.g. resnet-50, wrn-28-10")
    parser.add_argument("--output", required=True, help="the .keras file to write")
    parser.add_argument("--num-classes", type=int,
                        help="classes (default: the checkpoint's classifier)")
    parser.add_argument("--image-size", type=int,
                        help="input side (default: the preset's; the weights fit any)")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if not args.output.endswith(".keras"):
        fail(f"--output {args.output} must end in .keras.")
    if args.image_size is not None and args.image_size < 8:
        fail(f"--image-size must be >= 8, got {args.image_size}.")
    import keras_wrn
    from keras_wrn.training.artifacts import save_model
    from keras_wrn.weights import WeightsError, layout_for

    size = args.image_size
    try:
        family, values = keras_wrn.resolve(args.arch)
        layout = layout_for(family, values.get("stem", "cifar")).name
        model = keras_wrn.build_model(args.arch, weights=args.source,
                                      num_classes=args.num_classes,
                                      input_shape=(size, size, 3) if size else None)
    except (WeightsError, ValueError) as err:
        fail(str(err))
    save_model(model, Path(args.output))  # atomically: no half-written file
    print(json.dumps({"arch": args.arch, "layout": layout, "output": args.output,
                      "params": model.count_params(), "num_classes": model.output_shape[-1],
                      "input_shape": list(model.input_shape[1:])}))


if __name__ == "__main__":
    main()
