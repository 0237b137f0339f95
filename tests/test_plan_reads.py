"""Planning's shortcuts give what the long way gives: the manifest's text, a document's path,
a file's presence, the results as read, a result's repr, the model's private slots."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pipeline.content import load_content
from pipeline.errors import DataError
from pipeline.model import Rating, Region
from pipeline.output import OutputDir, _is_file, manifest_text
from pipeline.results import TaskResult, load_results

from .conftest import ROOT, Cli

# --- manifest.json ---------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                    st.floats(allow_nan=False), st.sampled_from(["},\n      {", "\n    },", '"', "\\", "\u2028"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                      max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.dictionaries(st.text(), scalars, max_size=10),
                          st.dictionaries(st.text(), values, max_size=4)), max_size=6))
def test_manifest_text_is_json_dumps_indented(documents):
    assert manifest_text(documents) == json.dumps({"documents": documents}, ensure_ascii=False, indent=2) + "\n"


def test_manifest_text_of_a_build_and_odd_entries():
    entries = [{"kind": "notice", "format": "pdf", "path": "通知/吉民发〔2016〕1号.pdf", "level": None,
                "region": None, "pages": 16, "sha256": "ab", "fingerprint": "cd"},
               {"kind": "report", "path": 'a"b\\c\n},\n      {', "rating": "优秀", "pages": None, "ok": True}]
    for documents in ([], [{}], entries, entries + [{}], entries + [{"nested": {"a": [1]}}], [{1: "a"}],
                      [{"x": float("nan"), "y": 1e300, "z": -0.0}]):
        assert manifest_text(documents) == json.dumps({"documents": documents}, ensure_ascii=False, indent=2) + "\n"


def test_manifest_read_again_when_another_program_rewrote_it(tmp_path):
    out = OutputDir(tmp_path)
    assert out.manifest() == {}
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [{"path": "a.pdf", "sha256": "1"}]}),
                                            encoding="utf-8")
    assert out.manifest() == {"a.pdf": {"path": "a.pdf", "sha256": "1"}}
    first = out.manifest()
    first["a.pdf"]["sha256"] = "changed by a caller"  # each reader gets its own entries
    assert out.manifest()["a.pdf"]["sha256"] == "1"
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [{"path": "b.pdf", "sha256": "22"}]}),
                                            encoding="utf-8")
    assert out.manifest() == {"b.pdf": {"path": "b.pdf", "sha256": "22"}}
    (tmp_path / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    assert out.manifest() == {}
    (tmp_path / "manifest.json").write_text("{", encoding="utf-8")
    assert out.manifest() == {}


def test_update_manifest_merges_what_it_read_and_drops_files_gone(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"a")
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [
        {"path": "a.pdf", "sha256": "1", "extra": [1, {"k": None}]}, {"path": "gone.pdf"}, "junk"]}),
        encoding="utf-8")
    out = OutputDir(tmp_path)
    out.manifest()  # read once; the update reads the same
    out.update_manifest([])
    text = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps({"documents": [{"path": "a.pdf", "sha256": "1", "extra": [1, {"k": None}]}]},
                              ensure_ascii=False, indent=2) + "\n"
    (tmp_path / "b.pdf").write_bytes(b"b")
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [{"path": "b.pdf"}]}), encoding="utf-8")
    out.update_manifest([])  # rewritten by someone else meanwhile: read again
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8")) == {"documents": [{"path": "b.pdf"}]}


def test_is_file_as_pathlib_says(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for name in ("f", "d", "link", "broken", "loop", "missing", "f/under", "bad\x00name", ""):
        assert _is_file(os.path.join(str(tmp_path), name)) == (tmp_path / name).is_file(), name


# --- a document's path ----------------------------------------------------------------------------


def test_locate_is_path_for_and_its_relative_path(tmp_path):
    out = OutputDir(tmp_path / "out")
    for args in (("notice", "吉民发〔2016〕1号", "pdf", None), ("checklist", "九台区", "xlsx", "地区"),
                 ("summary", " 通报 ", "docx", None)):
        for _ in range(2):  # worked out, then remembered
            path, relative = out.locate(*args)
            assert path == OutputDir(tmp_path / "out").path_for(*args)
            assert relative == path.relative_to(out.root).as_posix()


def test_locate_refuses_every_time(tmp_path):
    out = OutputDir(tmp_path / "out")
    for _ in range(2):
        with pytest.raises(DataError):
            out.locate("checklist", "../x", "pdf", "地区")
        with pytest.raises(DataError):
            out.locate("checklist", "x", "pdf", ".hidden")


def test_file_become_a_link_out_of_out_is_refused_at_the_next_call(tmp_path):
    out = OutputDir(tmp_path / "out")
    path = out.path_for("notice", "n", "pdf")
    path.parent.mkdir(parents=True)
    (tmp_path / "elsewhere.pdf").write_bytes(b"")
    path.symlink_to(tmp_path / "elsewhere.pdf")
    with pytest.raises(DataError, match="越出了输出目录"):
        out.path_for("notice", "n", "pdf")
    path.unlink()
    assert out.path_for("notice", "n", "pdf") == path


# --- results ----------------------------------------------------------------------------------


def test_ratings_as_typed_read_as_spelt(tmp_path):
    content = load_content(need_rating_files=True)
    plain = tmp_path / "plain.csv"
    plain.write_text("地区,编号,等次,自评等次\n九台区,1.1,优秀,达标\n九台区,1.2,,未达标\n", encoding="utf-8")
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("地区,编号,等次,自评等次\n九台区,1.1, 优　秀 ,达 标\n九台区,1.2,  ,未达标\n", encoding="utf-8")
    a, b = load_results(plain, content), load_results(spaced, content)
    assert [(r.rating, r.self_rating) for r in a.by_region["九台区"].values()] == \
           [(r.rating, r.self_rating) for r in b.by_region["九台区"].values()] == \
           [(Rating.EXCELLENT, Rating.STANDARD), (None, Rating.FAILED)]
    bad = tmp_path / "bad.csv"
    bad.write_text("地区,编号,等次\n九台区,1.1,良\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_results(bad, content)
    assert [str(p).split("/")[-1] for p in caught.value.problems] == [
        "bad.csv:2: 第 1.1 项“实施‘脱贫攻坚最低生活保障支持计划’”：考评等次“良”无效，应为 优秀、达标、未达标 之一"]


@dataclasses.dataclass(frozen=True)
class _Twin:
    rating: object
    self_rating: object = None
    remarks: str = ""
    where: str = ""


@given(st.sampled_from([None, *Rating, "达标", 3]), st.sampled_from([None, *Rating]), st.text(), st.text())
def test_task_result_repr_is_the_dataclass_repr(rating, self_rating, remarks, where):
    result = TaskResult(rating, self_rating, remarks, where)
    assert repr(result) == repr(_Twin(rating, self_rating, remarks, where)).replace("_Twin(", "TaskResult(", 1)


# --- the model ----------------------------------------------------------------------------------


def test_region_class_read_from_its_private_slot():
    content = load_content()
    region = content.region("九台区")
    assert region.assessment_class is (region.class_override or content.regions.types[region.type].default_class)
    assert region.assessment_class.value == "县（市）"  # a district assessed as a county (its class: in the file)
    copy = region.model_copy()
    assert copy.assessment_class is region.assessment_class
    with pytest.raises(AssertionError, match="not resolved"):
        Region(name="新区", type="区").assessment_class
    assert content.regions.by_name()["九台区"] is region
    assert content.tasks.task("1.1").id == "1.1"


# --- a build with nothing to do ------------------------------------------------------------------


def test_build_with_nothing_to_do_keeps_the_manifest_and_imports_no_form(workdir):
    Cli(workdir)("build", "--jobs", "1", "--format", "xlsx", "--out", "o")
    before = (workdir / "o" / "manifest.json").read_bytes()
    code = ("import sys; from pipeline.cli import main; "
            "sys.argv = ['pipeline', 'build', '--jobs', '1', '--format', 'xlsx', '--out', 'o']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('pipeline.forms' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    assert "新生成 0 个文件" in run.stdout and run.stdout.strip().endswith("False")
    assert (workdir / "o" / "manifest.json").read_bytes() == before


# --- the collector around a build made in this process ---------------------------------------------


@pytest.mark.parametrize("process_ends", [False, True])
def test_build_in_process_leaves_the_collector_as_it_found_it(tmp_path, process_ends):
    """A few documents made with the collector off: after them it is on again with its own
    thresholds and nothing stays frozen (what they made is collectable), whether or not the
    process is said to end (the command line says so; a process that goes on must not keep
    garbage for ever)."""
    import gc

    from pipeline.build import build
    from pipeline.jobs import checklist_job
    from pipeline.model import AssessmentClass

    content = load_content()
    jobs = [(checklist_job(content, cls), ("xlsx",)) for cls in AssessmentClass]
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    outcome = build(jobs, OutputDir(tmp_path / "o"), 1, process_ends=process_ends)
    assert len(outcome.entries) == 3 and not outcome.failures
    assert (gc.get_threshold(), gc.isenabled(), gc.get_freeze_count()) == (threshold, enabled, 0)
    garbage = []
    garbage.append(garbage)  # a cycle made now is collected as ever
    del garbage
    assert gc.collect() >= 1
