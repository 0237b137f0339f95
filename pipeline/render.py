"""Rendering jobs: a DocumentView to files in the chosen formats, recorded in the manifest."""

from __future__ import annotations

import os
import shutil
import weakref
from dataclasses import dataclass, field
from typing import Callable

from . import fingerprint as fingerprints
from .output import Entry, OutputDir, normalize_zip, write_package
from .views import DocumentView

FORMATS = ("docx", "pdf", "ofd", "xlsx", "html")


@dataclass
class Job:
    """One document: its view, where it goes, and what the manifest says of it.

    A job with a ``recipe`` builds its view when asked and can let it go (``settle``): the
    parent of a build keeps one view at a time, whatever the number of regions, and a worker
    gets the recipe and builds the view itself."""

    kind: str
    name: str  # file name without extension
    _view: DocumentView | None
    sub: str | None = None  # a sub-folder (e.g. 地区)
    level: str | None = None
    region: str | None = None
    rating: str | None = None
    xlsx: bool = False  # checklists also come as a fillable workbook
    base: DocumentView | None = None  # the blank form this document fills (forms.py)
    recipe: Callable[[], DocumentView] | None = field(default=None, repr=False)
    _fingerprints: dict[str, str] = field(default_factory=dict, repr=False)
    # What the view is made from (fingerprint.made_from), and what a build keeps of the view under
    # it (OutputDir.views): its digest (fingerprint.view_digest: hash, 版记 or not) and the form
    # it fills (jobs.py). A job whose view a build kept is planned without building the view.
    made_from: str | None = field(default=None, repr=False)
    kept: list | None = field(default=None, repr=False)

    @property
    def view(self) -> DocumentView:
        if self._view is None:
            assert self.recipe is not None
            self._view = self.recipe()
        return self._view

    def fingerprint(self, fmt: str) -> str:
        if fmt not in self._fingerprints:
            if self.kept is not None and self._view is None:
                self._fingerprints.update(fingerprints.of_digest((self.kept[0], self.kept[1]), (fmt,)))
            else:
                self._fingerprints[fmt] = fingerprints.of_view(self.view, fmt)
        return self._fingerprints[fmt]

    def settle(self, form=None) -> "Job":
        """Fingerprint the view in every format of the document, then let it go (when it can
        be built again); what a build keeps of it is noted (``kept``, with ``form``)."""
        if self.recipe is not None:
            digest = fingerprints.view_digest(self.view)
            self._fingerprints.update(fingerprints.of_digest(digest, self.default_formats))
            self.kept = [digest[0], digest[1], form]
            self._view = None
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.recipe is not None:
            state["_view"] = None  # sent to a worker: the recipe, not the view
        return state


    @property
    def default_formats(self) -> tuple[str, ...]:
        return ("docx", "pdf", "ofd", "xlsx") if self.xlsx else ("docx", "pdf", "ofd")

    def formats(self, asked: tuple[str, ...] = ()) -> list[str]:
        """The formats asked for that this document has (all of its own by default)."""
        return [f for f in (asked or self.default_formats) if f != "xlsx" or self.xlsx]


