"""Pages a department would sign (GB/T 9704 §7.3.5, GBT9704.md "Closing block" and "Tables").

The last lines of the body, the 附件说明, the 署名 and the date share a page that carries at
least two lines of body text; the notice's whole first section stands on page 1; task tables
fill their pages; the line estimator agrees with the real layout.
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pdfplumber
import pytest

from pipeline import documents, pagination
from pipeline.cli import load_for_results
from pipeline.jobs import report_jobs, split_complete, summary_job
from pipeline.layout import load_layout
from pipeline.model import AssessmentClass
from pipeline.writers.docx import DocxWriter
from pipeline.writers.pdf import PdfWriter, measure_first_section

from .conftest import SOFFICE, require
from .pdfcheck import lines_of, mm, squash

CONTENT, RESULTS = load_for_results(None, None, None)
COMPLETE, _ = split_complete(CONTENT, RESULTS)
LETTERS = {job.region: job.view for job in report_jobs(CONTENT, RESULTS, COMPLETE) if job.kind == "letter"}
NOTICE = documents.notice(CONTENT.tasks)
SUMMARY = summary_job(CONTENT, RESULTS).view


@pytest.fixture(scope="module")
def writer() -> PdfWriter:
    return PdfWriter()


def closing_pages(pdf_bytes_or_path, view) -> tuple[int, int, int]:
    """(page of the last body line, page of the date, body lines on the date's page), read from
    the PDF: body lines are the visual lines whose text belongs to a body paragraph."""
    section = view.sections[0]
    body = [squash(b.text) for b in section.blocks if b.kind == "paragraph"]
    date = squash(next(b for b in section.blocks if b.kind == "signature").date)
    source = io.BytesIO(pdf_bytes_or_path) if isinstance(pdf_bytes_or_path, bytes) else pdf_bytes_or_path
    found, date_page = [], None
    with pdfplumber.open(source) as pdf:
        for number, page in enumerate(pdf.pages):
            if page.width > page.height and date_page is not None:
                break
            for line in lines_of(page):
                text = squash("".join(c["text"] for c in line))
                if text == date and date_page is None:
                    date_page = number
                elif date_page is None and len(text) > 1 and any(text in b for b in body):
                    found.append(number)
            if date_page is not None:
                break
    assert date_page is not None and found
    return found[-1], date_page, found.count(date_page)


def assert_closing_rule(pdf, view, name: str) -> int:
    last, date_page, on_page = closing_pages(pdf, view)
    assert last == date_page, f"{name}: body ends on page {last + 1}, date on page {date_page + 1}"
    assert on_page >= 2, f"{name}: only {on_page} body line(s) with the signature"
    return date_page


def test_notice_first_section_on_page_one(writer):
    data, _ = writer.render(NOTICE)
    assert assert_closing_rule(data, NOTICE, "通知") == 0
    assert 26 <= NOTICE.sections[0].pitch_pt < load_layout().line_pitch_pt


def test_every_sample_letter_keeps_its_closing_block(writer):
    pages = {}
    for name, view in LETTERS.items():
        data, count = writer.render(view)
        pages[name] = assert_closing_rule(data, view, name)
        assert 2 <= count <= 6, (name, count)  # the results table, not the whole report
        title = next(b for b in view.sections[0].blocks if b.kind == "title")
        with pdfplumber.open(io.BytesIO(data)) as pdf:  # each title line stays one line (§7.3.1)
            printed = ["".join(c["text"] for c in l) for l in lines_of(pdf.pages[0]) if round(l[0]["size"]) == 22]
        assert printed == title.lines, name
    # the sample holds letters of every kind: on page 1 at the grid's pitch, on page 1 tightened,
    # and carried over with two lines or more
    kinds = {(pages[n], LETTERS[n].sections[0].pitch_pt is not None) for n in LETTERS}
    assert {(0, False), (0, True), (1, False)} <= kinds


def test_summary_keeps_its_closing_block(writer):
    data, _ = writer.render(SUMMARY)
    assert_closing_rule(data, SUMMARY, "通报")


def test_break_goes_where_two_lines_go_over():
    """Bodies of growing length on the notice's page: each either fits page 1 (tightened when
    needed, never below 26 pt) or breaks so that at least two lines go over, never one."""
    section = NOTICE.sections[0]
    body = next(b for b in section.blocks if b.kind == "paragraph")
    layout = load_layout()
    seen = set()
    for extra in range(0, 60):
        text = body.text + "认真贯彻落实" * extra
        blocks = [replace(b, text=text) if b is body else b for b in section.blocks]
        plan = pagination.plan_closing(replace(section, blocks=blocks, pitch_pt=None), layout)
        if plan.pitch_pt is not None:
            assert 26 <= plan.pitch_pt < layout.line_pitch_pt and plan.pages == 1
            seen.add("tight")
        elif plan.break_block is not None:
            starts = pagination.wrap(text, layout.grid.chars, 2)
            assert plan.break_offset in starts
            assert len(starts) - starts.index(plan.break_offset) >= 2
            seen.add("break")
        else:
            seen.add("fits")
    assert {"tight", "break"} <= seen


def test_estimator_matches_real_lines(writer):
    """Line breaks of every body paragraph and addressee of the sample documents, estimated on
    the grid, against WeasyPrint's: exact for Chinese-only text, within a line otherwise."""
    layout = load_layout()
    checked = exact = 0
    for view in [NOTICE, SUMMARY, *LETTERS.values()]:
        section = view.sections[0]
        real = measure_first_section(writer._layout(writer.html(view))).starts(section, layout.grid.chars)
        for index, block in enumerate(section.blocks):
            if block.kind not in ("paragraph", "addressee") or index not in real:
                continue
            text = block.text + ("：" if block.kind == "addressee" else "")
            estimate = pagination.wrap(text, layout.grid.chars,
                                       pagination.BODY_STYLES.get(getattr(block, "style", ""), 0))
            checked += 1
            if re.search(r"[\x00-\x7f]", text):
                assert abs(len(estimate) - len(real[index])) <= 1, text
            else:
                assert estimate == real[index], text
                exact += 1
    assert checked > 100 and exact > 10


