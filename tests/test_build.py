"""`pipeline build`: everything, in parallel, reproducibly, whole files only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from .conftest import ROOT, Cli, edit

KEEP = ("长春市", "南关区", "九台区", "长白山管委会")


@pytest.fixture
def small(workdir: Path) -> Path:
    """The shipped content cut down to four regions (one of each kind) and their results."""
    regions = workdir / "content" / "regions_jilin_2016.yaml"
    lines = regions.read_text(encoding="utf-8").splitlines()
    kept = [l for l in lines if not l.startswith("  - {name: ") or
            any(l.startswith(f"  - {{name: {n},") for n in KEEP)]
    regions.write_text("\n".join(kept) + "\n", encoding="utf-8")
    results = workdir / "content" / "results_2016_sample.csv"
    rows = results.read_text(encoding="utf-8-sig").splitlines()
    results.write_text("\n".join([rows[0]] + [r for r in rows[1:] if r.split(",")[0] in KEEP]) + "\n",
                       encoding="utf-8")
    return workdir


def files(out: Path) -> dict[str, bytes]:
    """The documents and the manifest (the laid-out blank forms kept in .cache/ are not output)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(".cache/")}


def test_build_twice_byte_identical_and_manifest_exact(small):
    cli = Cli(small)
    first = cli("build", "--jobs", "2", "--out", "a")
    assert "完成：17/17 份文档" in first.output
    cli("build", "--jobs", "1", "--out", "b")
    a, b = files(small / "a"), files(small / "b")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    manifest = json.loads(a["manifest.json"])["documents"]
    assert sorted(d["path"] for d in manifest) == sorted(n for n in a if n != "manifest.json")
    kinds = {(d["kind"], d["format"]) for d in manifest}
    for kind in ("notice", "checklist", "report", "letter", "summary"):
        assert (kind, "pdf") in kinds and (kind, "docx") in kinds and (kind, "ofd") in kinds
    assert ("checklist", "xlsx") in kinds
    assert all(d["pages"] for d in manifest if d["format"] == "pdf")
    pages = {d["path"]: d["pages"] for d in manifest}
    for d in manifest:  # every PDF has its OFD, page for page
        if d["format"] == "pdf":
            assert pages[d["path"][:-4] + ".ofd"] == d["pages"]


def test_failing_document_reported_others_complete(small):
    long_name = "很" * 70 + "县"  # passes the data checks, too long for a file name
    edit(small / "content" / "regions_jilin_2016.yaml", "name: 九台区,", f"name: {long_name},")
    results = small / "content" / "results_2016_sample.csv"
    results.write_text(results.read_text(encoding="utf-8").replace("九台区,", f"{long_name},"),
                       encoding="utf-8")
    result = Cli(small)("build", "--jobs", "2", "--format", "docx", "--out", "o", expect=1)
    assert "未能生成 考评表：" + long_name in result.stderr
    assert "完成：14/17 份文档" in result.output
    assert (small / "o" / "等次函" / "长春市.docx").exists()
    manifest = json.loads((small / "o" / "manifest.json").read_text(encoding="utf-8"))["documents"]
    assert len(manifest) == 14


def test_interrupted_build_leaves_only_whole_files(small):
    out = small / "o"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "build", "--jobs", "2", "--out", str(out)],
                            cwd=small, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len([p for p in out.rglob("*") if p.is_file()]) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and not [p for p in written if p.name.startswith(".tmp-")]
    for path in written:
        if path.suffix == ".pdf":
            assert len(PdfReader(path).pages) > 0
        elif path.suffix in (".docx", ".xlsx"):
            assert zipfile.ZipFile(path).testzip() is None
    # re-running continues cleanly
    Cli(small)("build", "--jobs", "2", "--out", "o")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    assert sorted(d["path"] for d in manifest) == sorted(n for n in files(out) if n != "manifest.json")


def test_unrelated_files_in_out_are_kept(small):
    (small / "o").mkdir()
    (small / "o" / "我的笔记.txt").write_text("keep", encoding="utf-8")
    Cli(small)("build", "--jobs", "1", "--format", "xlsx", "--out", "o")
    assert (small / "o" / "我的笔记.txt").read_text(encoding="utf-8") == "keep"


def test_parent_does_not_import_weasyprint_before_forking():
    code = ("import sys; from pipeline.content import load_content; from pipeline.jobs import all_jobs; "
            "from pipeline.results import load_results; from pathlib import Path; "
            "import pipeline.build, pipeline.cli; c = load_content(need_rating_files=True); "
            "r = load_results(Path('content/results_2016_sample.csv'), c); all_jobs(c, r); "
            "print('weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
