"""TOML files checked against a schema: policies and client profiles read the same way.

A document is parsed with :mod:`tomllib` and walked against a nested ``dict`` of
:class:`Field`: an unknown key, a missing key, a wrong type, a value outside its
range or its choices, a syntax error or too deep a nesting is a :class:`TomlFileError`
naming the file, the dotted key path (or line and column), what was expected and
what was found — one line, so the CLI prints it and exits 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.errors import InputError


class TomlFileError(InputError):
    """A TOML file is unreadable, malformed or does not match its schema.

    ``file`` names the file, ``key`` the dotted key path (or the line and column of
    a syntax error); ``expected`` and ``found`` say the rest.
    """

    def __init__(self, *, file: str, key: str, expected: str, found: str) -> None:
        self.file = file
        self.key = key
        super().__init__(expected, found, source=f"{file}: {key}")


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    kind: str  # "str", "bool", "int", "choice", "choices"
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True

    def describe(self) -> str:
        if self.kind == "str":
            return "a string"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            bounds = [f">= {self.minimum}"] if self.minimum is not None else []
            bounds += [f"<= {self.maximum}"] if self.maximum is not None else []
            return " ".join(["an integer", " and ".join(bounds)]).strip()
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        return f"a non-empty list of distinct values from {', '.join(self.choices)}"


def type_name(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class Reader:
    """Validates a parsed TOML document against a schema, naming the file on error."""

    def __init__(self, file: str, error: type[TomlFileError]) -> None:
        self.file = file
        self._error = error

    def error(self, key: str, expected: str, found: str) -> TomlFileError:
        return self._error(file=self.file, key=key, expected=expected, found=found)

    def table(self, data: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = f"{prefix}{key}"
            if key not in schema:
                known = ", ".join(schema)
                close = difflib.get_close_matches(key, list(schema), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(path, f"one of the keys {known}", f"unknown key {key!r}{hint}")
            spec = schema[key]
            if isinstance(spec, dict):
                if not isinstance(value, dict):
                    raise self.error(path, "a table", type_name(value))
                self.table(value, spec, f"{path}.")
            else:
                self.value(path, value, spec)
        for key, spec in schema.items():
            required = isinstance(spec, dict) or spec.required
            if required and key not in data:
                expected = "a table" if isinstance(spec, dict) else spec.describe()
                raise self.error(f"{prefix}{key}", expected, "nothing (the key is missing)")

    def value(self, path: str, value: object, spec: Field) -> None:
        expected = spec.describe()
        if spec.kind == "str":
            if not isinstance(value, str):
                raise self.error(path, expected, type_name(value))
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                raise self.error(path, expected, type_name(value))
        elif spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(path, expected, type_name(value))
            if (spec.minimum is not None and value < spec.minimum) or (
                spec.maximum is not None and value > spec.maximum
            ):
                raise self.error(path, expected, str(value))
        elif spec.kind == "choice":
            if not isinstance(value, str):
                raise self.error(path, expected, type_name(value))
            if value not in spec.choices:
                raise self.error(path, expected, repr(value))
        else:
            if not isinstance(value, list):
                raise self.error(path, expected, type_name(value))
            if not value:
                raise self.error(path, expected, "an empty list")
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.error(f"{path}[{index}]", expected, type_name(item))
                if item not in spec.choices:
                    raise self.error(f"{path}[{index}]", expected, repr(item))
            duplicates = sorted({v for v in value if value.count(v) > 1})
            if duplicates:
                raise self.error(path, expected, f"{duplicates[0]!r} twice")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, table by table (what ``extends`` means)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Arrays and inline tables nested inside one another: tomllib reads them recursively, so a
# few hundred levels exhaust Python's stack. A policy or a profile nests two or three.
MAX_TOML_NESTING = 100


def check_nesting(text: str, file: str, error: type[TomlFileError]) -> None:
    """Refuse arrays and inline tables nested deeper than MAX_TOML_NESTING, before tomllib
    recurses into them. Brackets inside strings and comments do not count (TOML 1.0)."""
    depth = 0
    at, size = 0, len(text)
    while at < size:
        char = text[at]
        if char in "[{":
            depth += 1
            if depth > MAX_TOML_NESTING:
                raise error(
                    file=file,
                    key=f"line {text.count(chr(10), 0, at) + 1}",
                    expected=f"arrays and tables nested at most {MAX_TOML_NESTING} levels deep",
                    found=f"more than {MAX_TOML_NESTING} levels",
                )
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "#":
            at = text.find("\n", at)
            if at < 0:
                return
            continue
        elif char in "\"'":
            at = _string_end(text, at)
            continue
        at += 1


def _string_end(text: str, start: int) -> int:
    """The offset just past the TOML string that starts at ``start`` (basic or literal,
    one line or multi-line); the end of the text when it is not closed."""
    quote = text[start]
    delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
    at = start + len(delimiter)
    while at < len(text):
        if quote == '"' and text[at] == "\\":
            at += 2  # an escape: the next character is never the closing quote
            continue
        if text.startswith(delimiter, at):
            end = at + len(delimiter)
            while len(delimiter) == 3 and text.startswith(quote, end) and end - at < 5:
                end += 1  # up to two quotes may end a multi-line string's content
            return end
        if len(delimiter) == 1 and text[at] == "\n":
            return at  # an unclosed one-line string: tomllib will say so
        at += 1
    return at


def parse(text: str, file: str, error: type[TomlFileError]) -> dict[str, Any]:
    """The TOML document, or an error naming the line and column of the syntax error."""
    check_nesting(text, file, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        where = "syntax"
        if "(at " in detail and detail.endswith(")"):
            detail, _, position = detail.rpartition(" (at ")
            where = position[:-1]
        raise error(
            file=file, key=where, expected="valid TOML", found=detail[:1].lower() + detail[1:]
        ) from None


def read_text(path: Path, what: str, error: type[TomlFileError]) -> str:
    """The UTF-8 text of a TOML file; ``what`` says what kind of file it should be."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(file=str(path), key="(file)", expected=what, found="no such file") from None
    except OSError as exc:
        raise error(
            file=str(path),
            key="(file)",
            expected=f"a readable {what.removeprefix('a ')}",
            found=exc.strerror or str(exc),
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(
            file=str(path), key="(file)", expected="UTF-8 TOML text", found="undecodable bytes"
        ) from None
