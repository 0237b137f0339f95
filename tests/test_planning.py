"""Planning a build quickly: views a build kept are not built again, the content is read by
libyaml, and a build's processes leave no temporary files behind."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import fingerprint, yamlsource
from pipeline.cli import load_for_results
from pipeline.errors import DataError
from pipeline.jobs import all_jobs
from pipeline.output import Entry

from .conftest import ROOT, Cli, edit
from .test_build import files, small  # noqa: F401  (fixture)
from .test_incremental import manifest, project_copy

SAMPLE = (ROOT / "content" / "tasks_2016.yaml", None, ROOT / "content" / "results_2016_sample.csv")


def test_jobs_planned_from_kept_views_are_the_jobs_built():
    """Every job planned from what a build kept (through JSON, as .cache/views.json holds it)
    has the fingerprints and the blank form of the job whose view was built, without building
    its view; a region whose results change gets its views built again."""
    content, results = load_for_results(*SAMPLE)
    built, _, _ = all_jobs(content, results, {})
    kept = json.loads(json.dumps({j.made_from: j.kept for j in built if j.made_from}))
    assert len(kept) == sum(1 for j in built if j.recipe is not None) > 200
    planned, _, _ = all_jobs(content, results, kept)
    assert [(j.kind, j.name) for j in planned] == [(j.kind, j.name) for j in built]
    for old, new in zip(built, planned):
        formats = old.default_formats + ("html",)
        assert [new.fingerprint(f) for f in formats] == [old.fingerprint(f) for f in formats], new.name
        assert new.base == old.base and (new.level, new.region, new.rating) == (old.level, old.region, old.rating)
        if new.recipe is not None:
            assert new._view is None, new.name  # not built to be planned
            assert new.view == old.view and new.base == (dataclasses.replace(new).base)
    # one region's rating changes: its report and letter are built again, the rest planned from kept
    region = content.region("九台区")
    task = next(iter(results.by_region[region.name]))
    result = results.by_region[region.name][task]
    other = "未达标" if result.rating.value != "未达标" else "达标"
    results.by_region[region.name][task] = dataclasses.replace(result, rating=type(result.rating)(other))
    again, _, _ = all_jobs(content, results, kept)
    rebuilt = {(j.kind, j.name) for j in again if j.recipe is not None and j._view is None and j.kept is None}
    assert rebuilt == set()
    fresh = {(j.kind, j.name) for j in again if j.made_from not in kept and j.recipe is not None}
    assert fresh == {("report", "九台区"), ("letter", "九台区")}
    clean, _, _ = all_jobs(content, results)
    assert [j.fingerprint("pdf") for j in again] == [j.fingerprint("pdf") for j in clean]


def test_content_edit_renders_again_what_shows_it(small):  # noqa: F811
    """The views a build kept are named by the content they were made from: a task's wording
    changed in the task file reaches every document that shows it, as a clean build makes them."""
    cli = Cli(small)
    cli("build", "--jobs", "1", "--out", "o", "--format", "docx")
    before = manifest(small / "o")
    assert (small / "o" / ".cache" / "views.json").is_file() and (small / "o" / ".cache" / "fonts.json").is_file()
    tasks = small / "content" / "tasks_2016.yaml"
    text = tasks.read_text(encoding="utf-8")
    assert 'name: "全面落实重特大疾病救助制度"' in text
    edit(tasks, 'name: "全面落实重特大疾病救助制度"', 'name: "全面落实重特大疾病医疗救助制度"')
    cli("build", "--jobs", "1", "--out", "o", "--format", "docx")
    after = manifest(small / "o")
    redone = {p for p in after if after[p]["fingerprint"] != before[p]["fingerprint"]}
    assert {"通知", "考评表", "考评报告"} <= {p.split("/")[0] for p in redone} and "通报" not in str(redone)
    cli("build", "--jobs", "1", "--out", "clean", "--format", "docx")
    assert files(small / "o") == files(small / "clean")


def test_unreadable_kept_views_are_built_again(small):  # noqa: F811
    cli = Cli(small)
    cli("build", "--jobs", "1", "--out", "o", "--format", "xlsx")
    views = small / "o" / ".cache" / "views.json"
    entries = json.loads(views.read_text(encoding="utf-8"))
    key = next(iter(entries))
    for broken in ("not json", json.dumps([1, 2]), json.dumps({key: ["x"]}), json.dumps({key: [1, 2, 3]})):
        views.write_text(broken, encoding="utf-8")
        result = cli("build", "--jobs", "1", "--out", "o", "--format", "xlsx")
        assert "新生成 0 个文件" in result.output
        assert json.loads(views.read_text(encoding="utf-8")) == entries


def test_view_sources_cover_the_code_and_the_templates(tmp_path):
    """What a view is made from besides the data: a change in any module of the program or any
    template is a new hash (the views are then built again)."""
    project = project_copy(tmp_path / "project")

    def sources() -> str:
        return subprocess.run([sys.executable, "-c", "from pipeline.fingerprint import sources; print(sources())"],
                              cwd=tmp_path, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(project)}).stdout.strip()

    seen = {sources()}
    for changed in ("pipeline/pagination.py", "pipeline/web/views.py", "templates/text/letter.j2",
                    "templates/layout.yaml"):
        path = project / changed
        path.write_bytes(path.read_bytes() + b"\n# changed\n")
        seen.add(sources())
    assert len(seen) == 5


def test_entry_json_is_the_dataclass_in_its_order():
    entry = Entry("report", "pdf", "考评报告/九台区.pdf", "区", "九台区", 3, "ab", "优秀", "cd")
    assert list(entry.to_json().items()) == list(dataclasses.asdict(entry).items())
    checklist = Entry("checklist", "xlsx", "考评表/区.xlsx", "区", None, None, "ab", None, "cd")
    assert "rating" not in checklist.to_json()


@pytest.mark.parametrize("path", sorted((ROOT / "content").glob("*.yaml")) + [ROOT / "templates" / "layout.yaml"],
                         ids=lambda p: p.name)
def test_libyaml_reads_what_pyyaml_reads(path, monkeypatch):
    fast = yamlsource.load_yaml(path)
    monkeypatch.setattr(yamlsource, "_FAST", None)
    slow = yamlsource.load_yaml(path)
    assert yamlsource._FAST is None and fast.data == slow.data and fast._lines == slow._lines
    assert repr(fast.data) == repr(slow.data)


@pytest.mark.parametrize("text", [
    "a: &x [1]\nb: *x\n",  # an alias
    "a: 1\na: 2\n",  # a key twice
    "a: " + "[" * 60 + "]" * 60 + "\n",  # too deep
    "a: [1, 2\n",  # unclosed
    "a: 1\n---\nb: 2\n",  # two documents
    "a: \x07\n",  # a character YAML refuses
    "a:\n\t- 1\n",  # a tab
    "# only a comment\n",
])
def test_libyaml_refusals_worded_as_before(text, tmp_path, monkeypatch):
    """Whatever libyaml makes of a file PyYAML refuses, the clerk reads PyYAML's refusal."""
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")

    def problems():
        with pytest.raises(DataError) as caught:
            yamlsource.load_yaml(path)
        return [(p.line, p.message) for p in caught.value.problems]

    fast = problems()
    monkeypatch.setattr(yamlsource, "_FAST", None)
    assert problems() == fast


