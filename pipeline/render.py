"""Rendering jobs: a DocumentView to files in the chosen formats, recorded in the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from . import fingerprint
from .output import Entry, OutputDir, normalize_zip
from .views import DocumentView

FORMATS = ("docx", "pdf", "ofd", "xlsx", "html")


@dataclass
class Job:
    """One document: its view, where it goes, and what the manifest says of it."""

    kind: str
    name: str  # file name without extension
    view: DocumentView
    sub: str | None = None  # a sub-folder (e.g. 地区)
    level: str | None = None
    region: str | None = None
    rating: str | None = None
    xlsx: bool = False  # checklists also come as a fillable workbook
    base: DocumentView | None = None  # the blank form this document fills (forms.py)


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
        entries = []
        made = []  # the PDF, made once: the OFD is written from it (writers/ofd.py)

        def pdf() -> tuple[bytes, int]:
            if not made:
                fill = job.view.extra.get("form")
                if job.base is not None and fill is not None and fill.fillable:
                    made.append(self.forms(out).fill_pdf(job.view, job.base))
                else:
                    made.append(self.pdf.render(job.view))
            return made[0]

        for fmt in job.formats(formats):
            path = out.path_for(job.kind, job.name, fmt, job.sub)
            pages = None
            fill = job.view.extra.get("form")
            filled = job.base is not None and fill is not None and fill.fillable
            if fmt == "pdf":
                data, pages = pdf()
            elif fmt == "ofd":
                data, pages = self.ofd.render(job.view, pdf()[0], fingerprint.of_view(job.view, "ofd"))
            elif fmt == "docx" and filled:
                data = self.forms(out).fill_docx(job.view, job.base)
            elif fmt == "docx":
                data = normalize_zip(self.docx.render(job.view))
            elif fmt == "xlsx":
                from .writers.xlsx import checklist_workbook
                data = normalize_zip(checklist_workbook(job.view, job.view.extra["table"]))
            else:
                data = self.pdf.html(job.view).encode("utf-8")
            entries.append(out.write(path, data, job.kind, fmt, job.level, job.region, pages,
                                     job.rating, fingerprint.of_view(job.view, fmt)))
        return entries
