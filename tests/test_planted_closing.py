"""The closing block (GB/T 9704 §7.3.5) at its edges, with expectations written out by hand
(issue 22): a one-line last paragraph (特此通知。), a paragraph that lands exactly at the foot of
page 1, and bodies one line longer each time, in the plan, in the PDF and through LibreOffice.

The documents are the notice's first section (版头, two-line title, two-line 主送机关) with its body
replaced. Under that 版头 page 1 holds exactly six body lines at the grid's pitch. A body
paragraph here is Chinese text without punctuation: 26 characters on its first line (indented two
characters), 28 on each further line, so line k (k ≥ 1) starts at character 26 + 28 × (k − 1).
"""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from pipeline import documents, pagination
from pipeline.content import load_content
from pipeline.layout import load_layout
from pipeline.pagination import ClosingPlan
from pipeline.views import Paragraph
from pipeline.writers.docx import DocxWriter
from pipeline.writers.pdf import PdfWriter

from .conftest import SOFFICE, require
from .test_pages import closing_pages

CONTENT = load_content(need_rating_files=True)
NOTICE = documents.notice(CONTENT.tasks)
WORDS = "各地要认真贯彻落实全省民政工作会议精神切实做好困难群众基本生活保障工作"
CLOSING = "特此通知。"
PARAGRAPH_BLOCK = 3  # masthead, title, addressee, then the body


def body(lines: int) -> str:
    """A paragraph of exactly ``lines`` lines, ending with a full stop."""
    size = 26 + 28 * (lines - 1)
    return (WORDS * 40)[: size - 1] + "。"


def start_of_line(k: int) -> int:
    return 0 if k == 0 else 26 + 28 * (k - 1)


def notice_with(lines: int, closing: str | None = None, plan: bool = True):
    section = pagination.strip_plan(NOTICE).sections[0]
    blocks = []
    for block in section.blocks:
        if isinstance(block, Paragraph):
            blocks.append(Paragraph(body(lines)))
            if closing:
                blocks.append(Paragraph(closing))
        else:
            blocks.append(block)
    # the first section alone: the attachment's table is not what is tested, and takes time
    view = replace(NOTICE, sections=[replace(section, blocks=blocks)])
    return pagination.paginate(view) if plan else view


# (body lines, with 特此通知。) → (page of the date, body lines on that page, first page tightened)
EXPECTED = {
    (1, False): (0, 1, False),   # everything fits at the grid's pitch
    (2, False): (0, 2, True),    # fits when page 1's lines are tightened (≥ 26 pt)
    (3, False): (0, 3, True),
    (4, False): (1, 2, False),   # cannot fit: break so that two lines go over, not one, not three
    (5, False): (1, 2, False),
    (6, False): (1, 2, False),   # the paragraph ends exactly at the foot of page 1
    (7, False): (1, 2, False),   # flows over by itself: its last line would go alone, so two go
    (8, False): (1, 2, False),
    (9, False): (1, 3, False),
    (1, True): (0, 2, True),
    (2, True): (0, 3, True),
    (3, True): (1, 4, False),    # a three-line paragraph is not split: all of it goes over
    (4, True): (1, 3, False),    # 特此通知。 never goes alone: two lines of the paragraph go with it
    (5, True): (1, 3, False),    # the body ends exactly at the foot of page 1
    (6, True): (1, 3, False),    # the paragraph fills page 1, 特此通知。 alone would flow over
    (7, True): (1, 3, False),
    (8, True): (1, 3, False),
    (9, True): (1, 4, False),
}

