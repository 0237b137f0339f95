"""Forms laid out once and filled; builds that redo only what changed; no orphaned workers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image, ImageChops

from pipeline.cli import load_for_results
from pipeline.documents import CHECKLIST_COLUMNS
from pipeline.jobs import checklist_job, report_jobs
from pipeline.output import OutputDir
from pipeline.render import Renderer

from .conftest import PDFTOPPM, ROOT, Cli, edit, require
from .pdfcheck import mm, squash, table_columns
from .test_build import files, small  # noqa: F401  (fixture)

CONTENT, RESULTS = load_for_results(None, None, None)


def manifest(out: Path) -> dict[str, dict]:
    return {d["path"]: d for d in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]}


# --- filled forms ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def region_documents(name: str):
    region = CONTENT.region(name)
    report = next(j for j in report_jobs(CONTENT, RESULTS, [region]) if j.kind == "report")
    return report, checklist_job(CONTENT, region.assessment_class, region)


@pytest.mark.parametrize("name", ["九台区", "长白山管委会", "前郭尔罗斯蒙古族自治县"])
def test_filled_form_looks_exactly_like_a_full_layout(renderer, tmp_path, name):
    pdftoppm = require(PDFTOPPM)
    for job in region_documents(name):
        assert job.view.extra["form"].fillable
        filled, pages = renderer.forms(OutputDir(tmp_path)).fill_pdf(job.view, job.base)
        scratch, scratch_pages = renderer.pdf.render(job.view)
        assert pages == scratch_pages
        for tag, data in (("f", filled), ("s", scratch)):
            (tmp_path / f"{tag}.pdf").write_bytes(data)
            subprocess.run([pdftoppm, "-r", "60", "-png", str(tmp_path / f"{tag}.pdf"), str(tmp_path / tag)],
                           check=True)
        for page in sorted(tmp_path.glob("s-*.png")):
            a = Image.open(page).convert("L")
            b = Image.open(tmp_path / page.name.replace("s-", "f-")).convert("L")
            # zero differing pixels, as the README promises: not even a faint one
            diff = ImageChops.difference(a, b)
            assert diff.getbbox() is None, (name, job.kind, page.name, sum(diff.histogram()[1:]))
        for png in tmp_path.glob("*.png"):
            png.unlink()


def letter_job(name: str, pilot: bool = False):
    """A region's letter job; ``pilot``: as a 试点 of 地名普查, without the tasks it is exempt from."""
    from pipeline import documents
    from pipeline.jobs import blank_form

    region = CONTENT.region(name)
    if not pilot:
        return next(j for j in report_jobs(CONTENT, RESULTS, [region]) if j.kind == "letter")
    region = region.model_copy(update={"pilot": True})
    ids = {t.id for t in CONTENT.tasks.tasks_for_region(region)}
    o = documents.outcome(CONTENT.rules, region, {k: v for k, v in RESULTS.final(region).items() if k in ids})
    index = [r.name for r in CONTENT.regions.regions].index(name)
    view = documents.letter(CONTENT.tasks, CONTENT.issuance, index, o, RESULTS.sample)
    from pipeline.render import Job
    return Job("letter", name, view, base=blank_form(CONTENT, view), region=name)


def same_pages(a: bytes, b: bytes, tmp_path: Path, what) -> None:
    """Page images at 60 dpi, compared pixel by pixel."""
    for tag, data in (("a", a), ("b", b)):
        (tmp_path / f"{tag}.pdf").write_bytes(data)
        subprocess.run([require(PDFTOPPM), "-r", "60", "-png", str(tmp_path / f"{tag}.pdf"), str(tmp_path / tag)],
                       check=True)
    shown = sorted(tmp_path.glob("a-*.png"))
    assert len(shown) == len(list(tmp_path.glob("b-*.png")))
    for page in shown:
        one = Image.open(page).convert("L")
        other = Image.open(tmp_path / page.name.replace("a-", "b-")).convert("L")
        diff = ImageChops.difference(one, other)  # zero differing pixels, not even a faint one
        assert diff.getbbox() is None, (what, page.name, sum(diff.histogram()[1:]))
    for png in tmp_path.glob("*.png"):
        png.unlink()


@pytest.mark.parametrize("name,pilot", [("九台区", False), ("长白山管委会", False),
                                        ("前郭尔罗斯蒙古族自治县", True)])
