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
