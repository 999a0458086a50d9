"""Prints the presets as a Markdown table (the README's model table): trainable and total
parameter counts (total where it differs: batch normalisation's moving statistics), next to the
paper's rounded count and the published error rates with where they are printed. The counts are
the presets' data, which tests/test_models.py checks against the built models; nothing is built.

Example:
    python apps/list_models.py 'pyramid*'
"""

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


def row(name: str) -> str:
    """The preset's table row, from its record."""
    preset = keras_wrn.get_preset(name)
    published = preset["published"]
    total = preset["total_params"]
    total = f"{total:,}" if total not in (None, preset["params"]) else ""
    return (f"| `{name}` | {preset['family']} | {preset['params']:,} | {total} | "
            f"{published['params_m']}M | {_errors(published)} | "
            f"{_short(published['errors_source'] or '')} | {_short(preset['source'])} |")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pattern", nargs="?", default="*", help="shell pattern, e.g. 'pyramid*'")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    print("| preset | family | trainable params | total params | paper | published error (%) | "
          "errors from | architecture from |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for name in keras_wrn.list_models(args.pattern):
        print(row(name))

if __name__ == "__main__":
    main()
