"""Lay each form out once, fill it per document.

A region's checklist and its report are its class's assessment form with a few texts filled in
(the title, the region, the ratings, the result): ``documents.form`` marks those slots. The blank
form is laid out once per class (and kept, in memory and under ``<out>/.cache/forms``); each
document is then the blank form with its texts stamped on:

- PDF: the slots' boxes are read from the blank form's own layout; a small WeasyPrint layer
  sets each text in its box with the form's stylesheet, and pikepdf lays that layer over the
  form's pages. The text is the same font, size and place as a full layout would give.
- DOCX: the blank form is written with ⟦slot⟧ markers, and a copy has them replaced.

A letter's first part and the 通报's body (their wording differs per document) are laid out per
document, the form's pages after them. A document whose filled text could change the layout
(remarks that may make a row taller) is laid out on its own (``FormFill.fillable``, ``Misfit``).
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import asdict, dataclass, field, replace
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
    lines: int = 0  # a title or paragraph: the lines of room the blank form keeps
    pages: int = 1  # pages the room spans (a text filled across a page break is not stamped)


@dataclass
class BlankForm:
    pdf: bytes
    pages: int
    page_sizes: list[tuple[float, float]]  # px
    boxes: list[SlotBox]
    docx: bytes | None = None
    key: str = ""  # its identity (view_key)
    imprint_after_blank: bool = False  # §7.5: a blank page stands before its 版记 page
    bookmarks: list = field(default_factory=list)  # a 通报's form: its outline's items (label, page, x, y in pt)

    def page_name(self, number: int) -> str:
        """Its page's identity (pdf_layout.FilledPage): the OFD writer's template page of it."""
        import hashlib
        return hashlib.sha1(f"blank form {self.key} page {number}".encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps({"pages": self.pages, "page_sizes": self.page_sizes,
                           "boxes": [asdict(b) for b in self.boxes],
                           "imprint_after_blank": self.imprint_after_blank,
                           "bookmarks": self.bookmarks}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, pdf: bytes, docx: bytes | None) -> "BlankForm":
        data = json.loads(text)
        return cls(pdf, data["pages"], [tuple(s) for s in data["page_sizes"]],
                   [SlotBox(**b) for b in data["boxes"]], docx,
                   imprint_after_blank=bool(data.get("imprint_after_blank", False)),
                   bookmarks=[tuple(b) for b in data.get("bookmarks", [])])


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
    lines: dict[str, list[int]] = {}  # a reserved slot's line boxes: the page of each
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or not isinstance(box, wboxes.Box):
                continue
            slot = element.get("data-slot")
            if slot is not None and isinstance(box, wboxes.LineBox):
                lines.setdefault(slot, []).append(number)
            if slot is None or slot in found or element.tag not in ("td", "span", "h2", "p"):
                continue
            if element.tag == "td" and not isinstance(box, wboxes.TableCellBox):
                continue
            if element.tag == "span" and not isinstance(box, wboxes.InlineBlockBox):
                continue
            if element.tag in ("h2", "p") and not isinstance(box, wboxes.BlockBox):
                continue
            classes = " ".join(c for c in (element.get("class") or "").split() if c != "reserved")
            if element.tag == "td":
                pad_x, pad_y = _length_px(box.style["padding_left"]), _length_px(box.style["padding_top"])
                x = box.border_box_x() + box.border_left_width + pad_x
                y = box.border_box_y() + box.border_top_width + pad_y
                width = box.border_width() - box.border_left_width - box.border_right_width - 2 * pad_x
                height = box.border_height() - box.border_top_width - box.border_bottom_width - 2 * pad_y
                found[slot] = SlotBox(slot, number, "cell", x, y, width, height, classes)
            else:
                kind = {"span": "field", "h2": "title", "p": "para"}[element.tag]
                found[slot] = SlotBox(slot, number, kind, box.border_box_x(), box.border_box_y(),
                                      box.border_width(), box.border_height(), classes)
    return [replace(box, lines=len(lines[box.slot]), pages=len(set(lines[box.slot])))
            if box.kind in ("title", "para") and box.slot in lines else box
            for box in found.values()]


def unmarked(base: DocumentView) -> DocumentView:
    """The blank form without the marks at the top of its pages (样例, 征求意见稿): a report on
    sample data fills its class's checklist form, the 样例 mark stamped on each page (the PDF;
    the DOCX form carries its mark, written in its page header). A letter's form and a 通报's
    keep their own."""
    if not base.marks or base.kind in ("letter", "summary"):
        return base
    fill = base.extra["form"]
    return replace(base, sample=False, draft=False,
                   extra={**base.extra, "form": replace(fill, key=fill.key[:2] + (False,) + fill.key[3:])})


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


class FilledPdf(bytes):
    """A filled form's PDF bytes, with what the OFD writer needs to write its OFD without reading
    them back (``fill``: pdf_layout.FormFill). Pickled (or copied) as plain bytes."""

    fill = None

    @classmethod
    def of(cls, data: bytes, fill) -> "FilledPdf":
        made = cls(data)
        made.fill = fill
        return made

    def __reduce__(self):
        return (bytes, (bytes(self),))


class Misfit(Exception):
    """A filled text would not take the room its blank form keeps (more or fewer lines, or
    across a page break): the document is laid out on its own instead."""


class FormFiller:
    """Blank forms laid out once per process (and kept on disk), filled per document."""

    def __init__(self, pdf_writer, docx_writer_factory, cache_dir: Path | None = None):
        self.pdf = pdf_writer
        self._docx = docx_writer_factory
        self.cache_dir = cache_dir
        self.forms: dict[str, BlankForm] = {}
        self._stamps: dict[tuple, tuple] = {}  # a cell's text laid out once: (pikepdf.Pdf, its page as XObject)
        self._marked_docx: dict[str, bytes] = {}  # a marked form's DOCX (its PDF is the unmarked form's)
        self._docx_read: dict[int, tuple[bytes, dict[str, bytes]]] = {}  # a form's DOCX, read into parts
        # §7.5 for the document filled last: whether a blank page stands before its 版记 page
        # (its DOCX takes the same decision)
        self.imprint_after_blank = False

    # --- the blank form ------------------------------------------------------------------------
    def blank(self, base: DocumentView, need_docx: bool = False) -> BlankForm:
        plain = unmarked(base)
        if plain is not base:  # laid out unmarked (shared with the checklists), marks stamped on
            form = self.blank(plain)
            return replace(form, docx=self._docx_of_marked(base) if need_docx else None)
        key = view_key(base)
        form = self.forms.get(key) or self._load(key)
        if form is None:
            from .writers.pdf import imprint_after_blank
            document = self.pdf._layout(self.pdf.html(base), base.kind)
            # §7.5, as a full layout decides it (the 版记 page's number taken off after a blank page)
            after_blank = base.imprint is not None and imprint_after_blank(document)
            bookmarks = []
            if base.kind == "summary":  # where its outline's items go, as WeasyPrint writes them
                bookmarks = [(label, page, x, y) for label, (page, x, y), _, _
                             in document.make_bookmark_tree(0.75, transform_pages=True)]
            form = BlankForm(document.write_pdf(), len(document.pages),
                             [(p.width, p.height) for p in document.pages], slot_boxes(document),
                             imprint_after_blank=after_blank, bookmarks=bookmarks)
            self._store(key, form)
        form.key = key
        if need_docx and form.docx is None:
            from .output import write_package
            form.docx = write_package(self._docx().render_parts(
                base, tokens=True, imprint_after_blank=form.imprint_after_blank))
            self._store(key, form)
        self.forms[key] = form
        return form

    def _docx_of_marked(self, base: DocumentView) -> bytes:
        key = view_key(base)
        if key not in self._marked_docx:
            paths = self._paths(key)
            data = None
            if paths is not None and paths[2].is_file():
                try:
                    data = paths[2].read_bytes()
                except OSError:
                    data = None
            if data is None:
                from .output import atomic_write, write_package
                data = write_package(self._docx().render_parts(base, tokens=True))
                if paths is not None:
                    atomic_write(paths[2], data)
            self._marked_docx[key] = data
        return self._marked_docx[key]

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
        """The document: its blank form with its texts stamped on. A letter's first part (its
        wording differs per region) is laid out on its own and goes before its form's pages.
        Raises ``Misfit`` when a text would not take the room its form keeps."""
        import pikepdf

        from .writers.pdf_layout import FilledPage, FormFill

        self.imprint_after_blank = False
        if view.kind == "letter":
            return self._fill_letter(view, base)
        if view.kind == "summary":
            return self._fill_summary(view, base)
        form = self.blank(base)
        pdf = pikepdf.open(io.BytesIO(form.pdf))
        for page in pdf.pages:
            _mark_blank_form(page)
        marks = self._marks(form, base.marks) if unmarked(base) is not base else {}
        stamps, layers, keep = self._stamp(pdf, form, view, marks)
        fill = FormFill(pdf, {n: FilledPage(form.page_name(n), stamps.get(n, b""), layers.get(n, b""))
                              for n in range(len(pdf.pages))}, keep)
        return FilledPdf.of(self._save(pdf, view.title), fill), form.pages

    def _marks(self, form: BlankForm, marks: list[str]) -> dict[int, list]:
        """The marks (样例) at the top of every page, as a full layout sets them: a page of the
        form's size and margins holding the marks alone, drawn on each page with its stamps."""
        from .writers.pdf import environment
        found = {}
        for number, size in enumerate(form.page_sizes):
            html = environment().get_template("marks.html.j2").render(
                marks=marks, landscape=size[0] > size[1])
            key = ("marks",) + tuple(marks) + tuple(size)
            found[number] = [(key, self._sheet(key, html), 0.0, 0.0)]
        return found

    def _fill_letter(self, view: DocumentView, base: DocumentView) -> tuple[bytes, int]:
        """A letter: its first part laid out on its own, its form's pages after it. The texts
        filled in as text (the attachment's title and the tally) are laid out in the same pass
        as the first part, on pages of their own after it, which are then laid over the form's
        pages and taken out: one layout and one set of font subsets for the letter's own text,
        not two. The form's first page stands for the first part, whatever pages that takes:
        the form's pages carry no page numbers, each letter's are stamped on."""
        import pikepdf

        from .writers.pdf_layout import FilledPage, FormFill

        form = self.blank(base)
        first_view = replace(view, sections=view.sections[:1])
        cells, texts = self._slots(form, view)
        order = sorted(texts)
        tail = self._overlay_html(form, texts, order, view.title, body=False) if order else ""
        _, html, document = self.pdf.laid_out(first_view, tail)
        pages = len(document.pages) - len(order)
        layer_pages = document.pages[pages:]
        if pages < 1 or any(not p._page_box.page_type.name.startswith("overlay-") for p in layer_pages):
            raise Misfit("the filled texts did not take pages of their own after the first part")
        self._check_fit(form, view, layer_pages)
        for page in layer_pages:  # the first part's fixed boxes (its 样例 mark) repeat on every
            _only_body(page)      # page: the form's pages carry their own
        self.pdf.imprint_after_blank = False
        pdf = pikepdf.open(io.BytesIO(document.write_pdf()))
        self.pdf._check_glyphs(html)
        layers = [pdf.pages[pages + i].as_form_xobject() for i in range(len(order))]
        del pdf.pages[pages:]
        blank = pikepdf.open(io.BytesIO(form.pdf))  # kept open while its pages are copied
        pdf.pages.extend(blank.pages[1:])  # (its first page stands for the first part)
        shift = pages - 1  # a page of the form → the letter's page
        for page in pdf.pages[pages:]:
            _mark_blank_form(page)
        numbers = {n: [self._page_number(n + 1, form.page_sizes[n - shift])] for n in range(pages, len(pdf.pages))}
        stamps = self._place_cells(pdf, form, {n + shift: placed for n, placed in cells.items()}, numbers)
        drawn = {number + shift: _lay_over(pdf.pages[number + shift], layer, number + shift)
                 for number, layer in zip(order, layers)}
        fill = FormFill(pdf, {n: FilledPage(form.page_name(n - shift), stamps.get(n, b""), drawn.get(n, b""))
                              for n in range(pages, len(pdf.pages))}, [blank])
        if any(n < pages for n in drawn):  # (a filled text over the letter's own page: read as it is)
            fill = None
        title = next((b for b in form.boxes if b.slot == "title"), None)
        if title is not None:  # the attachment's title in the outline, as a full layout has it
            with pdf.open_outline() as outline:
                height = form.page_sizes[title.page][1] * 0.75
                item = pikepdf.OutlineItem(view.extra["form"].values["title"], pikepdf.Array(
                    [pdf.pages[title.page + shift].obj, pikepdf.Name.XYZ, round(title.x * 0.75, 6),
                     round(height - title.y * 0.75, 6), 0]))
                (outline.root[-1].children if outline.root else outline.root).append(item)
        data = self._save(pdf, view.title)
        return (FilledPdf.of(data, fill) if fill is not None else data), len(pdf.pages)

    def _fill_summary(self, view: DocumentView, base: DocumentView) -> tuple[bytes, int]:
        """The 通报: its body (the lists of regions by rating, which change with the ratings)
        laid out on its own, then its form's pages after as many pages (the attachment's table
        and the 版记 page: page numbers and §7.5 as a full layout sets them after that body),
        each region's counts and rating stamped in their cells. A body of other pages than
        planned fills the form made for its pages (laid out once)."""
        import pikepdf

        from .documents import summary_form
        from .writers.pdf_layout import FilledPage, FormFill

        _, html, document = self.pdf.laid_out(replace(view, sections=view.sections[:1], imprint=None))
        pages = len(document.pages)
        if base.extra["form"].key[1] != pages:
            base = summary_form(view, pages)
        form = self.blank(base)
        cells = {box.slot for box in form.boxes if box.kind == "cell" and box.page >= pages}
        unplaced = set(view.extra["form"].values) - cells
        if unplaced:
            raise Misfit(f"{sorted(unplaced)[0]}: no cell of its own on the form")
        cells, texts = self._slots(form, view)  # (a text taller than its cell: Misfit)
        if texts:
            raise Misfit("only cells are filled on a 通报's form")
        self.pdf.imprint_after_blank = False
        pdf = pikepdf.open(io.BytesIO(document.write_pdf()))
        self.pdf._check_glyphs(html)
        blank = pikepdf.open(io.BytesIO(form.pdf))  # kept open while its pages are copied
        pdf.pages.extend(blank.pages[pages:])  # (its first pages stand for the body)
        for page in pdf.pages[pages:]:
            _mark_blank_form(page)
        stamps = self._place_cells(pdf, form, cells)
        fill = FormFill(pdf, {n: FilledPage(form.page_name(n), stamps.get(n, b""))
                              for n in range(pages, len(pdf.pages))}, [blank])
        if form.bookmarks:  # the attachment's title in the outline, under the 通报's, as a full layout has it
            with pdf.open_outline() as outline:
                for label, page, x, y in form.bookmarks:
                    item = pikepdf.OutlineItem(label, pikepdf.Array(
                        [pdf.pages[page].obj, pikepdf.Name.XYZ, x, y, 0]))
                    (outline.root[-1].children if outline.root else outline.root).append(item)
        self.imprint_after_blank = form.imprint_after_blank
        return FilledPdf.of(self._save(pdf, view.title), fill), len(pdf.pages)

    def _page_number(self, number: int, size: tuple[float, float]) -> tuple:
        """Page ``number``'s number, where the documents' page rules set it on a page of this
        size, as a stamp drawn on the whole page."""
        key = ("page-number", number) + tuple(size)
        if key not in self._stamps:
            from .writers.pdf import environment
            html = environment().get_template("page_number.html.j2").render(number=number, landscape=size[0] > size[1])
            self._sheet(key, html, page=number - 1)
        return (key, self._stamps[key][1], 0.0, 0.0)

    def _slots(self, form: BlankForm, view: DocumentView) -> tuple[dict, dict]:
        """The document's texts by page of its form: the cells' (set once per process, as
        stamps: key, x, y) and the others' (laid out per document: box, lines, top)."""
        values = view.extra["form"].values
        layout = self.pdf.layout
        line_px = layout.sizes_pt.table * layout.table.line_height * 96 / 72
        pages: dict[int, list[tuple[SlotBox, list[str], float]]] = {}
        stamps: dict[int, list[tuple[tuple, float, float]]] = {}
        for box in form.boxes:
            text = values.get(box.slot, "")
            if text:
                if box.pages > 1:
                    raise Misfit(box.slot)
                lines = text.split("\n")
                top = box.y
                if box.kind == "cell":  # centred, as the table sets it (vertical-align: middle)
                    rows = cell_text_lines(lines, box.width / PX_PER_MM, layout)
                    if rows * line_px > box.height + 0.01:  # it would need a taller row than the form's
                        raise Misfit(f"{box.slot}: {rows} lines")
                    top = box.y + (box.height - rows * line_px) / 2
                    # a cell's text (a rating) is set once per process and placed where it goes
                    stamp = (tuple(form.page_sizes[box.page]), box.classes, box.width, tuple(lines))
                    stamps.setdefault(box.page, []).append((stamp, box.x, top))
                    continue
                pages.setdefault(box.page, []).append((box, lines, top))
        return stamps, pages

    def _place_cells(self, pdf, form: BlankForm, stamps: dict, marks: dict | None = None) -> dict[int, bytes]:
        """The stamps drawn on each page; the block drawing them, by page."""
        marks = marks or {}
        self._lay_out_stamps([key for placed in stamps.values() for key, _, _ in placed])
        return {number: _place_stamps(pdf, number, [(key, self._stamp_sheet(key), x, y)
                                                    for key, x, y in stamps.get(number, [])] + marks.get(number, []))
                for number in sorted(set(stamps) | set(marks))}

    def _overlay_html(self, form: BlankForm, texts: dict, order: list[int], title: str, body: bool = True) -> str:
        """The layer of the texts laid out per document: one page per page of the form that has
        any. ``body=False``: its pages only, to go after a document's own (``_fill_letter``)."""
        from .writers.pdf import environment
        html = environment().get_template("overlay.html.j2").render(
            pages=[(form.page_sizes[n], texts[n]) for n in order], title=title)
        if body:
            return html
        start = html.index("<body")
        return html[html.index(">", start) + 1:html.rindex("</body>")]

    def _check_fit(self, form: BlankForm, view: DocumentView, layer_pages) -> None:
        """Each filled text takes the lines its form keeps room for, or ``Misfit``."""
        values = view.extra["form"].values
        reserved = {box.slot: box.lines for box in form.boxes if box.lines}
        if not reserved:
            return
        from weasyprint.formatting_structure import boxes as wboxes
        found: dict[str, int] = {}
        for page in layer_pages:
            for box in page._page_box.descendants(placeholders=True):  # positioned boxes too
                if isinstance(box, wboxes.LineBox) and box.element is not None:
                    slot = box.element.get("data-slot")
                    if slot in reserved:
                        found[slot] = found.get(slot, 0) + 1
        for slot, lines in reserved.items():
            if values.get(slot) and found.get(slot) != lines:
                raise Misfit(f"{slot}: {found.get(slot)} lines, {lines} kept")

    def _stamp(self, pdf, form: BlankForm, view: DocumentView, marks: dict | None = None) -> tuple[dict, dict, list]:
        """Lay the document's texts over the form's pages in ``pdf`` (same page numbers; pages
        already marked as the blank form's: ``_mark_blank_form``); ``marks``: more stamps by
        page (the 样例 mark), drawn with the cells' ones. The blocks drawing the stamps and the
        texts, by page, and the Pdf the texts were laid out in (pdf_layout.FormFill)."""
        import pikepdf

        stamps, pages = self._slots(form, view)
        drawn = self._place_cells(pdf, form, stamps, marks)
        order = sorted(pages)
        if not order:
            return drawn, {}, []
        html = self._overlay_html(form, pages, order, view.title)
        layer = self.pdf._layout(html, "overlay")
        self._check_fit(form, view, layer.pages)
        overlay = pikepdf.open(io.BytesIO(layer.write_pdf()))
        layers = {number: _lay_over(pdf.pages[number], overlay.pages[index].as_form_xobject(), number)
                  for index, number in enumerate(order)}
        self.pdf._check_glyphs(html)
        return drawn, layers, [overlay]

    def _stamp_sheet(self, key: tuple):
        """One cell's text laid out alone at the top left of a page of the form's size (alone:
        its fonts' subsets hold its own glyphs only, whatever else the process stamped)."""
        if key in self._stamps:
            return self._stamps[key][1]
        return self._sheet(key, _stamps_html([key]))

    def _lay_out_stamps(self, keys: list[tuple]) -> None:
        """The cells' stamps not at hand (in this process or kept with the forms) laid out in
        one pass, one page each, each page then written on its own: the same bytes as each laid
        out alone (``_stamp_sheet``), one stylesheet cascade and one layout for them all (a 通报
        filled first stamps some sixty)."""
        missing = []
        for key in dict.fromkeys(keys):
            if key in self._stamps:
                continue
            path = self._sheet_path(_stamps_html([key]))
            if path is None or not path.is_file():
                missing.append((key, path))
        if len(missing) < 2:
            return
        import pikepdf
        html = _stamps_html([key for key, _ in missing])
        document = self.pdf._layout(html, "overlay")
        if len(document.pages) != len(missing):
            return  # (each laid out alone, then)
        self.pdf._check_glyphs(html)
        for (key, path), page in zip(missing, document.pages):
            data = document.copy([page]).write_pdf()
            if path is not None:
                from .output import atomic_write
                atomic_write(path, data)
            sheet = pikepdf.open(io.BytesIO(data))
            self._stamps[key] = (sheet, sheet.pages[0].as_form_xobject())

    def _sheet_path(self, html: str) -> Path | None:
        """Where a layer laid out from ``html`` is kept with the forms (None: not kept)."""
        if self.cache_dir is None:
            return None
        import hashlib

        from .fingerprint import environment as made_with
        return self.cache_dir / ("stamp-" + hashlib.sha256((made_with("pdf") + html).encode()).hexdigest()[:32] + ".pdf")

    def _sheet(self, key: tuple, html: str, page: int = 0):
        """A layer (this page of ``html``) laid out once per process (and kept with the forms),
        as an XObject."""
        sheet = self._stamps.get(key)
        if sheet is None:
            import pikepdf

            self.pdf._check_glyphs(html)
            # kept with the forms: a build that renders a few documents sets none again
            path = self._sheet_path(html)
            data = None
            if path is not None and path.is_file():
                data = path.read_bytes()
            if data is None:
                data = self.pdf._layout(html, "overlay").write_pdf()
                if path is not None:
                    from .output import atomic_write
                    atomic_write(path, data)
            try:
                sheet = pikepdf.open(io.BytesIO(data))
            except pikepdf.PdfError:  # a damaged cache entry: set again
                sheet = pikepdf.open(io.BytesIO(self.pdf._layout(html, "overlay").write_pdf()))
            sheet = self._stamps[key] = (sheet, sheet.pages[page].as_form_xobject())
        return sheet[1]

    @staticmethod
    def _save(pdf, title: str) -> bytes:
        import pikepdf

        pdf.docinfo["/Title"] = title
        out = io.BytesIO()
        # streams compressed already (fonts, the stamps) are copied as they are, not decoded
        # and compressed again; the pages' new content streams are compressed
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()

    def fill_docx(self, view: DocumentView, base: DocumentView, imprint_after_blank: bool = False) -> bytes:
        """A copy of the blank form's DOCX with its ⟦slot⟧ markers filled. A letter: its first
        part written on its own, the form's attachment (filled) after it. A 通报: written on its
        own but for its attachment, the form's (filled); ``imprint_after_blank``: §7.5 as its PDF
        decided."""
        from .output import write_package

        form = self.blank(base, need_docx=True)
        values = view.extra["form"].values
        parts = self._docx_parts(form.docx)
        if view.kind == "summary":
            own = self._docx().render_parts(
                replace(view, sections=[view.sections[0], replace(view.sections[1], blocks=[])]),
                imprint_after_blank=imprint_after_blank)
            body = parts["word/document.xml"].decode("utf-8")
            if view.imprint is None:  # the attachment is its last section
                attachment, insert = _body_after_first_section(body), _insert_before_last_section
            else:  # the 版记 page's section after it
                attachment, insert = _second_section(body), _insert_in_second_section
            attachment = _fill_tokens(attachment, values)
            return write_package(_changed(own, "word/document.xml", lambda text: insert(text, attachment)))
        if view.kind == "letter":
            own = self._docx().render_parts(
                replace(view, sections=[view.sections[0], replace(view.sections[1], blocks=[])]))
            attachment = _fill_tokens(_body_after_first_section(parts["word/document.xml"].decode("utf-8")), values)
            return write_package(_changed(own, "word/document.xml",
                                          lambda text: _insert_before_last_section(text, attachment)))
        filled = _changed(parts, "word/document.xml", lambda text: _fill_tokens(text, values))
        return write_package(_changed(filled, "docProps/core.xml", lambda text: text.replace(
            escape(FORM_TITLE), escape(view.title))))

    def _docx_parts(self, docx: bytes) -> dict[str, bytes]:
        """A blank form's DOCX read into its parts once per process (kept by its bytes' identity:
        the form's DOCX stays the same object while the form is kept)."""
        from .output import read_package

        kept = self._docx_read.get(id(docx))
        if kept is None or kept[0] is not docx:
            kept = self._docx_read[id(docx)] = (docx, read_package(docx))
        return kept[1]


