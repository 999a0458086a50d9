"""Prints the presets as a Markdown table: parameter count measured by building each model, next
to the paper's rounded count and the published error rates with where they are printed (the
README's model table)."""

import argparse
import re

import _app  # noqa: F401

import keras_wrn


def _short(source: str) -> str:
    """A source without its arXiv number and the paper's title: "He et al. 2015, Table 6"."""
    source = re.sub(r" \(arXiv:[^)]*\)", "", source)
    return re.sub(r"^(.*? \d{4}), [^,(]+", r"\1", source)


def _errors(published: dict) -> str:
    keys = [("cifar10_error", "C10"), ("cifar100_error", "C100"),
            ("imagenet_top1_error", "IN top-1")]
    return ", ".join(f"{label} {published[k]:.2f}" for k, label in keys
                     if published.get(k) is not None)


def row(name: str, params: int) -> str:
    """The preset's table row, with ``params`` the count measured by building it."""
    preset = keras_wrn.get_preset(name)
    published = preset["published"]
    return (f"| `{name}` | {preset['family']} | {params:,} | {published['params_m']}M | "
            f"{_errors(published)} | {_short(published['errors_source'] or '')} | "
            f"{_short(preset['source'])} |")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pattern", nargs="?", default="*", help="shell pattern, e.g. 'pyramid*'")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    print("| preset | family | measured params | paper | published error (%) | errors from | "
          "architecture from |")
    print("|---|---|---:|---:|---|---|---|")
    for name in keras_wrn.list_models(args.pattern):
        preset = keras_wrn.get_preset(name)
        stem = preset["hparams"].get("stem", "cifar")
        model = keras_wrn.build_model(name, input_shape=(64, 64, 3) if stem == "imagenet" else None)
        params = sum(int(w.numpy().size) for w in model.trainable_weights)
        print(row(name, params), flush=True)


if __name__ == "__main__":
    main()
