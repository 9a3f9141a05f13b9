"""The counterexample printer: its tables parse back as Gherkin with the same values."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_bdd.parser import FeatureParser

from tests.property.gherkin import cell, examples_table, note_example


class Colour(enum.Enum):
    RED = "red"


def _parse_back(tmp_path: Path, table: str, columns: list[str]) -> list[dict[str, str]]:
    steps = "\n".join(f"    Given the value <{c}>" for c in columns)
    feature = f"Feature: printed\n  Scenario Outline: row\n{steps}\n\n{table}\n"
    (tmp_path / "printed.feature").write_text(feature, encoding="utf-8")
    parsed = FeatureParser(str(tmp_path), "printed.feature").parse()
    template = parsed.scenarios["row"]
    return [dict(ctx) for ctx in template.examples[0].as_contexts()]


# Cell text a Gherkin parser takes back unchanged: no leading/trailing white space,
# and no characters Gherkin treats as line breaks.
_cell_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]) | st.sampled_from("|\\"),
    max_size=30,
).map(str.strip)


@given(values=st.lists(_cell_text, min_size=1, max_size=4))
def test_a_printed_row_parses_back_to_the_same_values(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    tmp_path = tmp_path_factory.mktemp("gherkin")
    columns = [f"c{i}" for i in range(len(values))]
    row = dict(zip(columns, values, strict=True))
    parsed = _parse_back(tmp_path, examples_table([row]), columns)
    assert parsed == [row]


def test_values_read_as_words() -> None:
    assert cell(True) == "yes"
    assert cell(None) == "none"
    assert cell(Colour.RED) == "red"
    assert cell(("a", Colour.RED)) == "a, red"
    assert cell("a|b\nc") == "a\\|b\\nc"


def test_rows_must_share_columns() -> None:
    with pytest.raises(ValueError, match="differ from the header"):
        examples_table([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="at least one row"):
        examples_table([])


def test_a_failing_property_prints_the_shrunk_row() -> None:
    @given(st.integers(min_value=0, max_value=1000))
    def prop(n: int) -> None:
        note_example("numbers stay small", {"number": n, "small": n < 10})
        assert n < 10

    with pytest.raises(AssertionError) as failure:
        prop()
    # Hypothesis attaches notes to the exception (PEP 678); pytest prints them with it.
    text = "\n".join(getattr(failure.value, "__notes__", []))
    assert "# Scenario Outline: numbers stay small" in text
    assert "| number | small |" in text
    assert "| 10     | no    |" in text  # shrunk to the smallest failing value