def test_letter_filled_on_its_class_form_looks_exactly_like_a_full_layout(renderer, tmp_path, name, pilot):
    require(PDFTOPPM)
    job = letter_job(name, pilot)
    fill = job.view.extra["form"]
    assert fill.fillable
    if pilot:  # the pilot's form lacks the tasks it is exempt from: a form of its own
        assert len(fill.key[2]) < len(letter_job(name).view.extra["form"].key[2])
    filled, pages = renderer.forms(OutputDir(tmp_path)).fill_pdf(job.view, job.base)
    scratch, scratch_pages = renderer.pdf.render(job.view)
    assert pages == scratch_pages >= 3
    same_pages(filled, scratch, tmp_path, name)
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(filled))
    text = squash("".join(page.extract_text() for page in reader.pages))
    assert squash(fill.values["tally"]) in text and squash(fill.values["title"]) in text
    assert reader.metadata.title == job.view.title
    # page for page the full layout's text: none twice (the first part's 样例 mark is not laid
    # over the form's pages, which carry their own), the same page numbers (stamped on)
    with pdfplumber.open(io.BytesIO(filled)) as one, pdfplumber.open(io.BytesIO(scratch)) as other:
        for a, b in zip(one.pages, other.pages):
            assert sorted(c["text"] for c in a.chars) == sorted(c["text"] for c in b.chars)
    outline = reader.outline  # the letter's title, the attachment's under it, as a full layout
    assert outline[0].title == job.view.title and outline[1][0].title == fill.values["title"]
    again, _ = renderer.forms(OutputDir(tmp_path)).fill_pdf(job.view, job.base)
    assert again == filled  # reproducible
    # the DOCX: its own first part, the form's attachment filled; the same text, styles, tables
    # and sections as written whole
    from docx import Document
    from pipeline.output import normalize_zip

    def content(data: bytes):
        d = Document(io.BytesIO(data))
        return ([(p.style.name, p.text) for p in d.paragraphs],
                [[[c.text for c in row.cells] for row in t.rows] for t in d.tables],
                [(s.orientation, s.page_width, s.start_type, s.footer.paragraphs[0].text) for s in d.sections],
                d.core_properties.title)
    filled_docx = renderer.forms(OutputDir(tmp_path)).fill_docx(job.view, job.base)
    assert content(filled_docx) == content(normalize_zip(renderer.docx.render(job.view)))
    assert fill.values["tally"] in [text for _, text in content(filled_docx)[0]]


def test_one_letter_form_for_first_parts_of_one_or_two_pages():
    """The form's pages carry no page numbers (each letter's are stamped on): letters of a class
    whose first parts take one page and two fill the same form."""
    from pipeline.forms import view_key

    regions = [r for r in CONTENT.regions.regions if r.assessment_class.value == "县（市）"]
    letters = [j for j in report_jobs(CONTENT, RESULTS, regions) if j.kind == "letter"]
    by_pages: dict[int, set] = {}
    for job in letters:
        key = job.view.extra["form"].key
        if key[5] == 1 and len(key[2]) == len(letters[0].view.extra["form"].key[2]):
            by_pages.setdefault(key[4], set()).add(view_key(job.base))
    assert set(by_pages) == {1, 2}
    assert len(by_pages[1] | by_pages[2]) == 1


def test_letter_first_part_of_two_pages_numbers_its_second(renderer, tmp_path):
    """§10.1: only a letter's first page goes without a number; when its first part takes two
    pages, the second carries — 2 —, filled on the form or laid out whole alike."""
    regions = [r for r in CONTENT.regions.regions if r.assessment_class.value == "县（市）"]
    job = next(j for j in report_jobs(CONTENT, RESULTS, regions)
               if j.kind == "letter" and j.view.extra["form"].key[4] == 2)
    filled, pages = renderer.forms(OutputDir(tmp_path)).fill_pdf(job.view, job.base)
    whole, _ = renderer.pdf.render(job.view)
    for data in (filled, whole):
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            feet = [squash("".join(c["text"] for c in page.chars if c["top"] > page.height - 80
                                   and c["text"] in "—0123456789"))
                    for page in pdf.pages]
        assert feet[0] == ""
        assert feet[1:] == [f"—{n}—" for n in range(2, pages + 1)]


