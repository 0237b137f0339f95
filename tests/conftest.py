"""Shared helpers: run the CLI as a user would, on the shipped data or a copy of it."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Cli:
    """``pipeline ARGS`` run in a folder; asserts the exit code and that no traceback leaks."""

    def __init__(self, cwd: Path):
        self.cwd = cwd

    def __call__(self, *args, expect: int | None = 0):
        with contextlib.chdir(self.cwd):
            result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
        assert "Traceback" not in result.output + result.stderr
        return result


@pytest.fixture
def cli() -> Cli:
    """The CLI run from the project folder, on the shipped content."""
    return Cli(ROOT)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch project folder holding a copy of content/, free to edit."""
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path


@pytest.fixture
def wcli(workdir: Path) -> Cli:
    """The CLI run in the scratch folder."""
    return Cli(workdir)


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in a copied data file; return the 1-based line of the edit."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    index = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, index) + 1


@pytest.fixture(scope="session", autouse=True)
def _release_renderers():
    """Release the in-process renderer before the interpreter shuts down: WeasyPrint's font
    configuration cannot free itself once its library bindings are gone (noise after the summary)."""
    yield
    import gc

    from pipeline import build
    build._renderer = None
    gc.collect()
