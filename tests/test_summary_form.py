"""The 通报 filled on its form (forms.py): its body laid out per build, its attachment's table and
its 版记 page laid out once, the counts and ratings stamped in their cells. What it makes must be
what a full layout makes: the same pages pixel for pixel, the same text, outline and fonts, the
same §7.5 decision, the same DOCX; its OFD written from the fill record."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from pipeline.cli import load_for_results
from pipeline.jobs import summary_job
from pipeline.output import OutputDir, write_package
from pipeline.render import Job, Renderer

from .conftest import PDFTOPPM, ROOT, Cli, require
from .pdfcheck import squash
from .test_incremental import same_pages

CONTENT = ROOT / "content"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def result_set(where: Path, kept_below: int | None = None, rating=None):
    """The shipped content and sample results; ``kept_below``: only the prefectures and the first
    ``kept_below`` regions under them (a shorter body and table); ``rating``: the final rating
    of each result row changed (row → rating)."""
    regions_path = None
    keep = None
    if kept_below is not None:
        lines, keep, under = [], set(), 0
        for line in (CONTENT / "regions_jilin_2016.yaml").read_text(encoding="utf-8").splitlines():
            found = re.match(r"\s*- \{name: (\S+?),.*type: (\w+)", line)
            if found:
                if found.group(2) != "prefecture":
                    under += 1
                    if under > kept_below:
                        continue
                keep.add(found.group(1))
            lines.append(line)
        regions_path = where / "regions.yaml"
        regions_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = (CONTENT / "results_2016_sample.csv").read_text(encoding="utf-8-sig").splitlines()
    kept = [rows[0]]
    for row in rows[1:]:
        parts = row.split(",")
        if keep is not None and parts[0] not in keep:
            continue
        if rating is not None:
            parts[2] = rating(parts)
        kept.append(",".join(parts))
    results_path = where / "results.csv"
    results_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return load_for_results(None, regions_path, results_path)


def _flip_some(parts: list[str]) -> str:
    """未达标 for task 1.1 in every region whose name's length is odd."""
    return "未达标" if parts[1] == "1.1" and len(parts[0]) % 2 else parts[2]


# (regions kept under the prefectures, ratings changed): the body's pages, whether a blank page
# stands before the 版记 page (so the 版记 page is not numbered)
SETS = {
    "sample": ((None, None), 3, True),
    "flipped": ((None, _flip_some), 3, True),
    "59-regions": ((50, None), 3, False),
    "33-regions": ((24, None), 2, False),
    "19-regions": ((10, None), 2, True),
}


def outline(reader: PdfReader) -> list:
    def walk(items):
        return [walk(i) if isinstance(i, list) else
                (i.title, reader.get_destination_page_number(i), float(i["/Left"]), float(i["/Top"]))
                for i in items]
    return walk(reader.outline)


def fonts(reader: PdfReader) -> set[tuple[str, bool]]:
    """Each face's name (its subset tag off) and whether it is embedded."""
    found = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found.add((str(font["/BaseFont"]).split("+")[-1], embedded))
    return found


def feet(data: bytes) -> list[str]:
    """Each page's number as printed at its foot ("" when none)."""
    found = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            dashes = [c["top"] for c in page.chars if c["text"] == "—" and c["top"] > page.height - 100]
            found.append(squash("".join(c["text"] for c in page.chars if dashes and abs(c["top"] - max(dashes)) < 1
                                        and c["text"] in "—0123456789")))
    return found


