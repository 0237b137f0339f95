"""Lay each form out once, fill it per document.

A region's checklist and its report are its class's assessment form with a few texts filled in
(the title, the region, the ratings, the result): ``documents.form`` marks those slots. The blank
form is laid out once per class (and kept, in memory and under ``<out>/.cache/forms``); each
document is then the blank form with its texts stamped on:

- PDF: the slots' boxes are read from the blank form's own layout; a small WeasyPrint layer
  sets each text in its box with the form's stylesheet, and pikepdf lays that layer over the
  form's pages. The text is the same font, size and place as a full layout would give.
- DOCX: the blank form is written with ⟦slot⟧ markers, and a copy has them replaced.

A document whose filled text could change the layout (remarks that may make a row taller) is
laid out on its own (``FormFill.fillable``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .documents import FORM_TITLE
from .pagination import cell_text_lines
from .views import DocumentView

PX_PER_MM = 96 / 25.4


@dataclass(frozen=True)
class SlotBox:
    """Where a slot's text goes on the blank form, in CSS px of its page."""

    slot: str
    page: int
    kind: str  # cell, field, title
    x: float
    y: float
    width: float
    height: float
    classes: str  # the element's classes (text alignment, cell kind)


@dataclass
class BlankForm:
    pdf: bytes
    pages: int
    page_sizes: list[tuple[float, float]]  # px
    boxes: list[SlotBox]
    docx: bytes | None = None

    def to_json(self) -> str:
        return json.dumps({"pages": self.pages, "page_sizes": self.page_sizes,
                           "boxes": [asdict(b) for b in self.boxes]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, pdf: bytes, docx: bytes | None) -> "BlankForm":
        data = json.loads(text)
        return cls(pdf, data["pages"], [tuple(s) for s in data["page_sizes"]],
                   [SlotBox(**b) for b in data["boxes"]], docx)


def view_key(view: DocumentView) -> str:
    """The blank form's identity: everything it shows, laid out in this environment (templates,
    fonts, library versions: fingerprint.py)."""
    from .fingerprint import of_view
    return of_view(view, "form")


def _length_px(value) -> float:
    """A computed CSS length (WeasyPrint's Dimension) in px."""
    if value is None:
        return 0.0
    number, unit = getattr(value, "value", value), getattr(value, "unit", "px")
    return {"px": 1.0, "mm": PX_PER_MM, "pt": 96 / 72, "cm": PX_PER_MM * 10}.get(unit, 1.0) * number


def slot_boxes(document) -> list[SlotBox]:
    """The slots of a laid-out blank form: for a cell, the area inside its padding (the first
    fragment of a row broken across pages, where a short text goes); for a field, its box."""
    from weasyprint.formatting_structure import boxes as wboxes

    found: dict[str, SlotBox] = {}
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or not isinstance(box, wboxes.Box):
                continue
            slot = element.get("data-slot")
            if slot is None or slot in found or element.tag not in ("td", "span", "h2"):
                continue
            if element.tag == "td" and not isinstance(box, wboxes.TableCellBox):
                continue
            if element.tag == "span" and not isinstance(box, wboxes.InlineBlockBox):
                continue
            if element.tag == "h2" and not isinstance(box, wboxes.BlockBox):
                continue
            classes = element.get("class") or ""
            if element.tag == "td":
                pad_x, pad_y = _length_px(box.style["padding_left"]), _length_px(box.style["padding_top"])
                x = box.border_box_x() + box.border_left_width + pad_x
                y = box.border_box_y() + box.border_top_width + pad_y
                width = box.border_width() - box.border_left_width - box.border_right_width - 2 * pad_x
                height = box.border_height() - box.border_top_width - box.border_bottom_width - 2 * pad_y
                found[slot] = SlotBox(slot, number, "cell", x, y, width, height, classes)
            else:
                kind = "field" if element.tag == "span" else "title"
                found[slot] = SlotBox(slot, number, kind, box.border_box_x(), box.border_box_y(),
                                      box.border_width(), box.border_height(), classes)
    return list(found.values())


def cache_dir(out) -> Path:
    """Where an output folder keeps its laid-out blank forms."""
    return out.root / ".cache" / "forms"


def cache_paths(directory: Path, key: str) -> tuple[Path, Path, Path]:
    """A blank form's PDF, its slot boxes (written last: the entry is whole once it is there)
    and its DOCX."""
    stem = directory / key[:32]
    return stem.with_suffix(".pdf"), stem.with_suffix(".json"), stem.with_suffix(".docx")


def is_cached(directory: Path, key: str) -> bool:
    pdf, boxes, _ = cache_paths(directory, key)
    return pdf.is_file() and boxes.is_file()


class FormFiller:
    """Blank forms laid out once per process (and kept on disk), filled per document."""

    def __init__(self, pdf_writer, docx_writer_factory, cache_dir: Path | None = None):
        self.pdf = pdf_writer
        self._docx = docx_writer_factory
        self.cache_dir = cache_dir
        self.forms: dict[str, BlankForm] = {}

    # --- the blank form ------------------------------------------------------------------------
    def blank(self, base: DocumentView, need_docx: bool = False) -> BlankForm:
        key = view_key(base)
        form = self.forms.get(key) or self._load(key)
        if form is None:
            document = self.pdf._layout(self.pdf.html(base))
            form = BlankForm(document.write_pdf(), len(document.pages),
                             [(p.width, p.height) for p in document.pages], slot_boxes(document))
            self._store(key, form)
        if need_docx and form.docx is None:
            from .output import normalize_zip
            form.docx = normalize_zip(self._docx().render(base, tokens=True))
            self._store(key, form)
        self.forms[key] = form
        return form

    def _paths(self, key: str) -> tuple[Path, Path, Path] | None:
        return None if self.cache_dir is None else cache_paths(self.cache_dir, key)

    def _load(self, key: str) -> BlankForm | None:
        paths = self._paths(key)
        if paths is None or not is_cached(self.cache_dir, key):
            return None
        try:
            docx = paths[2].read_bytes() if paths[2].is_file() else None
            return BlankForm.from_json(paths[1].read_text(encoding="utf-8"), paths[0].read_bytes(), docx)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is laid out again

    def _store(self, key: str, form: BlankForm) -> None:
        paths = self._paths(key)
        if paths is None:
            return
        from .output import atomic_write
        atomic_write(paths[0], form.pdf)
        if form.docx is not None:
            atomic_write(paths[2], form.docx)
        atomic_write(paths[1], form.to_json().encode("utf-8"))  # last: it marks the entry whole

    # --- filling ---------------------------------------------------------------------------------
    def fill_pdf(self, view: DocumentView, base: DocumentView) -> tuple[bytes, int]:
        import pikepdf

        form = self.blank(base)
        values = view.extra["form"].values
        layout = self.pdf.layout
        line_px = layout.sizes_pt.table * layout.table.line_height * 96 / 72
        pages: dict[int, list[tuple[SlotBox, list[str], float]]] = {}
        for box in form.boxes:
            text = values.get(box.slot, "")
            if text:
                lines = text.split("\n")
                top = box.y
                if box.kind == "cell":  # centred, as the table sets it (vertical-align: middle)
                    rows = cell_text_lines(lines, box.width / PX_PER_MM, layout)
                    top = box.y + (box.height - rows * line_px) / 2
                pages.setdefault(box.page, []).append((box, lines, top))
        order = sorted(pages)
        pdf = pikepdf.open(io.BytesIO(form.pdf))
        if order:
            from .writers.pdf import environment
            html = environment().get_template("overlay.html.j2").render(
                pages=[(form.page_sizes[n], pages[n]) for n in order], title=view.title)
            layer = self.pdf._layout(html)
            overlay = pikepdf.open(io.BytesIO(layer.write_pdf()))
            for index, number in enumerate(order):
                _lay_over(pdf.pages[number], overlay.pages[index], number)
            self.pdf._check_glyphs(html)
        pdf.docinfo["/Title"] = view.title
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue(), form.pages

    def fill_docx(self, view: DocumentView, base: DocumentView) -> bytes:
        from .output import normalize_zip
        from .writers.docx import field_text

        form = self.blank(base, need_docx=True)
        values = view.extra["form"].values

        def run(match: re.Match) -> str:
            props, slot, width = match.group(1) or "", match.group(2), match.group(3)
            value = values.get(slot, "")
            if width is not None:
                value = field_text(value, float(width))
            elif not value:
                return ""  # an empty cell has no run, as when laid out on its own
            space = ' xml:space="preserve"' if len(value.strip()) < len(value) else ""
            return f"<w:r>{props}<w:t{space}>{escape(value)}</w:t></w:r>"

        source = zipfile.ZipFile(io.BytesIO(form.docx))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info.filename)
                if info.filename == "word/document.xml":
                    text = _TOKEN_RUN.sub(run, data.decode("utf-8"))
                    data = text.encode("utf-8")
                elif info.filename == "docProps/core.xml":
                    data = data.replace(escape(FORM_TITLE).encode("utf-8"), escape(view.title).encode("utf-8"))
                target.writestr(info, data)
        return normalize_zip(out.getvalue())


def _lay_over(page, layer, number: int) -> None:
    """pikepdf's Page.add_overlay, with a fixed resource name per page (it draws a random one,
    and the same inputs must give the same bytes). One name per page: WeasyPrint's pages share
    one resource dictionary."""
    import pikepdf

    formx = layer.as_form_xobject()
    name = page.add_resource(formx, pikepdf.Name.XObject, name=pikepdf.Name(f"/GWFilled{number}"))
    placement = page.calc_form_xobject_placement(formx, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n", prepend=False)
    page.contents_add(placement, prepend=False)
    page.contents_coalesce()


_TOKEN_RUN = re.compile(r"<w:r>(<w:rPr>(?:(?!</w:rPr>).)*</w:rPr>)?<w:t>⟦([^⟧|]*)(?:\|([0-9.]+))?⟧</w:t></w:r>")