# --- tables fill their pages -------------------------------------------------------------------

TARGETS = {"notice": 14, "市（州）": 13, "县（市）": 16, "区": 12}


def table_fill(data: bytes) -> list[float]:
    """How far down the 版心 each landscape table page's rules reach."""
    fills = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            shapes = page.rects + page.lines
            if page.width > page.height and shapes:
                fills.append((mm(max(r["bottom"] for r in shapes)) - 28) / 156)
    return fills


@pytest.mark.parametrize("name", list(TARGETS))
def test_tables_fill_their_pages(writer, name):
    view = NOTICE if name == "notice" else documents.checklist(CONTENT.tasks, AssessmentClass(name))
    data, _ = writer.render(view)
    fills = table_fill(data)
    assert len(fills) <= TARGETS[name], (name, len(fills))
    assert all(f >= 0.85 for f in fills[:-1]), (name, [round(f, 2) for f in fills])


# --- 附件说明 that wraps (§7.3.4) ---------------------------------------------------------------


def test_wrapped_attachment_note_hangs_under_its_title(writer):
    name = next(n for n, v in LETTERS.items() if len(n) >= 10)  # 前郭尔罗斯蒙古族自治县
    view = LETTERS[name]
    data, _ = writer.render(view)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = next(p for p in pdf.pages if "附件：" in "".join(c["text"] for c in p.chars))
        lines = lines_of(page)
        first = next(i for i, l in enumerate(lines) if "".join(c["text"] for c in l).startswith("附件："))
        note, more = lines[first], lines[first + 1]
    assert "".join(c["text"] for c in more) in documents.results_title(CONTENT.tasks, view_region(name))
    title_start = note[3]["x0"]  # after 附件：
    assert abs(more[0]["x0"] - title_start) < 1.0
    assert abs(mm(note[0]["x0"]) - 28 - 2 * 5.571) < 0.5


def view_region(name):
    return CONTENT.region(name)


# --- the same through LibreOffice -----------------------------------------------------------------

def test_docx_closing_block_in_libreoffice(tmp_path):
    # the notice and five letters of different lengths: on page 1 at the grid's pitch, tightened,
    # broken inside the last paragraph, and carried over whole
    chosen = {}
    for name, view in LETTERS.items():
        s = view.sections[0]
        kind = ("tight" if s.pitch_pt else
                "split" if any(getattr(b, "break_at", None) for b in s.blocks) else
                "plain")
        chosen.setdefault(kind, []).append(name)
    names = chosen.get("plain", [])[:2] + chosen.get("tight", [])[:2] + chosen.get("split", [])[:1]
    longest = max(LETTERS, key=len)  # its title takes two full lines
    names = [n for n in names if n != longest][:4] + [longest]
    names += [n for n in LETTERS if n not in names][: 5 - len(names)]
    writer = DocxWriter()
    views = {"通知": NOTICE, **{n: LETTERS[n] for n in names}}
    for name, view in views.items():
        (tmp_path / f"{name}.docx").write_bytes(writer.render(view))
    subprocess.run([require(SOFFICE), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    *[str(tmp_path / f"{n}.docx") for n in views]],
                   check=True, capture_output=True, timeout=300)
    for name, view in views.items():
        page = assert_closing_rule(tmp_path / f"{name}.pdf", view, f"{name}（LibreOffice）")
        if name == "通知":
            assert page == 0
