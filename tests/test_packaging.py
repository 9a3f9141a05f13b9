"""The package as users get it: a wheel installed without the repository beside it.

The wheel is built from a copy of this checkout and installed, without its
dependencies, into a fresh virtual environment; the dependencies come from this
environment through a ``.pth`` file (no download, a few seconds). From an empty
folder, ``smime-harness run`` must find the built-in scenarios (the top-level
``features/`` folder, carried in the wheel), ``run -n 2`` must work, and
``engine.strategies`` must import.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import engine
from engine.harness.runner import builtin_features

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "engine", "features", "smime_harness")

checkout = pytest.mark.skipif(
    not PYPROJECT.is_file(), reason="not a source checkout: no pyproject.toml to build from"
)


def _env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "SMIME_HARNESS_", "PIP_REQUIRE_VIRTUALENV"))
        and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


def _run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=_env(), capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (the checkout itself is not written to)."""
    if not PYPROJECT.is_file():
        pytest.skip("not a source checkout: no pyproject.toml to build from")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = ROOT / name
        if not path.exists():
            continue  # the build says what it misses
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source,
        cwd=base,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [found] = (base / "dist").glob("smime_harness-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel; this environment's site-packages for the rest."""
    venv = tmp_path_factory.mktemp("venv")
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = _run(python, "-c", probe, cwd=venv).stdout.strip()
    # Appended after the venv's own site-packages: the wheel's engine comes first even
    # where this environment has one of its own (a .pth in a folder named here is not run,
    # so an editable install's finder stays out).
    Path(purelib, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel, cwd=venv,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return venv


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.BytesParser().parsebytes(archive.read(name))


@checkout
def test_the_wheel_declares_what_its_user_facing_features_need(wheel: Path) -> None:
    meta = _metadata(wheel)
    requires = meta.get_all("Requires-Dist") or []
    runtime = {
        r.split(";")[0].split("<")[0].split(">")[0].strip() for r in requires if ";" not in r
    }
    dev = {r.split(">")[0].strip() for r in requires if 'extra == "dev"' in r}
    # `run -n N` needs pytest-xdist; engine.strategies (public API) needs Hypothesis.
    assert {"pytest", "pytest-bdd", "pytest-xdist", "hypothesis"} <= runtime
    assert {"mypy", "ruff", "playwright"} <= dev
    assert not {"mypy", "ruff", "playwright"} & runtime
    assert meta["License-Expression"] == "MIT"
    assert meta["Version"] == engine.__version__
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"engine/py.typed", "smime_harness/py.typed"} <= names
    # The built-in client profiles are data files: without them engine.mail.profile cannot load.
    assert {"engine/mail/profiles/outlook98.toml", "engine/mail/profiles/thunderbird.toml"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    shipped = {n.removeprefix("engine/harness/features/") for n in names}
    in_checkout = {p.relative_to(ROOT / "features").as_posix() for p in _files(ROOT / "features")}
    assert in_checkout <= shipped


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


@checkout
def test_the_installed_wheel_runs_the_builtin_scenarios_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    tool = installed / "bin" / "smime-harness"
    where = _run(
        installed / "bin" / "python",
        "-c",
        "import engine, engine.strategies; print(engine.__file__)",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed)  # the wheel, not this checkout
    expected = {p.name for p in (ROOT / "features").glob("*.feature")}
    for folder, extra in (("one", ()), ("two", ("-n", "2"))):
        empty = tmp_path / folder
        empty.mkdir()
        run = _run(tool, "run", "-q", *extra, cwd=empty)
        assert run.returncode == 0, run.stdout + run.stderr
        summary = json.loads((empty / "reports" / "summary.json").read_text())
        assert summary["summary"]["failed"] == 0
        assert {Path(s["feature"]).name for s in summary["scenarios"]} == expected
        assert (empty / "reports" / "index.html").is_file()


@checkout
def test_the_checkout_runs_its_own_features_folder() -> None:
    """Editable or from the checkout, the built-in scenarios are the folder users edit."""
    if not Path(engine.__file__).resolve().is_relative_to(ROOT):
        pytest.skip("engine is installed from a wheel here, not from this checkout")
    assert builtin_features().resolve() == (ROOT / "features").resolve()


@checkout
def test_the_package_list_names_every_package_of_the_tree() -> None:
    """pyproject lists the packages (to map features/ in): a new folder must be listed too."""
    setuptools = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]
    mapped = setuptools["package-dir"]
    found = {"smime_harness", *mapped}
    for folder in [ROOT / "engine", *(p for p in (ROOT / "engine").rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__" and any(f.is_file() for f in folder.iterdir()):
            found.add(".".join(folder.relative_to(ROOT).parts))
    assert set(setuptools["packages"]) == found
    assert mapped == {"engine.harness.features": "features"}