@pytest.mark.parametrize("name", list(SETS))
def test_summary_filled_on_its_form_is_what_a_full_layout_gives(renderer, tmp_path, name):
    require(PDFTOPPM)
    (kept_below, rating), body_pages, after_blank = SETS[name]
    content, results = result_set(tmp_path, kept_below, rating)
    job = summary_job(content, results)
    assert job.base is not None and job.view.extra["form"].fillable
    forms = renderer.forms(OutputDir(tmp_path / "out"))
    filled, pages = forms.fill_pdf(job.view, job.base)
    whole, whole_pages = renderer.pdf.render(job.view)
    # §7.5 as the full layout decides it, with a body of this many pages before the attachment
    assert forms.imprint_after_blank is renderer.pdf.imprint_after_blank is after_blank
    assert pages == whole_pages
    same_pages(filled, whole, tmp_path, name)
    one, other = PdfReader(io.BytesIO(filled)), PdfReader(io.BytesIO(whole))
    assert one.pages[body_pages].mediabox.width > one.pages[body_pages].mediabox.height  # the attachment
    assert one.pages[body_pages - 1].mediabox.width < one.pages[body_pages - 1].mediabox.height
    assert outline(one) == outline(other)
    assert outline(one)[1][0][1] == body_pages  # the attachment's title, on its first page
    assert fonts(one) == fonts(other) and all(embedded for _, embedded in fonts(one))
    assert one.trailer["/Root"].get("/PageLabels") == other.trailer["/Root"].get("/PageLabels")
    assert dict(one.metadata) == dict(other.metadata)
    with pdfplumber.open(io.BytesIO(filled)) as a, pdfplumber.open(io.BytesIO(whole)) as b:
        for x, y in zip(a.pages, b.pages):
            assert x.extract_text() == y.extract_text()
    numbers = feet(filled)
    assert numbers == feet(whole)
    assert numbers[-1] == ("" if after_blank else f"—{pages}—")
    assert numbers[:-2] == [f"—{n}—" for n in range(1, pages - 1)]
    # the DOCX: the body written on its own, the form's attachment filled: the same bytes as
    # written whole, with the PDF's §7.5 decision
    docx = forms.fill_docx(job.view, job.base, forms.imprint_after_blank)
    assert docx == write_package(renderer.docx.render_parts(job.view, imprint_after_blank=after_blank))
    from docx import Document
    last = Document(io.BytesIO(docx)).sections[-1]
    assert (last.footer.paragraphs[0].text == "") is after_blank
    # the OFD, written from what was filled on each page, is the OFD of the PDF's bytes
    from pipeline.writers.ofd import OfdWriter
    key = job.fingerprint("ofd")
    made, count = renderer.ofd.render(job.view, filled, key)
    assert filled.fill is not None and count == pages
    assert made == OfdWriter(renderer.pdf.layout).render(job.view, bytes(filled), key)[0]


def test_body_of_other_pages_than_planned_fills_the_form_for_its_pages(renderer, tmp_path):
    """A body laid out on more or fewer pages than planned fills the form made for as many."""
    from pipeline.documents import summary_form

    content, results = result_set(tmp_path)
    job = summary_job(content, results)
    forms = renderer.forms(OutputDir(tmp_path / "out"))
    right, pages = forms.fill_pdf(job.view, job.base)
    planned = job.view.extra["form"].key[1]
    for wrong in (planned - 1, planned + 1):
        again, again_pages = forms.fill_pdf(job.view, summary_form(job.view, wrong))
        assert again == right and again_pages == pages


def test_cell_text_needing_more_room_is_laid_out_whole(renderer, tmp_path):
    """A count or rating taller than its row's one line (not in real results: a rating is a
    word, a count a number) is not stamped: the 通报 is laid out whole."""
    from pipeline.forms import Misfit

    content, results = result_set(tmp_path)
    job = summary_job(content, results)
    section = job.view.sections[1]
    table = next(b for b in section.blocks if b.kind == "table")
    group = table.groups[0]
    row = dict(group.rows[0], rating=["未达标（" + "说明文字" * 8 + "）"])
    table2 = replace(table, groups=[replace(group, rows=[row] + group.rows[1:])] + table.groups[1:])
    fill = job.view.extra["form"]
    view = replace(job.view, sections=[job.view.sections[0], replace(section, blocks=[
        table2 if b is table else b for b in section.blocks])],
        extra={**job.view.extra, "form": replace(fill, values={**fill.values, f"rating:{row['id'][0]}": row["rating"][0]})})
    out = OutputDir(tmp_path / "out")
    with pytest.raises(Misfit):
        renderer.forms(out).fill_pdf(view, job.base)
    whole, _ = renderer.pdf.render(view)
    renderer.run(Job("summary", "misfit", view, base=job.base), out, ("pdf",))
    assert next((tmp_path / "out").rglob("misfit.pdf")).read_bytes() == whole