def _stamps_html(keys: list[tuple]) -> str:
    """Cells' texts (stamp keys: page size, classes, width, lines), each alone at the top left
    of a page of its own."""
    from .writers.pdf import environment
    return environment().get_template("overlay.html.j2").render(pages=[
        (size, [(SlotBox("", 0, "cell", 0.0, 0.0, width, 0.0, classes), list(lines), 0.0)])
        for size, classes, width, lines in keys], title="")


def _fill_tokens(text: str, values: dict) -> str:
    from .writers.docx import field_text

    def run(match: re.Match) -> str:
        props, slot, width = match.group(1) or "", match.group(2), match.group(3)
        value = values.get(slot, "")
        if width is not None:
            value = field_text(value, float(width))
        elif not value:
            return ""  # an empty cell has no run, as when laid out on its own
        space = ' xml:space="preserve"' if len(value.strip()) < len(value) else ""
        return f"<w:r>{props}<w:t{space}>{escape(value)}</w:t></w:r>"

    return _TOKEN_RUN.sub(run, text)


def _changed(parts: dict[str, bytes], name: str, change) -> dict[str, bytes]:
    """The parts with one XML part changed (``change``: text → text)."""
    return {**parts, name: change(parts[name].decode("utf-8")).encode("utf-8")}


_SECTION_BREAK = re.compile(r"<w:p>(?:(?!</w:p>).)*?<w:sectPr\b.*?</w:sectPr></w:pPr></w:p>", re.S)
_LAST_SECTION = "<w:sectPr"


