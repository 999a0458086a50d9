"""The declaration of a configuration field: its default, and its flag's help and choices (the
apps generate their flags from the fields)."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any


def option(default: Any = None, help: str | None = None, choices: tuple | None = None,
           key: str | None = None) -> Any:
    """A configuration field with its flag's help and choices (the flags of the apps are
    generated from the fields); ``key`` renames its flat key and flag where the field name
    alone would be ambiguous."""
    return dataclasses.field(default=default,
                             metadata={"help": help, "choices": choices, "key": key})


def base_type(hint: Any) -> Any:
    """``int | None`` -> int; ``list[float]`` stays as it is."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return hint


def flag_keywords(field: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """argparse keywords for one field: booleans as --x/--no-x, lists and tuples as several
    values, its help and choices; unset by default (the caller may give the field's)."""
    hint = base_type(hint)
    kwargs: dict[str, Any] = {"help": field.metadata.get("help"), "default": None}
    if hint is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif typing.get_origin(hint) in (list, tuple):
        kwargs.update(type=typing.get_args(hint)[0], nargs="*")
    else:
        kwargs["type"] = hint
    if field.metadata.get("choices"):
        kwargs["choices"] = list(field.metadata["choices"])
    return kwargs


def flag_of(field: dataclasses.Field) -> str:
    """The flag of a field: ``--`` and its key (its name unless renamed), dashed."""
    return "--" + (field.metadata.get("key") or field.name).replace("_", "-")


def add_field_flags(parser: Any, cls: type, overrides: dict[str, dict[str, Any]] | None = None,
                    exclude: tuple[str, ...] = ()) -> None:
    """Adds a flag per field of dataclass ``cls`` (but ``exclude``) to ``parser`` (or an
    argument group), its default the field's and its ``dest`` the field name, so the parsed
    namespace builds ``cls`` as it is; ``overrides`` replaces argparse keywords of a field."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in exclude:
            continue
        kwargs = flag_keywords(field, hints[field.name])
        if field.default is not dataclasses.MISSING:
            kwargs["default"] = field.default
        if field.metadata.get("key"):  # a renamed field shows its flag's name
            kwargs["metavar"] = field.metadata["key"].upper()
        parser.add_argument(flag_of(field), dest=field.name,
                            **{**kwargs, **(overrides or {}).get(field.name, {})})


def from_args(cls: type, args: Any) -> Any:
    """An instance of dataclass ``cls`` from the namespace :func:`add_field_flags` filled."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if hasattr(args, field.name):
            value = getattr(args, field.name)
            tuple_field = typing.get_origin(base_type(hints[field.name])) is tuple
            values[field.name] = tuple(value) if tuple_field and value is not None else value
    return cls(**values)
