"""The declaration of a configuration field: its default, and its flag's help and choices (the
apps generate their flags from the fields)."""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = None, help: str | None = None, choices: tuple | None = None,
           key: str | None = None) -> Any:
    """A configuration field with its flag's help and choices (the flags of the apps are
    generated from the fields); ``key`` renames its flat key and flag where the field name
    alone would be ambiguous."""
    return dataclasses.field(default=default,
                             metadata={"help": help, "choices": choices, "key": key})
