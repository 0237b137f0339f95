"""What a file is made from, as one hash: a build re-renders only what changed.

A document's fingerprint covers its view (every text and number it shows), the format, and the
environment every document shares: ``templates/`` (layout numbers, HTML, stylesheet, Word
styles, wording), the font files, and the versions of this package and of the libraries that
write the files.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata

from . import __version__
from .layout import TEMPLATES, font_paths, load_layout

LIBRARIES = ("weasyprint", "pydyf", "python-docx", "openpyxl", "pikepdf", "Jinja2")


@functools.lru_cache(maxsize=None)
def environment() -> str:
    digest = hashlib.sha256(f"pipeline {__version__}".encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -".encode())
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        digest.update(path.relative_to(TEMPLATES).as_posix().encode())
        digest.update(path.read_bytes())
    try:
        fonts = font_paths(load_layout())
    except Exception:  # no fonts: PDFs cannot be made anyway, and say so when tried
        fonts = {}
    for role in sorted(fonts):
        digest.update(role.encode())
        digest.update(_file_hash(str(fonts[role])).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _file_hash(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def of_view(view, fmt: str) -> str:
    """The fingerprint of one file: a view in one format, in this environment."""
    digest = hashlib.sha256(environment().encode())
    digest.update(fmt.encode())
    digest.update(repr(view).encode("utf-8"))
    return digest.hexdigest()
