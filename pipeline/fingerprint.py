"""What a file is made from, as one hash: a build re-renders only what changed.

A document's fingerprint covers its view (every text and number it shows, the wording from
``templates/text`` included), the format, and what files of that format are made with: the
layout numbers, the HTML templates and stylesheet (PDF) or the Word styles (DOCX), the font
files, the XLSX writer's own code (the workbook is made up there), and the versions of this
package and of the libraries that write the files.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

from . import __version__
from .layout import TEMPLATES, font_paths, load_layout

# What each format is made with, besides the view: the files under templates/ and the libraries.
# The wording templates (templates/text/) are not here: what they say is in the views.
INPUTS = {
    "pdf": (("layout.yaml", "html"), ("weasyprint", "pydyf", "pikepdf", "Jinja2"), True),
    # an OFD is written from its PDF (writers/ofd.py): the PDF's inputs, and fontTools (TrueType faces)
    "ofd": (("layout.yaml", "html"), ("weasyprint", "pydyf", "pikepdf", "Jinja2", "fonttools"), True),
    "html": (("layout.yaml", "html"), ("Jinja2",), False),
    "docx": (("layout.yaml", "docx"), ("python-docx",), False),
    "xlsx": ((), ("openpyxl",), False),
}


@functools.lru_cache(maxsize=None)
def environment(fmt: str) -> str:
    """Everything but the view that a file of this format is made from."""
    templates, libraries, fonts = INPUTS[fmt]
    digest = hashlib.sha256(f"pipeline {__version__} {fmt}".encode())
    for name in libraries:
        try:
            digest.update(f"{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -".encode())
    if fmt == "xlsx":  # the workbook is made up in code (its cells, validation, comment), not templates
        from .writers import xlsx
        digest.update(Path(xlsx.__file__).read_bytes())
    if fmt == "ofd":  # likewise the OFD: written in code from the PDF's content streams
        for name in ("ofd.py", "ofd_fonts.py", "pdf_layout.py"):
            digest.update((Path(__file__).parent / "writers" / name).read_bytes())
    for entry in templates:
        root = TEMPLATES / entry
        for path in sorted([root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]):
            digest.update(path.relative_to(TEMPLATES).as_posix().encode())
            digest.update(path.read_bytes())
    if fonts:
        try:
            found = font_paths(load_layout())
        except Exception:  # no fonts: PDFs cannot be made anyway, and say so when tried
            found = {}
        for role in sorted(found):
            digest.update(role.encode())
            digest.update(_file_hash(str(found[role])).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _file_hash(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def of_view(view, fmt: str) -> str:
    """The fingerprint of one file: a view in one format, in this environment."""
    return of_formats(view, (fmt,))[fmt]


def of_formats(view, formats) -> dict[str, str]:
    """The fingerprints of a view in several formats (the view written out once)."""
    text = repr(view).encode("utf-8")
    found = {}
    for fmt in formats:
        # a blank form (forms.py) is kept laid out as PDF and written as DOCX; a DOCX with a
        # 版记 numbers its page as the PDF's layout decides (§7.5)
        envs = ("pdf", "docx") if fmt == "form" or (fmt == "docx" and getattr(view, "imprint", None)) else (fmt,)
        digest = hashlib.sha256("".join(environment(e) for e in envs).encode())
        digest.update(fmt.encode())
        digest.update(text)
        found[fmt] = digest.hexdigest()
    return found
