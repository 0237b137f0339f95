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


# --- real clients: never skipped ----------------------------------------------------------------
# `make test` installs these (scripts/setup-system.sh --test). A test that needs one fails, naming
# the Debian package, when it is missing: a check that quietly does not run is no check.

SOFFICE = ("soffice", "libreoffice-writer-nogui")
SOFFICE_CALC = ("soffice", "libreoffice-calc-nogui")
PDFTOPPM = ("pdftoppm", "poppler-utils")
CHROMIUM = ("chromium", "chromium")


def require(tool: tuple[str, str]) -> str:
    """The path of a client program the tests drive (one of the pairs above: program, Debian
    package); a failure naming the package when it is not installed."""
    program, package = tool
    found = shutil.which(program)
    if found is None:
        pytest.fail(f"测试需要 {program}，但本机没有安装：请运行 make setup-test，"
                    f"或执行 apt-get install {package}", pytrace=False)
    return found


def _no_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"测试被跳过（本项目不允许静默跳过）：{reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """No silent skips: a skipped test is reported as failed, with its reason."""
    outcome = yield
    _no_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """… and so is a test file skipped whole (``pytest.importorskip`` and the like)."""
    outcome = yield
    _no_skip(outcome.get_result())


# --- tests never change the repository ------------------------------------------------------------
# Whatever a test modifies is a copy under a temporary folder. The whole run is checked: every
# file of the project (caches and the virtual environment aside) is the same after it as before.

UNWATCHED = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "mutants", "build"}


def project_state() -> dict[str, tuple[int, str]]:
    import hashlib
    import os

    state = {}
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in UNWATCHED and not d.endswith(".egg-info")]
        for name in names:
            path = Path(folder, name)
            data = path.read_bytes()
            state[path.relative_to(ROOT).as_posix()] = (len(data), hashlib.sha256(data).hexdigest())
    return state


def pytest_sessionstart(session):
    import sys

    if "mutmut" not in sys.modules:  # `make mutate` runs the tests inside its own scratch copy
        session.config._project_state = project_state()


def pytest_sessionfinish(session, exitstatus):
    import os

    before = getattr(session.config, "_project_state", None)
    if before is None or os.environ.get("UPDATE_SCREENSHOTS"):
        return
    after = project_state()
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"测试改动了项目中的文件（应只改临时目录中的副本）：{'、'.join(changed)}", red=True)
        session.exitstatus = 1