def test_build_processes_leave_no_font_copies(small, tmp_path):  # noqa: F811
    """WeasyPrint copies the fonts (31 MB) into a temporary folder per process: gone when a
    build's workers and the build itself have finished, and after a one-document command."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    for args in (["build", "--jobs", "2", "--out", "o", "--format", "pdf"],
                 ["notice", "--out", "n", "--format", "pdf"]):
        done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=small, capture_output=True,
                              text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        assert list(temporary.glob("weasyprint-*")) == [], args
    assert (small / "o" / "通报").is_dir() and list((small / "n").rglob("*.pdf"))


def test_planning_made_from_names_the_data():
    """Two views made from different data are never named alike (length-prefixed parts)."""
    assert fingerprint.made_from("ab", "c") != fingerprint.made_from("a", "bc")
    assert fingerprint.made_from("a") == fingerprint.made_from("a")


def test_font_hash_noted_by_stat(tmp_path):
    """A font is hashed again only when its stat changed; what a build noted is taken as is."""
    font = tmp_path / "face.otf"
    font.write_bytes(b"glyphs")
    real = fingerprint._file_hash(str(font))
    assert fingerprint.font_notes()[str(font)][-1] == real
    noted = fingerprint.font_notes()[str(font)]
    fingerprint.take_font_notes({str(font): noted[:-1] + ["as noted"]})
    assert fingerprint._file_hash(str(font)) == "as noted"
    font.write_bytes(b"other glyphs")  # its size, times: another stat
    assert fingerprint._file_hash(str(font)) not in ("as noted", real)


@pytest.mark.parametrize("name", ["weasyprint", "Jinja2", "python-docx", "PyYAML", "pydantic-core", "no-such-library"])
def test_library_versions_as_metadata_gives_them(name):
    from importlib import metadata
    try:
        expected = metadata.version(name)
    except metadata.PackageNotFoundError:
        expected = "-"
    assert fingerprint._version(name) == expected


def _render_notice(out: str) -> None:
    """A process multiprocessing forked, rendering in itself (it leaves by os._exit)."""
    from pipeline.build import build
    from pipeline.content import load_content
    from pipeline.jobs import notice_job
    from pipeline.output import OutputDir

    outcome = build([(notice_job(load_content()), ("pdf",))], OutputDir(Path(out)), 1)
    assert not outcome.failures, outcome.failures


def test_multiprocessing_process_leaves_no_font_copies(tmp_path, monkeypatch):
    import multiprocessing

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # a forked process inherits it
    process = multiprocessing.get_context("fork").Process(target=_render_notice, args=(str(tmp_path / "o"),))
    process.start()
    process.join(300)
    assert process.exitcode == 0
    assert list((tmp_path / "o").rglob("*.pdf")) and list(temporary.glob("weasyprint-*")) == []