def _body_after_first_section(text: str) -> str:
    """What a blank letter form's body (its word/document.xml) holds after its first section
    (the pages standing for the letter's first part): the attachment, up to the body's own
    section properties."""
    first = _SECTION_BREAK.search(text)
    return text[first.end():text.rindex(_LAST_SECTION)]


def _second_section(text: str) -> str:
    """What a DOCX body holds between its first and its second section break."""
    first, second = itertools.islice(_SECTION_BREAK.finditer(text), 2)
    return text[first.end():second.start()]


def _insert_in_second_section(text: str, content: str) -> str:
    """The body with ``content`` at the end of its second section (an empty one)."""
    _, second = itertools.islice(_SECTION_BREAK.finditer(text), 2)
    return text[:second.start()] + content + text[second.start():]


def _insert_before_last_section(text: str, content: str) -> str:
    at = text.rindex(_LAST_SECTION)
    return text[:at] + content + text[at:]


def _only_body(page) -> None:
    """Take off a laid-out page what stands outside the body: the boxes of the document's
    fixed elements, which WeasyPrint repeats on every page next to the body."""
    for root in page._page_box.children:
        element = getattr(root, "element", None)
        if element is not None and element.tag == "html":
            root.children = [box for box in root.children
                             if getattr(box, "element", None) is not None and box.element.tag == "body"]