# The plan itself: where the break goes (block, character) or the tightened pitch, by hand.
# The tightened pitch is the room under the 版头 divided by the lines, in hundredths of a point.
PLANS = {
    (1, False): ClosingPlan(None, None, 0, 1),
    (2, False): ClosingPlan(28.52, None, 0, 1),
    (3, False): ClosingPlan(26.62, None, 0, 1),
    (4, False): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(2), 2),
    (5, False): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(3), 2),
    (6, False): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(4), 2),
    (7, False): ClosingPlan(None, None, 0, 2),
    (8, False): ClosingPlan(None, None, 0, 2),
    (1, True): ClosingPlan(28.52, None, 0, 1),
    (2, True): ClosingPlan(26.62, None, 0, 1),
    (3, True): ClosingPlan(None, PARAGRAPH_BLOCK, 0, 2),
    (4, True): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(2), 2),
    (5, True): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(3), 2),
    (6, True): ClosingPlan(None, PARAGRAPH_BLOCK, start_of_line(4), 2),
    (7, True): ClosingPlan(None, None, 0, 2),
}


def name(case) -> str:
    lines, closing = case
    return f"{lines}行{'+特此通知' if closing else ''}"


@pytest.mark.parametrize("case", list(PLANS), ids=name)
def test_plan_by_hand(case):
    lines, closing = case
    assert len(pagination.wrap(body(lines), 28, 2)) == lines
    view = notice_with(lines, CLOSING if closing else None, plan=False)
    assert pagination.plan_closing(view.sections[0], load_layout()) == PLANS[case]


@pytest.fixture(scope="module")
def views():
    return {case: notice_with(case[0], CLOSING if case[1] else None) for case in EXPECTED}


def test_closing_block_in_the_pdf(views):
    writer = PdfWriter()
    got = {}
    for case, view in views.items():
        data, _ = writer.render(view)
        _, date_page, on_page = closing_pages(data, view)
        got[case] = (date_page, on_page, view.sections[0].pitch_pt is not None)
    assert got == EXPECTED


def test_closing_block_through_libreoffice(views, tmp_path):
    soffice = require(SOFFICE)
    writer = DocxWriter()
    for case, view in views.items():
        (tmp_path / f"{name(case)}.docx").write_bytes(writer.render(view))
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    *[str(tmp_path / f"{name(case)}.docx") for case in views]],
                   check=True, capture_output=True, timeout=300)
    got = {}
    for case, view in views.items():
        _, date_page, on_page = closing_pages(tmp_path / f"{name(case)}.pdf", view)
        got[case] = (date_page, on_page, view.sections[0].pitch_pt is not None)
    assert got == EXPECTED


def test_pdf_replans_when_the_plan_is_off():
    """The PDF writer checks the real layout: a view whose plan is wrong (here: none at all, for a
    body that ends at the foot of page 1) is planned again from the measured lines."""
    writer = PdfWriter()
    for case in ((6, False), (6, True), (4, True)):
        wrong = notice_with(case[0], CLOSING if case[1] else None, plan=False)
        assert all(getattr(b, "break_at", None) is None for b in wrong.sections[0].blocks)
        data, pages = writer.render(wrong)
        _, date_page, on_page = closing_pages(data, wrong)
        assert (date_page, on_page) == EXPECTED[case][:2], case
    # a wrong tightening (the body does not fit page 1 even at 26 pt) is undone too
    view = notice_with(6)
    squeezed = pagination.apply_plan(pagination.strip_plan(view), ClosingPlan(26.0, None))
    data, _ = writer.render(squeezed)
    _, date_page, on_page = closing_pages(data, squeezed)
    assert (date_page, on_page) == (1, 2)


def body_lines_per_page(pdf) -> list[int]:
    import pdfplumber

    from .pdfcheck import lines_of
    with pdfplumber.open(pdf) as document:
        return [len([l for l in lines_of(page) if round(l[0]["size"]) == 16]) for page in document.pages]


def test_full_pages_hold_22_lines(tmp_path):
    """§5.2.2: 22 lines a page. A line pitch rounded up (28.991 pt) left room for only 21."""
    import io

    view = notice_with(40)
    data, _ = PdfWriter().render(view)
    assert body_lines_per_page(io.BytesIO(data))[1] == 22
    (tmp_path / "long.docx").write_bytes(DocxWriter().render(view))
    subprocess.run([require(SOFFICE), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(tmp_path / "long.docx")], check=True, capture_output=True, timeout=300)
    assert body_lines_per_page(tmp_path / "long.pdf")[1] == 22