def test_packages_written_as_zipfile_writes_them():
    """DOCX and XLSX packages: the bytes zipfile writes for the same entries, a part that recurs
    (compressed once per process) and a name beyond ASCII included."""
    import zipfile

    from pipeline.output import ZIP_EPOCH, write_zip

    big = ("<w:styles>" + "".join(f"<w:style w:styleId='s{i}'/>" for i in range(5000)) + "</w:styles>").encode()
    entries = [("[Content_Types].xml", b"<Types/>"), ("word/styles.xml", big), ("word/附件.xml", "考评".encode())]
    expected = io.BytesIO()
    with zipfile.ZipFile(expected, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            package.writestr(info, data)
    assert write_zip(entries) == expected.getvalue()
    assert write_zip(entries) == expected.getvalue()  # again, the big part's compression kept
    with zipfile.ZipFile(io.BytesIO(write_zip(entries))) as package:
        assert package.testzip() is None and package.read("word/附件.xml") == "考评".encode()


def test_letter_text_needing_other_room_is_laid_out_whole(renderer, tmp_path):
    from dataclasses import replace
    from pipeline.forms import Misfit

    job = letter_job("九台区")
    fill = job.view.extra["form"]
    longer = replace(fill, values={**fill.values, "tally": fill.values["tally"] * 2})
    view = replace(job.view, extra={**job.view.extra, "form": longer})
    with pytest.raises(Misfit):
        renderer.forms(OutputDir(tmp_path)).fill_pdf(view, job.base)


def test_filled_values_in_their_rows_and_the_region_named(renderer, tmp_path):
    report, checklist = region_documents("长白山管委会")
    data, _ = renderer.forms(OutputDir(tmp_path)).fill_pdf(report.view, report.base)
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    results = RESULTS.by_region["长白山管委会"]
    ids = [t.id for t in CONTENT.tasks.tasks_for_region(CONTENT.region("长白山管委会"))]
    columns = dict(zip([c.key for c in CHECKLIST_COLUMNS],
                       table_columns(path, [c.width for c in CHECKLIST_COLUMNS])))
    assert squash(columns["final_rating"]) == "".join(results[i].rating.value for i in ids)
    assert squash(columns["self_rating"]) == "".join(results[i].self_rating.value for i in ids
                                                      if results[i].self_rating)
    edges, x = {}, 37.0
    for column in CHECKLIST_COLUMNS:
        edges[column.key] = (x, x + column.width)
        x += column.width

    def words_in(page, key):
        lo, hi = edges[key]
        return [w for w in page.extract_words() if lo <= mm((w["x0"] + w["x1"]) / 2) < hi]

    with pdfplumber.open(path) as pdf:  # each rating centred on its task's row
        for page in pdf.pages[:3]:
            ratings = words_in(page, "final_rating")
            for word in words_in(page, "id"):
                if word["text"] not in results:
                    continue
                centre = (word["top"] + word["bottom"]) / 2
                nearest = min(ratings, key=lambda w: abs((w["top"] + w["bottom"]) / 2 - centre))
                assert abs((nearest["top"] + nearest["bottom"]) / 2 - centre) < 2
                assert nearest["text"] == results[word["text"]].rating.value
        text = squash(pdf.pages[0].extract_text())
        assert "地区：长白山管委会" in text and "长白山管委会2016年度民政工作目标责任制考评报告" in text
    from pypdf import PdfReader
    for page in PdfReader(path).pages:  # every face embedded and subset, the layer's too
        for xobject in [page] + [x.get_object() for x in page["/Resources"].get("/XObject", {}).values()]:
            for font in xobject["/Resources"].get("/Font", {}).values():
                font = font.get_object()
                name = str(font["/BaseFont"])
                assert "+" in name.split("/")[-1], name
    data2, _ = renderer.forms(OutputDir(tmp_path)).fill_pdf(report.view, report.base)
    assert data2 == data  # reproducible


def test_remarks_make_a_document_laid_out_on_its_own():
    from pipeline import documents
    from dataclasses import replace

    region = CONTENT.region("九台区")
    results = dict(RESULTS.final(region))
    results["1.1"] = replace(results["1.1"], remarks="见附件材料")
    o = documents.outcome(CONTENT.rules, region, results)
    assert not documents.report(CONTENT.tasks, o).extra["form"].fillable


# --- incremental builds ----------------------------------------------------------------------------


def test_only_what_changed_is_rendered(small, tmp_path):  # noqa: F811
    cli = Cli(small)
    cli("build", "--jobs", "2", "--out", "o")
    before = manifest(small / "o")
    again = cli("build", "--jobs", "2", "--out", "o")
    assert "新生成 0 个文件，沿用未改动的 %d 个" % len(before) in again.output
    assert manifest(small / "o") == before
    # one region's ratings change: its report, its letter and the 通报, nothing else
    results = small / "content" / "results_2016_sample.csv"
    text = results.read_text(encoding="utf-8")
    line = next(l for l in text.splitlines() if l.startswith("九台区,1.1,"))
    changed = line.replace(",优秀,", ",未达标,", 1) if ",优秀," in line else line.replace(",达标,", ",未达标,", 1)
    results.write_text(text.replace(line, changed), encoding="utf-8")
    result = cli("build", "--jobs", "2", "--out", "o")
    after = manifest(small / "o")
    redone = sorted(p for p in after if after[p]["fingerprint"] != before[p]["fingerprint"])
    assert redone == sorted(p for p in after if p.split("/")[0] in ("考评报告", "等次函") and "九台区" in p
                            or p.startswith("通报/"))
    assert f"新生成 {len(redone)} 个文件" in result.output
    # byte for byte what a clean build writes
    cli("build", "--jobs", "1", "--out", "clean")
    assert files(small / "o") == files(small / "clean")


def project_copy(where: Path) -> Path:
    """The program and its templates copied, so that a test may change a template: the
    repository's own files are never touched (a killed run leaves nothing changed)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "pipeline", where / "pipeline", ignore=ignore)
    shutil.copytree(ROOT / "templates", where / "templates", ignore=ignore)
    return where


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_or_template_change_renders_what_uses_it(small, tmp_path):  # noqa: F811
    project = project_copy(tmp_path / "project")
    shipped = tree_digest(ROOT / "templates")

    def build(expect: int | None = 0):
        done = subprocess.run([sys.executable, "-m", "pipeline", "build", "--jobs", "2", "--out", "o",
                               "--format", "docx", "--format", "xlsx"], cwd=small, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(project)}, timeout=600)
        assert expect is None or done.returncode == expect, done.stderr
        assert "Traceback" not in done.stderr
        return done

    build()
    before = manifest(small / "o")
    letter = project / "templates" / "text" / "letter.j2"
    original = letter.read_text(encoding="utf-8")
    assert "希望你单位再接再厉" in original
    # a wording change reaches the letters only
    letter.write_text(original.replace("希望你单位再接再厉", "望你单位再接再厉"), encoding="utf-8")
    build()
    after = manifest(small / "o")
    redone = {p for p in after if after[p]["fingerprint"] != before[p]["fingerprint"]}
    assert redone and all(p.startswith("等次函/") for p in redone)
    # the Word styles: every DOCX, no XLSX
    styles = project / "templates" / "docx" / "reference.docx"
    styles.write_bytes(styles.read_bytes() + b"\0")
    build(expect=None)
    changed = manifest(small / "o")
    redone = {p for p in changed if changed[p].get("fingerprint") != after[p].get("fingerprint")}
    assert redone == {p for p in after if p.endswith(".docx")}
    assert tree_digest(ROOT / "templates") == shipped


def test_code_change_renders_the_files_that_code_makes(small, tmp_path):  # noqa: F811
    """The fingerprint covers the program too: a change in the form filler (which makes the
    region checklists, reports and letters from their blank forms) renders every PDF and DOCX
    again, not the workbooks; a change in the workbook writer, the workbooks only."""
    project = project_copy(tmp_path / "project")

    def build():
        done = subprocess.run([sys.executable, "-m", "pipeline", "build", "--jobs", "2", "--out", "o",
                               "--format", "pdf", "--format", "docx", "--format", "xlsx"], cwd=small,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project)},
                              timeout=600)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return manifest(small / "o")

    def redone(before, after):
        return {p for p in after if after[p]["fingerprint"] != before[p]["fingerprint"]}

    before = build()
    assert redone(before, build()) == set()
    forms = project / "pipeline" / "forms.py"
    forms.write_text(forms.read_text(encoding="utf-8") + "\n# a change in the form filler\n", encoding="utf-8")
    after = build()
    assert redone(before, after) == {p for p in before if p.endswith((".pdf", ".docx"))}
    assert any(p.startswith("等次函/") for p in redone(before, after))
    xlsx = project / "pipeline" / "writers" / "xlsx.py"
    xlsx.write_text(xlsx.read_text(encoding="utf-8") + "\n# a change in the workbook writer\n", encoding="utf-8")
    assert redone(after, build()) == {p for p in after if p.endswith(".xlsx")}


# Modules of the package that only hold data (what a view holds is fingerprinted as the view)
DATA_ONLY = {"content.py", "errors.py", "model.py", "rating.py", "textfile.py", "texts.py", "views.py",
             "yamlsource.py", "fingerprint.py"}


def package_imports(relative: str) -> set[str]:
    """The modules of ``pipeline`` a module of it imports (at the top or inside functions)."""
    import ast

    package = ROOT / "pipeline"
    here = Path(relative).parent
    found = set()
    for node in ast.walk(ast.parse((package / relative).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here
            for _ in range(node.level - 1):
                base = base.parent
            module = (node.module or "").replace(".", "/")
            names = [f"{module}/{a.name}" if module else a.name for a in node.names] + ([module] if module else [])
            for name in names:
                for candidate in ((base / name).with_suffix(".py"), base / name / "__init__.py"):
                    if (package / candidate).is_file():
                        found.add(candidate.as_posix())
    return found


def test_fingerprinted_code_covers_what_rendering_runs():
    """Every module rendering can run (render.py and all it imports, transitively) is in the
    code of some format's fingerprint, but for the data-only ones; and what each format's code
    imports is fingerprinted with it (but for the other formats' writers, which the form
    filler only calls for those formats, and what ``render`` dispatches to for other formats)."""
    from pipeline.fingerprint import CODE

    def closure(start) -> set[str]:
        seen, todo = set(), list(start)
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += package_imports(module)
        return seen

    writers = {f"writers/{n}" for n in ("pdf.py", "pdf_layout.py", "docx.py", "docx_styles.py",
                                         "xlsx.py", "ofd.py", "ofd_fonts.py")}
    covered = set().union(*CODE.values())
    assert closure(["render.py"]) - DATA_ONLY - {"writers/__init__.py", "__init__.py"} <= covered
    for fmt, modules in CODE.items():
        missing = closure(set(modules) - {"render.py"}) - DATA_ONLY - writers - {"writers/__init__.py", "__init__.py"} - set(modules)
        assert not missing, (fmt, missing)


def test_deleted_or_tampered_file_is_rendered_again(small):  # noqa: F811
    cli = Cli(small)
    cli("build", "--jobs", "1", "--out", "o", "--format", "docx")
    out = small / "o"
    (out / "通知" / "吉民发〔2016〕13号.docx").unlink()
    letter = out / "等次函" / "九台区.docx"
    original = letter.read_bytes()
    letter.write_bytes(original[:-10] + b"0123456789")
    result = cli("build", "--jobs", "1", "--out", "o", "--format", "docx")
    assert "新生成 2 个文件" in result.output
    assert letter.read_bytes() == original
    assert (out / "通知" / "吉民发〔2016〕13号.docx").exists()
    forced = cli("build", "--jobs", "1", "--out", "o", "--format", "docx", "--force")
    assert "沿用未改动的 0 个" in forced.output
    # a file is trusted by its recorded stat only while that is exactly its stat: changed with
    # its size and modification time put back, it is still found (its change time moved)
    assert cli("build", "--jobs", "1", "--out", "o", "--format", "docx").output.count("新生成 0 个文件")
    before = os.stat(letter)
    letter.write_bytes(original[:-10] + b"0123456789")
    os.utime(letter, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(letter).st_size == before.st_size
    result = cli("build", "--jobs", "1", "--out", "o", "--format", "docx")
    assert "新生成 1 个文件" in result.output and letter.read_bytes() == original


# --- no orphaned workers ---------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def test_workers_die_with_a_killed_parent(small):  # noqa: F811
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "build", "--jobs", "2", "--force",
                             "--out", str(small / "o")], cwd=small, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 60
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        workers = children_of(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2
    time.sleep(1.0)  # the workers are busy rendering
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)]


def test_stamps_named_by_what_they_show(renderer, tmp_path):
    """A stamp's resource name stands for one text: across reports (and the 样例 mark with
    them) the same name is always the same drawing, so the same content bytes mean the same
    page (the OFD writer reuses what it read of content it has seen)."""
    import pikepdf

    seen: dict[str, bytes] = {}
    for name in ("九台区", "南关区", "长白山管委会"):
        report, _ = region_documents(name)
        data, _ = renderer.forms(OutputDir(tmp_path)).fill_pdf(report.view, report.base)
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                for key, xobject in page.Resources.get("/XObject", {}).items():
                    if key.startswith("/GWStamp"):
                        drawn = xobject.read_bytes()
                        assert seen.setdefault(key, drawn) == drawn, (name, key)
    assert len(seen) >= 3  # the ratings and the mark


def test_font_characters_read_by_harfbuzz_as_fonttools_reads_them():
    """The characters the embedded faces have (a character they lack is reported, never drawn
    from another face in silence): HarfBuzz's reading is the fontTools one."""
    from fontTools.ttLib import TTFont

    from pipeline.layout import font_paths, load_layout
    from pipeline.writers.pdf import font_characters

    for path in font_paths(load_layout()).values():
        assert font_characters(path) == set(TTFont(path, lazy=True).getBestCmap()), path
