"""What a file is made from, as one hash: a build re-renders only what changed.

A document's fingerprint covers its view (every text and number it shows, the wording from
``templates/text`` included), the format, and what files of that format are made with: the
layout numbers, the HTML templates and stylesheet (PDF) or the Word styles (DOCX), the font
files, the code of this package that turns a view into that format's bytes (``CODE``: the
writers, the form filler, pagination, the build's own steps), and the versions of this package and
of the libraries that write the files. A change in any of that code re-renders the files it makes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from importlib import metadata
from pathlib import Path

from . import __version__
from .layout import TEMPLATES, font_paths, load_layout
from .output import stat_key

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


# The modules (relative to this package) that make each format's bytes from a view; what they
# import from this package is here too, except the modules that only hold data (the views and the
# model: what a view holds is fingerprinted as the view). tests/test_incremental.py checks the
# lists against the imports.
_MAKING = ("render.py", "output.py", "layout.py", "pagination.py", "forms.py", "documents.py")
_PDF = _MAKING + ("writers/pdf.py", "writers/pdf_layout.py")
_DOCX = _MAKING + ("writers/docx.py", "writers/docx_styles.py")
CODE = {
    "pdf": _PDF,
    # an OFD is written from its PDF
    "ofd": _PDF + ("writers/ofd.py", "writers/ofd_fonts.py"),
    "html": _MAKING + ("writers/pdf.py",),
    "docx": _DOCX,
    "xlsx": ("render.py", "output.py", "writers/xlsx.py"),
}


@functools.lru_cache(maxsize=None)
def code(fmt: str) -> str:
    """The sha256 of the source of the modules that make files of this format."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for name in CODE[fmt]:
        digest.update(name.encode())
        digest.update((package / name).read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def environment(fmt: str) -> str:
    """Everything but the view that a file of this format is made from."""
    templates, libraries, fonts = INPUTS[fmt]
    digest = hashlib.sha256(f"pipeline {__version__} {fmt}".encode())
    for name in libraries:
        digest.update(f"{name} {_version(name)}".encode())
    # the code: the XLSX's cells and the OFD are made up there entirely; the PDF and DOCX from
    # the templates below as the writers and the form filler use them
    digest.update(code(fmt).encode())
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
def _version(name: str) -> str:
    """A library's version as ``metadata.version`` says it ("-": not installed), read from the
    Version field of its metadata without parsing the whole header (0.8 ms a library less)."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return "-"
    found = re.search(r"^Version:[ \t]*(\S+)", dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "",
                      re.MULTILINE)
    return found.group(1) if found else dist.version


# The font files' hashes, each noted with the file's stat (size, times, inode: what make and git
# trust; the change time cannot be set back), kept where a build keeps its notes (the output
# folder's .cache, cli.py): a font is read and hashed again only when its stat changed (31 MB,
# 0.02 s CPU a process).
_FONT_NOTES: dict[str, list] = {}


def font_notes() -> dict[str, list]:
    return dict(_FONT_NOTES)


def take_font_notes(notes: dict) -> None:
    _FONT_NOTES.update({k: v for k, v in notes.items() if isinstance(k, str) and isinstance(v, list)})


def _file_hash(path: str) -> str:
    key = stat_key(os.stat(path))
    noted = _FONT_NOTES.get(path)
    if noted is not None and noted[:-1] == key and isinstance(noted[-1], str):
        return noted[-1]
    with open(path, "rb") as handle:
        found = hashlib.file_digest(handle, "sha256").hexdigest()
    _FONT_NOTES[path] = key + [found]
    return found


def of_view(view, fmt: str) -> str:
    """The fingerprint of one file: a view in one format, in this environment."""
    return of_formats(view, (fmt,))[fmt]


def of_formats(view, formats) -> dict[str, str]:
    """The fingerprints of a view in several formats (the view written out once)."""
    return of_digest(view_digest(view), formats)


def view_digest(view) -> tuple[str, bool]:
    """What the fingerprints take of a view: the hash of all it shows, and whether it has a 版记."""
    return hashlib.sha256(repr(view).encode("utf-8")).hexdigest(), getattr(view, "imprint", None) is not None


def of_digest(digest: tuple[str, bool], formats) -> dict[str, str]:
    """The fingerprints of the view of this ``view_digest`` in these formats."""
    text, imprint = bytes.fromhex(digest[0]), digest[1]  # hashed once for every format
    found = {}
    for fmt in formats:
        hashed = _environments(fmt, imprint).copy()
        hashed.update(text)
        found[fmt] = hashed.hexdigest()
    return found


@functools.lru_cache(maxsize=None)
def _environments(fmt: str, imprint: bool):
    """The hash of what files of this format are made with, then the format, ready for a view's
    digest (copied per view: the same bytes as hashing it all each time)."""
    # a blank form (forms.py) is kept laid out as PDF and written as DOCX; a DOCX with a 版记
    # numbers its page as the PDF's layout decides (§7.5)
    envs = ("pdf", "docx") if fmt == "form" or (fmt == "docx" and imprint) else (fmt,)
    hashed = hashlib.sha256("".join(environment(e) for e in envs).encode())
    hashed.update(fmt.encode())
    return hashed


# What a view is made from besides the content and results: this package's code (all of it: a
# view's builders call far into it), the templates (the wording, layout.yaml's numbers the
# pagination reads) and the libraries that read and word the data.
_VIEW_LIBRARIES = ("Jinja2", "pydantic", "pydantic-core", "PyYAML")


@functools.lru_cache(maxsize=None)
def sources() -> str:
    """The hash of everything a view is made from besides the data (``made_from``)."""
    import sys

    digest = hashlib.sha256(f"pipeline {__version__} python {sys.version}".encode())
    for name in _VIEW_LIBRARIES:
        digest.update(f"{name} {_version(name)}".encode())
    package = Path(__file__).parent
    for root, pattern in ((package, "*.py"), (TEMPLATES, "*")):
        for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def made_from(*parts: str) -> str:
    """The hash of what one view is made from: ``sources()`` and the data the parts name. Equal
    hashes, equal views: a build keeps each view's digest under it (OutputDir.views) and does
    not build a view again to learn it."""
    digest = hashlib.sha256(sources().encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()
