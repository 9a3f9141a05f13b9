"""Which scenarios a run selects: the feature files, a tag expression, a shard's slice.

Paths name feature files or folders of them (the built-in ones when none is named);
every file is parsed and checked before pytest starts, so a broken file is one line
naming it. Tags are written as in Gherkin (``@KB-04``) and handed to pytest's ``-m``.
``--shard K/N`` keeps a deterministic slice of what ``-k`` and ``-m`` selected, so N
machines together run each scenario once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.harness.grammar import parse_feature


class FeatureSelectionError(InputError):
    """A path names no feature files (missing, not a .feature file, or a folder without any)."""


def builtin_features() -> Path:
    """The built-in scenarios: the checkout's top-level ``features/`` folder.

    A wheel carries that folder as ``engine/harness/features`` (pyproject.toml maps it
    there); an editable install maps the same name to the checkout's folder itself.
    """
    import importlib.util

    import engine

    try:
        spec = importlib.util.find_spec("engine.harness.features")
    except ImportError:
        spec = None
    places = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    # Run from a checkout without installing (PYTHONPATH=.): the folder beside ``engine``.
    places.append(Path(engine.__file__).resolve().parent.parent / "features")
    for folder in places:
        if folder.is_dir() and any(folder.rglob("*.feature")):
            return folder
    raise FeatureSelectionError(
        "the built-in features folder",
        f"none at {places[-1]} nor in the installed package (an incomplete install: "
        "name feature files or folders to run)",
    )


def find_features(paths: Sequence[Path]) -> list[Path]:
    """Every .feature file the paths name, in order, each once."""
    found: dict[Path, None] = {}
    for path in paths:
        if not path.exists():
            raise FeatureSelectionError(
                "a feature file or folder", "no such path", source=str(path)
            )
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.feature") if p.is_file())
            if not files:
                raise FeatureSelectionError(
                    "a folder with .feature files", "none in it", source=str(path)
                )
        elif path.suffix == ".feature":
            files = [path]
        else:
            raise FeatureSelectionError(
                "a .feature file or a folder",
                f"a {path.suffix or 'extensionless'} file",
                source=str(path),
            )
        for file in files:
            found.setdefault(file.resolve(), None)
    return list(found)


def check_syntax(files: Sequence[Path]) -> None:
    """Parse and check each feature file, so a broken one is one line naming the file and line.

    A scenario that would check nothing (no Then step, a step lost to a misspelled
    keyword) is refused here too: :mod:`engine.harness.grammar`.
    """
    for file in files:
        parse_feature(file)


def tag_expression(text: str) -> str:
    """A tag expression as pytest's -m takes it: tags written as in Gherkin (``@KB-04``) lose
    the ``@``, which pytest would otherwise read as "arguments from the file KB-04"."""
    return re.sub(r"(^|[\s(])@+", r"\1", text)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    """``--shard K/N``: the K-th of N slices of the selected scenarios (1 <= K <= N).

    Scenario i of the selection (in collection order, after -k and -m) belongs to slice
    i mod N + 1: deterministic, so N machines running K = 1..N run each scenario once,
    and each slice gets scenarios of every feature (their costs differ).
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise InputError("a shard K/N with 1 <= K <= N", f"{self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise InputError("a shard K/N such as 1/4", repr(text))
        return cls(index=int(match.group(1)), count=int(match.group(2)))

    def split(self, items: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        kept = [item for i, item in enumerate(items) if i % self.count == self.index - 1]
        dropped = [item for i, item in enumerate(items) if i % self.count != self.index - 1]
        return kept, dropped

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
