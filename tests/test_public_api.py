"""The package's public API: every exported name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import engine


def test_every_export_resolves() -> None:
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        engine.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_engine_does_not_load_cms_modules() -> None:
    code = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith('engine')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # only the package and the small finder that keeps earlier import paths working
    assert out.stdout.strip() == "['engine', 'engine._internal', 'engine._internal.compat']"


def test_readme_example_runs() -> None:
    """The README's Python API example, verbatim."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md", "exec"), {})