def _mark_blank_form(page) -> None:
    """Wrap a page that is its blank form's in q … Q (what is laid over it starts from the page's
    initial graphics state) marked as the blank form's (pdf_layout.BLANK_FORM): the OFD writer
    draws that block as a template page shared by every document of the form, and nothing else
    (a letter's own first part, the texts filled in) becomes one."""
    from .writers.pdf_layout import BLANK_FORM, BLANK_FORM_END

    page.contents_add(BLANK_FORM, prepend=True)
    page.contents_add(BLANK_FORM_END, prepend=False)
    page.contents_coalesce()


def _lay_over(page, formx, number: int) -> bytes:
    """pikepdf's Page.add_overlay (of a page made a form XObject) on a page marked as its blank
    form's (``_mark_blank_form``: already wrapped in q … Q), with a fixed resource name per page
    (it draws a random one, and the same inputs must give the same bytes). One name per page:
    WeasyPrint's pages share one resource dictionary."""
    import pikepdf

    name = page.add_resource(formx, pikepdf.Name.XObject, name=pikepdf.Name(f"/GWFilled{number}"))
    placement = page.calc_form_xobject_placement(formx, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(placement, prepend=False)
    page.contents_coalesce()
    return placement


def _place_stamps(pdf, number: int, placed: list[tuple[tuple, object, float, float]]) -> bytes:
    """Draw each stamp (a page, as a form XObject, whose text sits at its top left) on page
    ``number`` (marked as its blank form's: wrapped in q … Q), moved to (x, y) CSS px. Each
    stamp's resource name comes from what it shows (its key): reproducible bytes, and the same
    drawing bytes always mean the same texts (the OFD writer reuses what it read of content it
    has seen)."""
    import hashlib

    import pikepdf

    page = pdf.pages[number]
    names: dict[tuple, pikepdf.Name] = {}
    drawn = [b"q\n"]
    for key, stamp, x, y in placed:
        if key not in names:
            name = "/GWStamp" + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:16]
            names[key] = page.add_resource(pdf.copy_foreign(stamp), pikepdf.Name.XObject,
                                           name=pikepdf.Name(name))
        drawn.append(f"q 1 0 0 1 {x * 0.75:.6f} {-y * 0.75:.6f} cm {names[key]} Do Q\n".encode())
    drawn.append(b"Q\n")
    block = b"".join(drawn)
    page.contents_add(block, prepend=False)
    page.contents_coalesce()
    return block


_TOKEN_RUN = re.compile(r"<w:r>(<w:rPr>(?:(?!</w:rPr>).)*</w:rPr>)?<w:t>⟦([^⟧|]*)(?:\|([0-9.]+))?⟧</w:t></w:r>")
