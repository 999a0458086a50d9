"""What an export is asked to do, as two dataclasses: `ExportOptions` (formats, fine-tuning,
measurement) and `ExportRequest` (the model, where it goes, the data it is calibrated and
measured on). apps/export.py's flags are generated from their fields, as train's are from the
configuration's, so a new option is a field here and a flag at once. No TensorFlow import."""

from __future__ import annotations

import argparse
import dataclasses

from keras_wrn.core.fields import add_field_flags, from_args, option
from keras_wrn.export.layout import ExportError

DEFAULT_FORMATS = ("saved_model", "tflite_fp32", "tflite_int8")


def format_names(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """``--formats``' comma-separated names as a tuple (a tuple passes as it is)."""
    if isinstance(text, tuple):
        return text
    return tuple(name.strip() for name in text.split(",") if name.strip())


@dataclasses.dataclass
class ExportOptions:
    """How the model is exported: which formats, how QAT and pruning fine-tune, how latency
    and TFLite Micro are measured."""

    formats: tuple[str, ...] = option(DEFAULT_FORMATS, "comma-separated format names")
    version: int | None = option(None, "integer version (default: next free)")
    qat_epochs: int = option(0, "QAT fine-tuning epochs")
    qat_lr: float = option(1e-3, "QAT / pruning fine-tuning's first LR, annealed to zero by a "
                                 "cosine")
    freeze_bn_after: float = option(0.25, "QAT: batch-norm statistics frozen after this "
                                          "fraction of its steps")
    qat_targets: str = option("distill", "QAT fine-tunes on the float model's probabilities "
                                         "(distill: it learns to answer as the float model "
                                         "does) or on the labels", ("distill", "labels"))
    label_smoothing: float = option(0.0, "the training recipe's (read from the run)")
    prune_sparsity: float = option(0.0, "target kernel sparsity", key="prune")
    prune_epochs: int = option(1)
    fine_tune_steps: int | None = option(None, "cap steps per QAT/pruning epoch")
    threads: int = option(1, "LiteRT and onnxruntime threads for latency")
    lesion: tuple[int, ...] = option((), "depth ladder: also export the model without the K "
                                         "residual blocks whose deletion costs least top-1 on "
                                         "the evaluation data, for each K")
    micro_examples: int = option(200, "evaluation images each int8 model runs on under TFLite "
                                      "Micro, one at a time (0: only the arena size)")


@dataclasses.dataclass
class ExportRequest:
    """One export: the trained model (a training folder or a .keras file), its name and
    folder, and the data it is calibrated (and fine-tuned) and measured on."""

    model: str = option(None, ".keras file or training output directory")
    name: str = option(None, "model name (TF Serving's), one folder name inside --export-dir")
    export_dir: str = option("exports")
    calibration_dir: str | None = option(None, "training image folder (calibration, "
                                               "fine-tuning)")
    calibration_dataset: str | None = option(None, "TFDS name or 'synthetic'")
    calibration_examples: int = option(200)
    eval_data_dir: str | None = option(None, "evaluation image folder (every image)")
    eval_dataset: str | None = option(None, "TFDS name or 'synthetic' (its held-out split)")
    eval_examples: int = option(0, "0: all")
    tfds_data_dir: str | None = option(None)
    options: ExportOptions = dataclasses.field(default_factory=ExportOptions)

    def check(self) -> None:
        """ExportError (one line naming the flag) for a count or fraction out of range."""
        opts = self.options
        for flag, value, least in (("--calibration-examples", self.calibration_examples, 1),
                                   ("--eval-examples", self.eval_examples, 0),
                                   ("--qat-epochs", opts.qat_epochs, 0),
                                   ("--prune-epochs", opts.prune_epochs, 1),
                                   ("--fine-tune-steps", opts.fine_tune_steps, 1),
                                   ("--threads", opts.threads, 1),
                                   ("--micro-examples", opts.micro_examples, 0)):
            if value is not None and value < least:
                raise ExportError(f"{flag} must be >= {least}, got {value}.")
        if not 0 <= opts.freeze_bn_after <= 1:
            raise ExportError(f"--freeze-bn-after is a fraction of the QAT steps in [0, 1], "
                              f"got {opts.freeze_bn_after}.")


def add_export_flags(parser: argparse.ArgumentParser) -> None:
    """Adds a flag per field of ExportRequest and ExportOptions (but ``label_smoothing``,
    which comes from the run); the format lists in the help come from the registry."""
    from keras_wrn.export.formats import ordered

    formats = ordered()
    add_field_flags(parser, ExportRequest, exclude=("options",), overrides={
        "model": {"required": True}, "name": {"required": True}})
    add_field_flags(parser, ExportOptions, exclude=("label_smoothing",), overrides={
        "formats": {"default": ",".join(DEFAULT_FORMATS), "type": format_names, "nargs": None,
                    "help": "comma-separated, of: " + "; ".join(
                        f"{fmt.name} ({fmt.help})" for fmt in formats)},
        "lesion": {"nargs": "+", "default": [], "metavar": "K",
                   "help": ExportOptions.__dataclass_fields__["lesion"].metadata["help"]
                   + " (in the first of --formats that is one of "
                   + ", ".join(fmt.name for fmt in formats if fmt.ladder) + ")"}})


def request_from_args(args: argparse.Namespace) -> ExportRequest:
    """The ExportRequest :func:`add_export_flags`' flags describe."""
    request = from_args(ExportRequest, args)
    request.options = from_args(ExportOptions, args)
    return request
