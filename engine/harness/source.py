"""What a feature file says where: lines of its feature, scenarios, tags and Examples rows.

pytest-bdd keeps only tag names; a report a Cucumber tool reads needs each tag's
line, each Examples row's line and the feature's description too. The file is
read once more with the official Gherkin parser (the one pytest-bdd uses) and
hashed, so the report names exactly the bytes that ran.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from engine.report.model import TagRecord


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExampleRow:
    line: int
    cells: tuple[tuple[str, str], ...]  # (header, value)
    tags: tuple[TagRecord, ...]  # the tags of its Examples block


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSource:
    line: int
    keyword: str
    name: str
    description: str
    tags: tuple[TagRecord, ...]
    rows: tuple[ExampleRow, ...] = ()

    def row(self, example: Mapping[str, str]) -> ExampleRow | None:
        """The Examples row with these values (the first, if two rows are identical)."""
        wanted = tuple(sorted(example.items()))
        return next((r for r in self.rows if tuple(sorted(r.cells)) == wanted), None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSource:
    keyword: str
    name: str
    line: int
    description: str
    tags: tuple[TagRecord, ...]
    sha256: str
    scenarios: dict[int, ScenarioSource]  # by the scenario's line


def read_feature(path: Path) -> FeatureSource:
    """Parse ``path`` (already checked by the runner) for its lines, tags and digest."""
    from gherkin.parser import Parser

    data = path.read_bytes()
    document = cast(dict[str, Any], Parser().parse(data.decode("utf-8")))
    feature: dict[str, Any] = document.get("feature") or {}
    scenarios: dict[int, ScenarioSource] = {}
    for child in feature.get("children", ()):
        # A Rule holds its own scenarios (Gherkin 6); pytest-bdd runs them like the others.
        for item in (child, *child.get("rule", {}).get("children", ())):
            scenario = item.get("scenario")
            if scenario is not None:
                source = _scenario(scenario)
                scenarios[source.line] = source
    return FeatureSource(
        keyword=str(feature.get("keyword", "Feature")),
        name=str(feature.get("name", "")),
        line=int(feature.get("location", {}).get("line", 1)),
        description=_description(feature),
        tags=_tags(feature),
        sha256=hashlib.sha256(data).hexdigest(),
        scenarios=scenarios,
    )


def _scenario(scenario: dict[str, Any]) -> ScenarioSource:
    rows: list[ExampleRow] = []
    for examples in scenario.get("examples", ()):
        header = examples.get("tableHeader") or {}
        names = [str(cell["value"]) for cell in header.get("cells", ())]
        for body in examples.get("tableBody", ()):
            values = [str(cell["value"]) for cell in body.get("cells", ())]
            rows.append(
                ExampleRow(
                    line=int(body["location"]["line"]),
                    cells=tuple(zip(names, values, strict=False)),
                    tags=_tags(examples),
                )
            )
    return ScenarioSource(
        line=int(scenario["location"]["line"]),
        keyword=str(scenario.get("keyword", "Scenario")),
        name=str(scenario.get("name", "")),
        description=_description(scenario),
        tags=_tags(scenario),
        rows=tuple(rows),
    )


def _tags(node: dict[str, Any]) -> tuple[TagRecord, ...]:
    return tuple(
        TagRecord(name=str(tag["name"]).lstrip("@"), line=int(tag["location"]["line"]))
        for tag in node.get("tags", ())
    )


def _description(node: dict[str, Any]) -> str:
    # Gherkin keeps the description's indentation; Cucumber's own JSON trims each line.
    lines = str(node.get("description") or "").splitlines()
    return "\n".join(line.strip() for line in lines).strip()
