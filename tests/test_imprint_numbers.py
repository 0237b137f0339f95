"""§7.5 page numbers around the 版记: a blank page before the 版记 page leaves both unnumbered;
a 版记 page right after the last page of the body or the attachment is numbered like any page.

The notice's attachment ends on an odd page, so its 版记 page follows at once; the 通报's ends
on an even page, so a blank page comes between. Both cases, in the PDF and in the DOCX as
LibreOffice lays it out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pdfplumber
import pytest

from pipeline.cli import load_for_results
from pipeline.jobs import notice_job, summary_job
from pipeline.output import OutputDir
from pipeline.render import Renderer

from .conftest import SOFFICE, require

CONTENT, RESULTS = load_for_results(None, None, None)
NUMBER = re.compile(r"—\s*(\d+)\s*—")


def footer_number(page) -> int | None:
    """The page number printed below the 版心, if any."""
    foot = "".join(c["text"] for c in sorted(page.chars, key=lambda c: (round(c["top"]), c["x0"]))
                   if c["top"] > page.height - 35 / 25.4 * 72 + 5)
    found = NUMBER.search(foot)
    return int(found.group(1)) if found else None


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    out = OutputDir(tmp_path_factory.mktemp("imprint"))
    renderer = Renderer()
    files = {}
    for key, job in (("notice", notice_job(CONTENT)), ("summary", summary_job(CONTENT, RESULTS))):
        for entry in renderer.run(job, out):
            files[f"{key}.{entry.format}"] = out.root / entry.path
    return files


def pages_of(path: Path) -> list:
    with pdfplumber.open(path) as pdf:
        return [(p.width < p.height, footer_number(p), "".join(c["text"] for c in p.chars)) for p in pdf.pages]


def test_pdf_imprint_page_numbered_without_a_blank_page_before(made):
    pages = pages_of(made["notice.pdf"])
    portrait, number, text = pages[-1]
    assert "印发" in text and portrait
    assert len(pages) % 2 == 0 and number == len(pages)          # — 16 —, on the left
    assert "印发" not in pages[-2][2] and pages[-2][1] == len(pages) - 1
    with pdfplumber.open(made["notice.pdf"]) as pdf:
        last = pdf.pages[-1]
        digits = [c for c in last.chars if c["text"].isdigit() and c["top"] > last.height * 0.9]
        assert digits and all("GW-song" in c["fontname"] for c in digits)
        assert min(c["x0"] for c in digits) < last.width / 2       # even page: left


def test_pdf_no_number_on_a_blank_page_before_the_imprint_nor_on_it(made):
    pages = pages_of(made["summary.pdf"])
    assert len(pages) % 2 == 0
    blank, imprint = pages[-2], pages[-1]
    assert "印发" in imprint[2] and imprint[1] is None
    assert blank[1] is None and blank[2].replace("样例", "") == ""  # blank but for the sample mark
    assert pages[-3][1] == len(pages) - 2                            # numbering before: as usual




def test_docx_in_libreoffice_both_cases(made, tmp_path):
    subprocess.run([require(SOFFICE), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(made["notice.docx"]), str(made["summary.docx"])],
                   check=True, capture_output=True, timeout=300)
    notice = pages_of(tmp_path / made["notice.docx"].with_suffix(".pdf").name)
    summary = pages_of(tmp_path / made["summary.docx"].with_suffix(".pdf").name)
    # the notice: the 版记 page follows the attachment's last (odd) page and is numbered
    assert "印发" in notice[-1][2] and notice[-1][1] == len(notice) and len(notice) % 2 == 0
    assert notice[-2][1] == len(notice) - 1
    # the 通报: the attachment ends on an even page; LibreOffice leaves out the blank page it
    # inserts before the 版记 page when exporting, and neither carries a number
    last_content = summary[-2]
    assert "印发" in summary[-1][2] and summary[-1][1] is None
    assert last_content[1] == len(summary) - 1 and last_content[1] % 2 == 0
