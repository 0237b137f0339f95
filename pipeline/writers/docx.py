"""DocumentView → DOCX (python-docx), on the styles of ``templates/docx/reference.docx``.

Text goes into runs through python-docx, which escapes it: data is never markup. Page
geometry (margins, grid, footers, orientation) comes per section from the layout numbers.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell

from ..layout import TEMPLATES, Layout, load_layout, mm_to_pt, mm_to_twips, pt_to_mm, text_width_em
from ..pagination import ATTACHMENT_PREFIX, row_shape
from ..views import DocumentView, Table
from .docx_styles import STYLE_NAMES

REFERENCE = TEMPLATES / "docx" / "reference.docx"
# The 版头 keeps the grid's positions whatever the first page's pitch (§7.3.5.4)
HEADER_STYLES = frozenset({"masthead", "docnum", "letter_masthead", "letter_docnum"})


def _el(tag: str, **attrs):
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(key), str(value))
    return el


# w:pPr's children in schema order (ECMA-376 CT_PPrBase): Word refuses a file whose order is off
PPR_ORDER = ("pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
             "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct "
             "topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd snapToGrid spacing ind "
             "contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
             "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange").split()


# w:tblPr's children in schema order (CT_TblPr)
TBLPR_ORDER = ("tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW "
               "jc tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook").split()


def set_child(parent, el, order: list[str]) -> None:
    """Put ``el`` into ``parent`` in schema order, replacing one of its kind."""
    name = el.tag.split("}")[1]
    for old in parent.findall(el.tag):
        parent.remove(old)
    later = {qn(f"w:{t}") for t in order[order.index(name) + 1:]}
    for i, child in enumerate(parent):
        if child.tag in later:
            parent.insert(i, el)
            return
    parent.append(el)


def set_ppr(paragraph, el) -> None:
    set_child(paragraph._p.get_or_add_pPr(), el, PPR_ORDER)


def _border(side: str, width_pt: float):
    """A black single rule (w:sz in eighths of a point)."""
    return _el(f"w:{side}", **{"w:val": "single", "w:sz": int(round(width_pt * 8)), "w:space": 0,
                               "w:color": "000000"})


def _clear_runs(paragraph) -> None:
    for run in list(paragraph.runs):
        run._r.getparent().remove(run._r)


def field_text(value: str, width: float) -> str:
    """A form field's underlined text: the value padded with spaces to ``width`` characters."""
    room = max(0.0, width - text_width_em(value))
    return value + "\u3000" * int(room) + (" " if room - int(room) >= 0.5 else "")


def slot_token(slot: str, width: float | None = None) -> str:
    return f"⟦{slot}|{width:g}⟧" if width is not None else f"⟦{slot}⟧"


class _Parts(dict):
    """python-docx's package writer's physical writer, keeping the parts by member name."""

    def write(self, uri, blob: bytes) -> None:
        self[uri.membername] = blob

    def close(self) -> None:
        pass


