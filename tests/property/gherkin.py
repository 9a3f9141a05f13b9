"""Print a shrunk counterexample as a Gherkin Scenario Outline Examples table.

A property that fails calls :func:`note_example` with the example's
parameters in words; Hypothesis prints notes only for the final, shrunk
example, so the failure report ends with a table that pastes under a
``Scenario Outline`` in a feature file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import note


def cell(value: object) -> str:
    """One table cell: Gherkin escapes ``\\``, ``|`` and new lines inside cells."""
    text = value if isinstance(value, str) else _words(value)
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "\\n")
    ).strip()


def _words(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) or "none"
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, str):
        return enum_value
    return str(value)


def examples_table(rows: Sequence[Mapping[str, object]], *, indent: str = "    ") -> str:
    """``Examples:`` with a header row from the first row's keys and aligned columns."""
    if not rows:
        raise ValueError("rows=[], but at least one row is needed")
    columns = list(rows[0])
    for row in rows[1:]:
        if list(row) != columns:
            raise ValueError(f"row keys {list(row)} differ from the header {columns}")
    cells = [[cell(name) for name in columns]] + [[cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        indent
        + "  | "
        + " | ".join(text.ljust(w) for text, w in zip(line, widths, strict=True))
        + " |"
        for line in cells
    ]
    return "\n".join([f"{indent}Examples:", *lines])


def note_example(outline: str, row: Mapping[str, object]) -> str:
    """Note ``row`` as an Examples table for the Scenario Outline named ``outline``."""
    text = f"# Scenario Outline: {outline}\n{examples_table([row])}"
    note(text)
    return text
