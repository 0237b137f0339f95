"""Reading produced files back: text in order, positions in millimetres."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

MM = 25.4 / 72


def mm(points: float) -> float:
    return points * MM


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    """All text in drawing order, page numbers ("— 3 —") left out."""
    from pypdf import PdfReader
    text = squash("".join(page.extract_text() for page in PdfReader(path).pages))
    return re.sub(r"—\d+—", "", text)


def docx_text(path: Path) -> str:
    """Body, tables and footers of a DOCX in document order."""
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    texts = re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)
    import html
    return squash(html.unescape("".join(texts)))


def assert_in_order(haystack: str, units: list[str]) -> None:
    position = 0
    for unit in units:
        found = haystack.find(squash(unit), position)
        assert found >= 0, f"missing or out of order: {unit!r}"
        position = found + len(squash(unit))


def lines_of(page) -> list[list[dict]]:
    """Characters grouped into visual lines (same top)."""
    rows: dict[float, list[dict]] = {}
    for c in page.chars:
        rows.setdefault(round(c["top"], 0), []).append(c)
    return [sorted(cs, key=lambda c: c["x0"]) for _, cs in sorted(rows.items())]


def table_columns(path: Path, widths_mm: list[float], left_mm: float = 37.0) -> list[str]:
    """The text of each column of a landscape task table, read down its pages in order: a row
    broken across pages reads whole. Header cells (黑体), page numbers and the text around the
    table (larger than the table type) are left out."""
    import pdfplumber

    edges = [left_mm]
    for w in widths_mm:
        edges.append(edges[-1] + w)
    columns = [""] * len(widths_mm)
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            if page.width < page.height:
                continue
            foot = page.height - 26 / MM  # below the 版心: the page number
            chars = [c for c in page.chars if "hei" not in c["fontname"].lower() and c["size"] < 13
                     and c["top"] < foot and c["text"].strip()]
            for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
                x = mm((c["x0"] + c["x1"]) / 2)
                for i in range(len(widths_mm)):
                    if edges[i] <= x < edges[i + 1]:
                        columns[i] += c["text"]
                        break
    return columns