def test_summary_command_incremental_is_a_fresh_one(tmp_path):
    """`pipeline summary` into a folder that keeps its forms, after a region's rating changed,
    writes what it writes into a fresh folder, byte for byte."""
    work = tmp_path / "w"
    import shutil
    shutil.copytree(CONTENT, work / "content")
    cli = Cli(work)
    results = work / "content" / "results_2016_sample.csv"
    cli("summary", "--results", str(results), "--out", "a")
    assert list((work / "a" / ".cache" / "forms").glob("*.json"))  # the form kept
    text = results.read_text(encoding="utf-8-sig")
    line = next(l for l in text.splitlines() if l.startswith("九台区,1.1,"))
    parts = line.split(",")
    parts[2] = "未达标" if parts[2] != "未达标" else "达标"
    results.write_text(text.replace(line, ",".join(parts)), encoding="utf-8")
    cli("summary", "--results", str(results), "--out", "a")
    cli("summary", "--results", str(results), "--out", "b")

    def documents(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and ".cache" not in p.parts}
    a, b = documents(work / "a"), documents(work / "b")
    assert a.keys() == b.keys() and any(k.endswith(".ofd") for k in a)
    for name in a:
        assert a[name] == b[name], name


def test_stamps_laid_out_together_are_each_as_laid_out_alone(renderer, tmp_path):
    """The stamps a fill needs that are not at hand are laid out in one pass, each page written
    on its own: byte for byte what each gives laid out alone (a document's bytes must not depend
    on which stamps the process had before): the 通报's cells (landscape) and a letter's (portrait)."""
    from pipeline.forms import FormFiller, _stamps_html
    from pipeline.jobs import report_jobs

    content, results = result_set(tmp_path)
    letter = next(j for j in report_jobs(content, results, [content.region("九台区")]) if j.kind == "letter")
    keys = []
    forms = renderer.forms(OutputDir(tmp_path / "probe"))
    for job in (summary_job(content, results), letter):
        stamps, _ = forms._slots(forms.blank(job.base), job.view)
        keys += sorted({key for placed in stamps.values() for key, _, _ in placed}, key=repr)
    assert len(keys) > 40 and len({key[0] for key in keys}) == 2  # both page sizes
    together = FormFiller(renderer.pdf, lambda: renderer.docx, tmp_path / "together")
    together._lay_out_stamps(keys)
    assert len(list((tmp_path / "together").glob("stamp-*.pdf"))) == len(keys)
    for key in keys:
        alone = renderer.pdf._layout(_stamps_html([key]), "overlay").write_pdf()
        assert together._sheet_path(_stamps_html([key])).read_bytes() == alone, key


def test_summary_without_imprint_filled_as_laid_out_whole(renderer, tmp_path):
    """A 通报 whose issuance gives no 版记: its form ends with the attachment; the same pages and
    the same DOCX as written whole."""
    from pipeline.documents import summary_form

    content, results = result_set(tmp_path, 10)
    job = summary_job(content, results)
    view = replace(job.view, imprint=None)
    base = summary_form(view, job.view.extra["form"].key[1])
    forms = renderer.forms(OutputDir(tmp_path / "out"))
    filled, pages = forms.fill_pdf(view, base)
    whole, whole_pages = renderer.pdf.render(view)
    assert pages == whole_pages and not forms.imprint_after_blank
    same_pages(filled, whole, tmp_path, "no imprint")
    assert forms.fill_docx(view, base) == write_package(renderer.docx.render_parts(view))
