r"""Convert a published PyTorch checkpoint into a keras_wrn `.keras` model.

    python apps/convert.py --from resnet50-0676ba61.pth --arch resnet-50 --output resnet50.keras
    python apps/convert.py --from resnet20-12fca82f.th --arch resnet-20 --output resnet20.keras
    python apps/convert.py --from cifar100_resnet32-84213ce6.pt --arch resnet --depth 32 \
        --output resnet32.keras
    python apps/convert.py --from pyramidnet200.pth.tar --arch pyramidnet-200-a300-imagenet \
        --output pyramidnet200.keras

Layouts (detected from the checkpoint's keys; --layout NAME to say which):
  akamaster           akamaster/pytorch_resnet_cifar10: CIFAR ResNet-20/32/44/56/110/1202,
                      option A with zero channels on both sides; ImageNet mean/std
  dxy                 D-X-Y/ResNeXt-DenseNet CifarResNet (DownsampleA): CIFAR ResNets, option A
                      with zero channels appended; CIFAR-10 or CIFAR-100 mean/std
  chenyaofo           chenyaofo/pytorch-cifar-models: CIFAR ResNet-20/32/44/56, option B
                      (1x1 projections); CIFAR-10 or CIFAR-100 mean/std
  torchvision         torchvision's ResNet-18/34/50/101/152 (ImageNet presets)
  pyramidnet-pytorch  dyhan0920/PyramidNet-PyTorch (PyramidNet, PyramidDrop, PyramidSepDrop)
  wrn-pytorch         szagoruyko/wide-residual-networks' PyTorch code (WRN)

The model takes 0-255 RGB pixels and normalises them as the layout's training did (override
with --mean/--std), so its logits on raw pixels equal the PyTorch model's on its normalised
input. A {'state_dict' | 'model' | 'net': ...} wrapper and DataParallel's `module.` prefix are
unwrapped. Needs torch (pip install 'keras_wrn[convert]'). The checkpoint is read with
weights_only=True: no code in it runs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", required=True,
                        help="PyTorch checkpoint (.pth, .pt, .th, .pth.tar: a state dict)")
    parser.add_argument("--arch", required=True,
                        help="preset or family of the checkpoint, e.g. resnet-50, wrn-28-10")
    parser.add_argument("--depth", type=int,
                        help="depth when --arch is a family, e.g. --arch resnet --depth 32")
    parser.add_argument("--output", required=True, help="the .keras file to write")
    parser.add_argument("--layout", help="the checkpoint's layout (default: detected)")
    parser.add_argument("--num-classes", type=int,
                        help="classes (default: the checkpoint's classifier)")
    parser.add_argument("--image-size", type=int,
                        help="input side (default: the preset's; the weights fit any)")
    parser.add_argument("--mean", help="R,G,B input mean of the training (default: the "
                                       "layout's)")
    parser.add_argument("--std", help="R,G,B input deviation of the training (default: the "
                                      "layout's)")
    parser.add_argument("--pixel-scale", type=int, choices=(1, 255),
                        help="the pixel scale --mean/--std are given in: 1 (PyTorch's "
                             "ToTensor, the default) or 255")
    return parser


def _stats(flag: str, text: str | None, scale: int) -> tuple[float, ...] | None:
    """A --mean/--std value as three numbers in 0-255 pixels, or a one-line error."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        fail(f"{flag} takes three numbers R,G,B, got {text!r}.")
    if flag == "--std" and min(values) <= 0:
        fail(f"--std must be > 0 per channel, got {text}.")
    if scale == 1 and max(abs(v) for v in values) > 1:
        fail(f"{flag} {text} is in 0-255 pixels; add --pixel-scale 255 (1: 0-1 pixels).")
    return tuple(v * 255 / scale for v in values)


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    if not args.output.endswith(".keras"):
        fail(f"--output {args.output} must end in .keras.")
    if args.image_size is not None and args.image_size < 8:
        fail(f"--image-size must be >= 8, got {args.image_size}.")
    if args.pixel_scale is not None and args.mean is None and args.std is None:
        fail("--pixel-scale says the scale of --mean/--std; give them too.")
    scale = args.pixel_scale or 1
    mean, std = _stats("--mean", args.mean, scale), _stats("--std", args.std, scale)
    import keras_wrn
    from keras_wrn.core.artifacts import save_model
    from keras_wrn.weights import WeightsError, layout_for, read_state_dict

    size = args.image_size
    try:
        family, values = keras_wrn.resolve(args.arch)
        state = read_state_dict(args.source)
        layout = layout_for(family, values.get("stem", "cifar"), state, args.layout)
        model = keras_wrn.build_model(args.arch, weights=state, weights_layout=layout.name,
                                      num_classes=args.num_classes, depth=args.depth,
                                      mean=mean, std=std,
                                      input_shape=(size, size, 3) if size else None)
    except (WeightsError, ValueError) as err:
        fail(str(err))
    save_model(model, Path(args.output))  # atomically: no half-written file
    normalize = model.get_layer("normalize").get_config()
    print(json.dumps({"arch": args.arch, "layout": layout.name, "output": args.output,
                      "params": model.count_params(), "num_classes": model.output_shape[-1],
                      "input_shape": list(model.input_shape[1:]),
                      "mean": [round(float(v), 4) for v in normalize["mean"]],
                      "std": [round(float(v) ** 0.5, 4) for v in normalize["variance"]]}))


if __name__ == "__main__":
    main()
