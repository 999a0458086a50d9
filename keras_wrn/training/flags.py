"""Command-line flags generated from the configuration's fields, so that train, tune and
benchmark spell every option the same way and a new field is a flag everywhere at once."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from keras_wrn.core.fields import flag_keywords
from keras_wrn.training.config import KEYS, SECTIONS, Key

TITLES = {
    "model": "model (a family or preset; flags override it)",
    "data": "data",
    "recipe": "recipe (defaults: the family's paper recipe)",
    "runtime": "runtime (default: the runtime plan for the visible devices)",
}


def _argument(key: Key) -> dict[str, Any]:
    """argparse keywords for one key: booleans as --x/--no-x, lists as several values."""
    return flag_keywords(key.field, key.hint)


def section_keys(section: str) -> list[str]:
    """The flat keys of one section."""
    return [name for name, key in KEYS.items() if key.section == section]


def add_config_flags(parser: argparse.ArgumentParser, only: Iterable[str] | None = None,
                     exclude: Iterable[str] = (),
                     overrides: dict[str, dict[str, Any]] | None = None) -> None:
    """Adds a flag per configuration key (or per key in ``only``), in an argument group per
    section; ``overrides`` replaces argparse keywords of a key (a default, ``required``, a help
    text that says what the key means in that app)."""
    overrides = overrides or {}
    names = [name for name in (only or KEYS) if name not in exclude]
    for section in SECTIONS:
        keys = [name for name in names if KEYS[name].section == section]
        if not keys:
            continue
        group = parser.add_argument_group(TITLES[section])
        for name in keys:
            group.add_argument(KEYS[name].flag,
                               **{**_argument(KEYS[name]), **overrides.get(name, {})})


def given_config(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration keys set on the command line (flags left out are None)."""
    return {k: v for k, v in vars(args).items() if k in KEYS and v is not None}