class Renderer:
    """Holds one writer per format for the life of the process (fonts and CSS loaded once),
    and the blank forms laid out so far."""

    def __init__(self):
        self._pdf = None
        self._docx = None
        self._ofd = None
        self._forms = {}
        self._imprint_after_blank: dict[str, bool] = {}  # §7.5, by the PDF's fingerprint

    def forms(self, out: OutputDir):
        from .forms import FormFiller, cache_dir
        root = out.root.resolve()
        if root not in self._forms:
            self._forms[root] = FormFiller(self.pdf, lambda: self.docx, cache_dir(out))
        return self._forms[root]

    @property
    def pdf(self):
        if self._pdf is None:
            from .writers.pdf import PdfWriter
            self._pdf = PdfWriter()
            _remove_with(self._pdf.font_config)
        return self._pdf

    @property
    def ofd(self):
        if self._ofd is None:
            from .writers.ofd import OfdWriter
            self._ofd = OfdWriter(self.pdf.layout)
        return self._ofd

    @property
    def docx(self):
        if self._docx is None:
            from .writers.docx import DocxWriter
            self._docx = DocxWriter()
        return self._docx

    def run(self, job: Job, out: OutputDir, formats: tuple[str, ...] = ()) -> list[Entry]:
        """Write the job in ``formats`` (default: DOCX and PDF, and XLSX for a checklist). A
        ``form`` job lays a blank form out into the cache and writes no document."""
        if job.kind == "form":
            self.forms(out).blank(job.view, need_docx=True)
            return []
        entries = {}
        wanted = job.formats(formats)
        fill = job.view.extra.get("form")
        filled = job.base is not None and fill is not None and fill.fillable
        made = []  # the PDF, made once: the OFD is written from it (writers/ofd.py)

        def pdf() -> tuple[bytes, int]:
            if not made:
                if filled:
                    from .forms import Misfit
                    try:
                        made.append(self.forms(out).fill_pdf(job.view, job.base))
                        after_blank = self.forms(out).imprint_after_blank
                    except Misfit:  # a text needs other room than its form keeps: laid out whole
                        made.append(self.pdf.render(job.view))
                        after_blank = self.pdf.imprint_after_blank
                else:
                    made.append(self.pdf.render(job.view))
                    after_blank = self.pdf.imprint_after_blank
                self._imprint_after_blank[job.fingerprint("pdf")] = after_blank
            return made[0]

        # §7.5: whether the 版记 page is numbered follows the PDF's layout (a blank page before
        # it or not); the DOCX takes the same decision, so the PDF is laid out first
        imprint_after_blank = False
        if job.view.imprint is not None and "docx" in wanted:
            key = job.fingerprint("pdf")
            if key not in self._imprint_after_blank:
                if {"pdf", "ofd"} & set(wanted) or filled:  # (filled: the body alone laid out)
                    pdf()
                else:
                    self.pdf.render(job.view)  # laid out for the decision only
                    self._imprint_after_blank[key] = self.pdf.imprint_after_blank
            imprint_after_blank = self._imprint_after_blank[key]
        for fmt in wanted:
            path = out.path_for(job.kind, job.name, fmt, job.sub)
            pages = None
            if fmt == "pdf":
                data, pages = pdf()
            elif fmt == "ofd":
                data, pages = self.ofd.render(job.view, pdf()[0], job.fingerprint("ofd"))
            elif fmt == "docx" and filled:
                data = self.forms(out).fill_docx(job.view, job.base, imprint_after_blank)
            elif fmt == "docx":
                data = write_package(self.docx.render_parts(job.view, imprint_after_blank=imprint_after_blank))
            elif fmt == "xlsx":
                from .writers.xlsx import checklist_workbook
                data = normalize_zip(checklist_workbook(job.view, job.view.extra["table"]))
            else:
                data = self.pdf.html(job.view).encode("utf-8")
            entries[fmt] = out.write(path, data, job.kind, fmt, job.level, job.region, pages,
                                     job.rating, job.fingerprint(fmt))
        return [entries[fmt] for fmt in job.formats(formats)]


# WeasyPrint copies the fonts of the stylesheet's @font-face rules into a temporary folder that it
# removes when its font configuration is collected (the project's own faces are registered where
# they lie, writers/pdf.py: no folder is made for them; only a rule that goes WeasyPrint's way
# makes one): never in a process that
# multiprocessing forked (a build's worker), which leaves by os._exit, nor when the interpreter's
# exit skips it. Removed here, by the process that made it, when the configuration goes or the
# process ends: by the interpreter's exit handlers, or by multiprocessing's, which its processes run.
_TEMPORARIES: list[weakref.finalize] = []
_REMOVED_AT_EXIT_IN: int | None = None  # the process that has multiprocessing remove them


def _remove_with(font_config) -> None:
    global _REMOVED_AT_EXIT_IN
    folder = getattr(font_config, "_folder", None)  # made when the first @font-face is read
    if folder:
        _TEMPORARIES[:] = [f for f in _TEMPORARIES if f.alive]
        _TEMPORARIES.append(weakref.finalize(font_config, _remove, str(folder), os.getpid()))
        if _REMOVED_AT_EXIT_IN != os.getpid():  # once per process (a fork inherits the note)
            from multiprocessing.util import Finalize
            Finalize(None, remove_temporaries, exitpriority=0)
            _REMOVED_AT_EXIT_IN = os.getpid()


def _remove(folder: str, owner: int) -> None:
    if os.getpid() == owner:  # never a forked process's parent's: it is still in use there
        shutil.rmtree(folder, ignore_errors=True)


def remove_temporaries() -> None:
    """Remove the temporary files this process's writers made (at its exit: they are not used again)."""
    for remove in _TEMPORARIES:
        remove()
    _TEMPORARIES.clear()
