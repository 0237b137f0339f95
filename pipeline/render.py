"""Rendering jobs: a DocumentView to files in the chosen formats, recorded in the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from .output import Entry, OutputDir, normalize_zip
from .views import DocumentView

FORMATS = ("docx", "pdf", "xlsx", "html")


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


    @property
    def default_formats(self) -> tuple[str, ...]:
        return ("docx", "pdf", "xlsx") if self.xlsx else ("docx", "pdf")


class Renderer:
    """Holds one writer per format for the life of the process (fonts and CSS loaded once)."""

    def __init__(self):
        self._pdf = None
        self._docx = None

    @property
    def pdf(self):
        if self._pdf is None:
            from .writers.pdf import PdfWriter
            self._pdf = PdfWriter()
        return self._pdf

    @property
    def docx(self):
        if self._docx is None:
            from .writers.docx import DocxWriter
            self._docx = DocxWriter()
        return self._docx

    def run(self, job: Job, out: OutputDir, formats: tuple[str, ...] = ()) -> list[Entry]:
        """Write the job in ``formats`` (default: DOCX and PDF, and XLSX for a checklist)."""
        entries = []
        for fmt in formats or job.default_formats:
            if fmt == "xlsx" and not job.xlsx:
                continue
            path = out.path_for(job.kind, job.name, fmt, job.sub)
            pages = None
            if fmt == "pdf":
                data, pages = self.pdf.render(job.view)
            elif fmt == "docx":
                data = normalize_zip(self.docx.render(job.view))
            elif fmt == "xlsx":
                from .writers.xlsx import checklist_workbook
                data = normalize_zip(checklist_workbook(job.view, job.view.extra["table"]))
            else:
                data = self.pdf.html(job.view).encode("utf-8")
            entries.append(out.write(path, data, job.kind, fmt, job.level, job.region, pages,
                                     job.rating))
        return entries