class DocxWriter:
    def __init__(self, layout: Layout | None = None):
        self.layout = layout or load_layout()
        self.reference = REFERENCE.read_bytes()
        self.tokens = False
        self._style_ids: dict[str, str] | None = None

    # --- document ---------------------------------------------------------------------
    def render(self, view: DocumentView, tokens: bool = False, imprint_after_blank: bool = False) -> bytes:
        """The DOCX. ``tokens``: a form's slots hold ⟦slot⟧ markers, for forms.py to fill.
        ``imprint_after_blank``: a blank page stands before the 版记 page (as the PDF's layout
        found), which then carries no page number (§7.5); otherwise it is numbered."""
        out = io.BytesIO()
        self._document(view, tokens, imprint_after_blank).save(out)
        return out.getvalue()

    def render_parts(self, view: DocumentView, tokens: bool = False,
                     imprint_after_blank: bool = False) -> dict[str, bytes]:
        """The DOCX's parts by name, as ``render`` would zip them (``output.write_package``
        zips them once, normalized: no compressing, reading back and compressing again)."""
        from docx.opc.pkgwriter import PackageWriter

        package = self._document(view, tokens, imprint_after_blank).part.package
        parts = _Parts()
        for part in package.parts:  # what OpcPackage.save does, into a dict
            part.before_marshal()
        PackageWriter._write_content_types_stream(parts, package.parts)
        PackageWriter._write_pkg_rels(parts, package.rels)
        PackageWriter._write_parts(parts, package.parts)
        return dict(parts)

    def _document(self, view: DocumentView, tokens: bool, imprint_after_blank: bool):
        self.tokens = tokens
        doc = Document(io.BytesIO(self.reference))
        self.doc = doc
        self.view = view
        # style ids looked up once per writer (the styles are the reference document's):
        # python-docx's name lookup walks every style on each call
        if self._style_ids is None:
            self._style_ids = {key: doc.styles[name].style_id for key, name in STYLE_NAMES.items()}
        self.style_ids = self._style_ids
        self.pitch = None
        for i, section_view in enumerate(view.sections):
            if i == 0:
                section = doc.sections[0]
            else:
                section = doc.add_section(WD_SECTION.NEW_PAGE)
            self._page_setup(section, section_view.landscape, first=(i == 0))
            self._footers(section, no_first=(view.letter and i == 0))
            self.section = section
            self.pitch = section_view.pitch_pt
            if i == 0 and view.marks:
                self._sample_mark(section)
            for block in section_view.blocks:
                getattr(self, f"_{block.kind}")(block)
        self.pitch = None
        if view.imprint is not None:
            self._imprint(view.imprint, numbered=not imprint_after_blank)
        self._core(view)
        return doc

    def _core(self, view: DocumentView) -> None:
        import datetime as dt
        cp = self.doc.core_properties
        when = dt.datetime.combine(view.date, dt.time())
        cp.created = when
        cp.modified = when
        cp.last_printed = when
        cp.title = view.title
        cp.author = view.author
        cp.last_modified_by = view.author
        cp.revision = 1

    # --- page geometry (§5.2, §7.5, §8) -----------------------------------------------
    def _page_setup(self, section, landscape: bool, first: bool) -> None:
        L = self.layout
        m = L.landscape_margins if landscape else L.margins
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Mm(L.page.height), Mm(L.page.width)
        else:
            section.orientation = WD_ORIENT.PORTRAIT
            section.page_width, section.page_height = Mm(L.page.width), Mm(L.page.height)
        section.top_margin, section.bottom_margin = Mm(m.top), Mm(m.bottom)
        section.left_margin, section.right_margin = Mm(m.left), Mm(m.right)
        section.gutter = Mm(0)
        section.header_distance = Mm(15)
        # the page number's top 7 mm below the 版心: footer bottom = margin − 7 mm − one line
        line_mm = pt_to_mm(L.sizes_pt.page_number)
        section.footer_distance = Mm(round(m.bottom - L.positions.page_number_gap - line_mm, 2))
        sect = section._sectPr
        for old in sect.findall(qn("w:docGrid")):
            sect.remove(old)
        # §5.2.2 22 lines come from the styles' exact line spacing (the grid's pitch), and 28
        # characters from their character spacing. No line or character grid is switched on:
        # LibreOffice snaps every line to it, exact heights, the 版头 and table rows included
        # (a 16 pt 发文字号 takes a whole grid line), and a character grid gives each character
        # wider than a cell two cells. The pitch is recorded for Word's page setup.
        sect.append(_el("w:docGrid", **{"w:linePitch": round(L.line_pitch_pt * 20)}))

    def _footers(self, section, no_first: bool) -> None:
        """§7.5: "— N —" in 4号 宋体, odd pages right, even pages left, one character in."""
        section.footer.is_linked_to_previous = False
        section.even_page_footer.is_linked_to_previous = False
        self._page_number(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
        self._page_number(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)
        section.different_first_page_header_footer = no_first
        if no_first:
            section.first_page_footer.is_linked_to_previous = False
            for p in section.first_page_footer.paragraphs:
                p.text = ""

    def _page_number(self, footer, align) -> None:
        p = footer.paragraphs[0]
        _clear_runs(p)
        self._style(p, "page_number")
        p.alignment = align
        ind = _el("w:ind", **({"w:rightChars": 100, "w:right": 0} if align == WD_ALIGN_PARAGRAPH.RIGHT
                              else {"w:leftChars": 100, "w:left": 0}))
        set_ppr(p, ind)
        p.add_run("— ")
        field = _el("w:fldSimple", **{"w:instr": " PAGE "})
        run = _el("w:r")
        t = _el("w:t")
        t.text = "1"
        run.append(t)
        field.append(run)
        p._p.append(field)
        p.add_run(" —")

    def _sample_mark(self, section) -> None:
        section.header.is_linked_to_previous = False
        p = section.header.paragraphs[0]
        self._style(p, "sample")
        p.add_run("\u3000".join(self.view.marks))

    # --- blocks -----------------------------------------------------------------------
    def _style(self, paragraph, style: str) -> None:
        paragraph._p.get_or_add_pPr().style = self.style_ids[style]

    def _para(self, text: str, style: str, keep_with_next: bool = False):
        p = self.doc.add_paragraph()
        self._style(p, style)
        if text:
            p.add_run(text)
        if keep_with_next:
            p.paragraph_format.keep_with_next = True
        if self.pitch is not None and style not in HEADER_STYLES:
            self._tighten(p, style)
        return p

    def _tighten(self, p, style: str) -> None:
        """§7.3.5.4: the first page's text at the pitch pagination.py chose; blank lines before
        and after a block (the style's spacing, in grid lines) shrink with it."""
        L = self.layout
        fmt = p.paragraph_format
        spacing = self.doc.styles.element.get_by_id(self.style_ids[style]).pPr
        spacing = spacing.find(qn("w:spacing")) if spacing is not None else None
        for attr, name in (("w:before", "space_before"), ("w:after", "space_after")):
            value = spacing.get(qn(attr)) if spacing is not None else None
            if value:
                setattr(fmt, name, Pt(int(value) / 20 / L.line_pitch_pt * self.pitch))
        fmt.line_spacing = Pt(self.pitch)

    def _masthead(self, block) -> None:
        if block.style == "file":
            self._para(block.text, "masthead")
            self._para(block.number or "", "docnum")
            return
        # §10.1.1 the 标志 stands 30 mm from the top, inside the top margin: it goes in the first
        # page's header, with the upper double rule; the lower one in the first page's footer.
        L = self.layout
        section = self.section
        section.header_distance = Mm(L.positions.letter_masthead_top)
        header = section.first_page_header
        header.is_linked_to_previous = False
        p = header.paragraphs[0]
        self._style(p, "letter_masthead")
        p.add_run(block.text)
        self._double_rule(p, upper=True)
        # The footers' bottom moves down to 20 mm, where the lower rule lies; the page numbers
        # of later pages keep their place (7 mm below the 版心) by spacing below them.
        lift = Mm(round(section.footer_distance.mm - L.positions.letter_lower_rule, 2))
        section.footer_distance = Mm(L.positions.letter_lower_rule)
        for numbered in (section.footer, section.even_page_footer):
            numbered.paragraphs[0].paragraph_format.space_after = lift
        footer = section.first_page_footer.paragraphs[0]
        if self.view.marks:  # the first page's header holds the 标志: the mark goes above the rule
            mark = footer.insert_paragraph_before("\u3000".join(self.view.marks))
            self._style(mark, "sample")
        self._style(footer, "plain")
        footer.paragraph_format.line_spacing = Pt(1)
        self._double_rule(footer, upper=False)
        if block.number:
            self._para(block.number, "letter_docnum")

    def _double_rule(self, paragraph, upper: bool) -> None:
        """§10.1.1 信函: a red double line under the 标志 (thick above, thin below)."""
        L = self.layout
        pbdr = _el("w:pBdr")
        pbdr.append(_el("w:bottom", **{
            "w:val": "thickThinSmallGap" if upper else "thinThickSmallGap",
            "w:sz": int(L.rules_pt.letter_thick * 8),
            "w:space": round(mm_to_pt(L.positions.letter_rule_gap)) if upper else 0,
            "w:color": L.colors.red}))
        set_ppr(paragraph, pbdr)
        # 170 mm centred in the 156 mm 版心: the paragraph reaches 7 mm into each margin
        overhang = mm_to_twips((L.positions.letter_rule_length - L.text_width) / 2)
        set_ppr(paragraph, _el("w:ind", **{"w:left": -overhang, "w:right": -overhang}))

    def _title(self, block) -> None:
        p = self._para("", "title")
        for i, line in enumerate(block.lines):
            run = p.add_run(line)
            if i < len(block.lines) - 1:
                run.add_break()

    def _addressee(self, block) -> None:
        self._para(block.text + "：", "addressee")

    def _paragraph(self, block) -> None:
        if block.break_at is None:
            self._para(slot_token(block.slot) if self.tokens and block.slot else block.text, block.style)
            return
        # pagination.py: a new page starts at this character (§7.3.5); one paragraph still
        p = self._para(block.text[:block.break_at], block.style)
        if block.break_at == 0:
            p.paragraph_format.page_break_before = True
        else:
            run = p.add_run()
            run._r.append(_el("w:br", **{"w:type": "page"}))
        p.add_run(block.text[block.break_at:])

    def _attachment_note(self, block) -> None:
        """§7.3.4: kept with the 署名 (which is kept with the date), never with the body: where
        the body breaks is pagination.py's decision. A wrapped title goes on under its own first
        character (the style's hanging indent; with several, one character more for the number)."""
        if len(block.titles) == 1:
            self._para(ATTACHMENT_PREFIX + block.titles[0], "attachment_note", keep_with_next=True)
            return
        cp = self.layout.char_pitch_pt
        for i, title in enumerate(block.titles, 1):
            p = self._para((ATTACHMENT_PREFIX if i == 1 else "") + f"{i}.{title}", "attachment_note", True)
            set_ppr(p, _el("w:ind", **{
                "w:left": round(6 * cp * 20), "w:hanging": round((4 if i == 1 else 1) * cp * 20)}))

    def _signature(self, block) -> None:
        """§7.3.5.1: date 4 characters in from the right; the issuer centred on the date."""
        L = self.layout
        shift = (text_width_em(block.date) - text_width_em(block.issuer)) / 2
        p = self._para(block.issuer, "signature", keep_with_next=True)
        set_ppr(p, _el("w:ind", **{
            "w:right": round((4 + shift) * L.char_pitch_pt * 20)}))
        self._para(block.date, "date")

    def _attachment_head(self, block) -> None:
        if block.label:
            self._para(block.label, "attachment_label")
        p = self._para(slot_token(block.slot) if self.tokens and block.slot else block.title,
                       "attachment_title")
        if not block.label:
            p.paragraph_format.space_before = Pt(0)

    def _fields(self, block) -> None:
        p = self._para("", "fields")
        for i, field in enumerate(block.items):
            if i:
                p.add_run("\u3000\u3000")
            p.add_run(f"{field.label}：")
            text = (slot_token(field.slot, field.width) if self.tokens and field.slot
                    else field_text(field.value, field.width))
            p.add_run(text).font.underline = True

    def _notes(self, block) -> None:
        for i, note in enumerate(block.items, 1):
            number = f"{i}." if len(block.items) > 1 else ""
            self._para((block.label if i == 1 else "\u3000\u3000") + number + note, "notes")

    def _table(self, block: Table) -> None:
        L = self.layout
        header_rows = block.header_rows()
        n_rows = len(header_rows) + sum(len(g.rows) for g in block.groups)
        table = self.doc.add_table(rows=n_rows, cols=len(block.columns))
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tbl = table._tbl
        tblpr = tbl.tblPr
        set_child(tblpr, _el("w:tblLayout", **{"w:type": "fixed"}), TBLPR_ORDER)
        borders = _el("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            borders.append(_border(side, L.rules_pt.table))
        set_child(tblpr, borders, TBLPR_ORDER)
        margins = _el("w:tblCellMar")
        for side, mm in (("top", L.table.padding_y), ("left", L.table.padding_x),
                         ("bottom", L.table.padding_y), ("right", L.table.padding_x)):
            margins.append(_el(f"w:{side}", **{"w:w": mm_to_twips(mm), "w:type": "dxa"}))
        set_child(tblpr, margins, TBLPR_ORDER)
        # WPS hides columns without grid widths (PITFALLS.md)
        for col, grid in zip(block.columns, tbl.tblGrid.findall(qn("w:gridCol"))):
            grid.set(qn("w:w"), str(mm_to_twips(col.width)))

        rows = table.rows
        # Every cell wrapped once: python-docx's table.cell(r, c) rebuilds the whole grid per call
        grid = [[_Cell(tc, table) for tc in row._tr.tc_lst] for row in rows]
        for row in grid:
            for col, cell in zip(block.columns, row):
                cell.width = Mm(col.width)
        # header: one or two rows, merged cells for the two-level 考评标准
        for r, header in enumerate(header_rows):
            trpr = rows[r]._tr.get_or_add_trPr()
            trpr.append(_el("w:tblHeader"))
            trpr.append(_el("w:cantSplit"))
        occupied = set()
        for r, header in enumerate(header_rows):
            c = 0
            for label, colspan, rowspan in header:
                while (r, c) in occupied:
                    c += 1
                cell = grid[r][c]
                if colspan > 1 or rowspan > 1:
                    cell = cell.merge(grid[r + rowspan - 1][c + colspan - 1])
                for rr in range(r, r + rowspan):
                    for cc in range(c, c + colspan):
                        occupied.add((rr, cc))
                self._cell(cell, label.split("\n"), "table_head")
                c += colspan

        r = len(header_rows)
        keys = [c.key for c in block.columns]
        for group in block.groups:
            first = r
            for i, row in enumerate(group.rows):
                # a row of fewer than four lines stays whole; a taller one may break, Word's
                # widow control keeping two lines of each cell paragraph on either side
                shape = row_shape(block.columns, row, group.spanned if i == 0 else None, L)
                if not shape.breakable:
                    rows[r]._tr.get_or_add_trPr().append(_el("w:cantSplit"))
                for c, key in enumerate(keys):
                    if key in group.spanned:
                        continue
                    col = block.columns[c]
                    lines = row.get(key, [])
                    if self.tokens and key in block.slots:
                        lines = [slot_token(f"{key}:{row['id'][0]}")]
                    self._cell(grid[r][c], lines, "table_text", center=col.center)
                r += 1
            for c, key in enumerate(keys):
                if key in group.spanned:
                    cell = grid[first][c]
                    if r - 1 > first:
                        cell = cell.merge(grid[r - 1][c])
                    self._cell(cell, [group.spanned[key]], "table_text", center=True)

    def _cell(self, cell, lines: list[str], style: str, center: bool = False) -> None:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraphs = cell.paragraphs
        for extra in paragraphs[1:]:
            extra._p.getparent().remove(extra._p)
        p = paragraphs[0]
        self._style(p, style)
        _clear_runs(p)
        for i, line in enumerate(lines or [""]):
            if i:
                p = cell.add_paragraph()
                self._style(p, style)
            if line:
                p.add_run(line)
            if center:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def _imprint(self, imprint, numbered: bool = True) -> None:
        """§7.4 版记 on its own even page, its last rule on the bottom edge of the 版心; §7.5
        numbered unless a blank page stands before it (the blank page, inserted by the
        even-page break, carries no footer)."""
        L = self.layout
        section = self.doc.add_section(WD_SECTION.EVEN_PAGE)
        self._page_setup(section, landscape=False, first=False)
        if numbered:
            self._footers(section, no_first=False)
        else:
            section.footer.is_linked_to_previous = False
            section.even_page_footer.is_linked_to_previous = False
            for footer in (section.footer, section.even_page_footer):
                for p in footer.paragraphs:
                    _clear_runs(p)
        lines = []
        if imprint.copy_to:
            lines.append(("copy", f"抄送：{imprint.copy_to}。"))
        lines.append(("printed", (imprint.office, imprint.date)))
        # The block is a table whose first, borderless row has the exact height that puts the
        # last rule on the bottom edge of the 版心 (LibreOffice ignores floating tables and
        # tall exact line spacing; an exact row height works in Word, WPS and LibreOffice).
        text_height_pt = mm_to_pt(L.text_height)
        rules_pt = 2 * L.rules_pt.imprint_thick + (len(lines) - 1) * L.rules_pt.imprint_thin
        spacer_pt = text_height_pt - len(lines) * L.line_pitch_pt - rules_pt - 1
        table = self.doc.add_table(rows=len(lines) + 1, cols=1)
        tbl = table._tbl
        tblpr = tbl.tblPr
        for old in tblpr.findall(qn("w:tblW")):
            tblpr.remove(old)
        set_child(tblpr, _el("w:tblW", **{"w:w": mm_to_twips(L.text_width), "w:type": "dxa"}), TBLPR_ORDER)
        set_child(tblpr, _el("w:tblLayout", **{"w:type": "fixed"}), TBLPR_ORDER)
        cell_margins = _el("w:tblCellMar")
        for side in ("top", "left", "bottom", "right"):
            cell_margins.append(_el(f"w:{side}", **{"w:w": 0, "w:type": "dxa"}))
        set_child(tblpr, cell_margins, TBLPR_ORDER)
        tbl.tblGrid.findall(qn("w:gridCol"))[0].set(qn("w:w"), str(mm_to_twips(L.text_width)))
        rows = table.rows
        rows[0]._tr.get_or_add_trPr().append(_el("w:trHeight", **{"w:val": round(spacer_pt * 20),
                                                                  "w:hRule": "exact"}))
        spacer_p = rows[0].cells[0].paragraphs[0]
        self._style(spacer_p, "imprint")
        spacer_p.paragraph_format.line_spacing = Pt(1)
        for i, ((kind, content), row) in enumerate(zip(lines, rows[1:])):
            cell = row.cells[0]
            cell.width = Mm(L.text_width)
            borders = _el("w:tcBorders")
            borders.append(_border("top", L.rules_pt.imprint_thick if i == 0 else L.rules_pt.imprint_thin))
            if i == len(lines) - 1:
                borders.append(_border("bottom", L.rules_pt.imprint_thick))
            cell._tc.get_or_add_tcPr().append(borders)
            row._tr.get_or_add_trPr().append(_el("w:cantSplit"))
            p = cell.paragraphs[0]
            self._style(p, "imprint")
            p.paragraph_format.line_spacing = Pt(L.line_pitch_pt)
            if kind == "copy":
                p.add_run(content)
            else:
                office, date = content
                # office 1 character in from the left, date 1 character in from the right
                tabs = _el("w:tabs")
                tabs.append(_el("w:tab", **{"w:val": "right", "w:pos": round(
                    (mm_to_pt(L.text_width) - L.sizes_pt.imprint * 2) * 20)}))
                set_ppr(p, tabs)
                p.add_run(office)
                p.add_run("\t" + date)
        # a document ends with a paragraph (Word requires it; LibreOffice drops the section without)
        end = self._para("", "plain")
        end.paragraph_format.line_spacing = Pt(1)
