"""The reference DOCX (``templates/docx/reference.docx``): the Word styles of every document.

Built from ``templates/layout.yaml`` by ``scripts/make_reference_docx.py``; a clerk may then
restyle it in Word or WPS (fonts, colours, spacing) and every document follows. The writer
applies only the page geometry (margins, grid, footers) per section from the layout.
"""

from __future__ import annotations

import datetime as dt
import math

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from ..layout import Layout, mm_to_pt

# style id → (name shown in Word, font role, size key, extra)
STYLE_NAMES = {
    "body": "公文正文",
    "plain": "公文无缩进",
    "centered": "公文居中",
    "right": "公文居右",
    "heading1": "heading 1",
    "heading2": "heading 2",
    "masthead": "发文机关标志",
    "letter_masthead": "信函发文机关标志",
    "docnum": "发文字号",
    "letter_docnum": "信函发文字号",
    "title": "Title",
    "addressee": "主送机关",
    "attachment_note": "附件说明",
    "signature": "发文机关署名",
    "date": "成文日期",
    "attachment_label": "附件标识",
    "attachment_title": "附件标题",
    "fields": "表头信息",
    "table_text": "表格文字",
    "table_head": "表格标题行",
    "notes": "表注",
    "imprint": "版记",
    "page_number": "页码",
    "sample": "样例标记",
}


def set_east_asian_font(rpr, east_asian: str, latin: str) -> None:
    """Name the faces on w:rFonts, East Asian included, and drop theme fonts that would win."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def _child(parent, tag: str, **attrs):
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(key), str(value))
    return el


def _indent_chars(ppr, first: int = 0, left: int = 0, right: int = 0, hanging: int = 0,
                  char_pt: float = 16) -> None:
    """Indents in hundredths of a character (Word's 字符 unit, w:firstLineChars …), with the
    same length in twips beside them for LibreOffice, which reads only the latter."""
    ind = _child(ppr, "w:ind")
    for key in list(ind.attrib):
        del ind.attrib[key]
    for name, value in (("left", left), ("right", right), ("firstLine", first), ("hanging", hanging)):
        if value or name in ("left", "right"):
            ind.set(qn(f"w:{name}"), str(round(value / 100 * char_pt * 20)))
            if value:
                ind.set(qn(f"w:{name}Chars"), str(value))


def _no_grid(ppr) -> None:
    """Titles, tables and footers keep their own spacing instead of snapping to the grid."""
    _child(ppr, "w:snapToGrid", **{"w:val": "0"})


def build_reference(layout: Layout):
    doc = Document()
    s = layout.sizes_pt
    pitch = Pt(layout.line_pitch_pt)
    red = RGBColor.from_string(layout.colors.red)
    faces = {role: face.docx for role, face in layout.fonts.items()}
    latin = layout.latin_font

    # Chinese, not the default template's Japanese, as the East Asian language (PITFALLS.md)
    settings = doc.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is None:
        lang = OxmlElement("w:themeFontLang")
        settings.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    _child(settings, "w:evenAndOddHeaders")  # §7.5 odd/even page numbers differ

    styles = doc.styles
    # document defaults: 仿宋 3号, no theme fonts
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_east_asian_font(rpr_default, faces["fang"], latin)
    _child(rpr_default, "w:lang", **{"w:val": "en-US", "w:eastAsia": "zh-CN"})
    _child(rpr_default, "w:sz", **{"w:val": int(s.body * 2)})
    _child(rpr_default, "w:szCs", **{"w:val": int(s.body * 2)})
    # Widow control (two lines of a paragraph on each side of a page break), as the PDF does
    # and pagination.py counts; no extra space between Chinese and digits or Latin letters
    # (Word's autoSpace), which the 28-character line does not have room for.
    ppr_default = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for tag in ("w:autoSpaceDN", "w:autoSpaceDE", "w:widowControl"):
        el = OxmlElement(tag)
        if tag != "w:widowControl":
            el.set(qn("w:val"), "0")
        ppr_default.insert(0, el)

    def para_style(key: str, role: str, size: float, align=None, base: str | None = "Normal",
                   grid: bool = True, exact: float | None = None):
        name = STYLE_NAMES[key]
        try:
            style = styles[name]
        except KeyError:
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if base is not None and name != "Normal":
            style.base_style = styles["Normal"]
        font = style.font
        font.size = Pt(size)
        if size != s.body:
            _child(style.element.get_or_add_rPr(), "w:spacing", **{"w:val": 0})
        font.bold = False
        font.italic = False
        font.color.rgb = RGBColor.from_string(layout.colors.black)
        set_east_asian_font(style.element.get_or_add_rPr(), faces[role], latin)
        pf = style.paragraph_format
        pf.space_before = Pt(0)
        pf.space_after = Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(exact) if exact else pitch
        if align is not None:
            pf.alignment = align
        ppr = style.element.get_or_add_pPr()
        _indent_chars(ppr)
        if not grid:
            _no_grid(ppr)
        style.quick_style = True
        return style

    normal = para_style("body", "fang", s.body)  # named 公文正文, the clerk's body style
    cp = layout.char_pitch_pt
    _indent_chars(normal.element.get_or_add_pPr(), first=200, char_pt=cp)
    # Normal itself: no indent (PITFALLS.md: indents leak into titles, cells and footers)
    n = styles["Normal"]
    n.font.size = Pt(s.body)
    set_east_asian_font(n.element.get_or_add_rPr(), faces["fang"], latin)
    n.paragraph_format.space_after = Pt(0)
    n.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    n.paragraph_format.line_spacing = pitch
    # §5.2.2 28 characters a line: 3号 glyphs tightened (twentieths of a point, rounded down)
    tighten = -math.ceil(-layout.letter_spacing_pt * 20)
    _child(n.element.get_or_add_rPr(), "w:spacing", **{"w:val": tighten})
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    para_style("plain", "fang", s.body)
    para_style("centered", "fang", s.body, WD_ALIGN_PARAGRAPH.CENTER)
    para_style("right", "fang", s.body, WD_ALIGN_PARAGRAPH.RIGHT)
    for key, role, level in (("heading1", "hei", 0), ("heading2", "kai", 1)):
        h = para_style(key, role, s.body)
        _indent_chars(h.element.get_or_add_pPr(), first=200, char_pt=cp)
        _child(h.element.get_or_add_pPr(), "w:outlineLvl", **{"w:val": level})
        h.font.color.rgb = RGBColor.from_string(layout.colors.black)

    mast = para_style("masthead", "title", s.masthead, WD_ALIGN_PARAGRAPH.CENTER, grid=False,
                      exact=s.masthead * 1.0)
    mast.font.color.rgb = red
    _child(mast.element.get_or_add_rPr(), "w:w", **{"w:val": int(layout.masthead_scale_x * 100)})
    mast.paragraph_format.space_before = Mm(layout.positions.masthead_top)

    lmast = para_style("letter_masthead", "title", s.letter_masthead, WD_ALIGN_PARAGRAPH.CENTER,
                       grid=False, exact=s.letter_masthead * 1.0)
    lmast.font.color.rgb = red
    # placed in the first page's header, whose distance puts it 30 mm from the top (§10.1.1)

    docnum = para_style("docnum", "fang", s.body, WD_ALIGN_PARAGRAPH.CENTER, grid=False, exact=s.body)
    docnum.paragraph_format.space_before = Pt(2 * layout.line_pitch_pt)
    # §7.2.5 the red rule: the paragraph's bottom border, 4 mm below the 发文字号, 版心 wide
    pbdr = _child(docnum.element.get_or_add_pPr(), "w:pBdr")
    _child(pbdr, "w:bottom", **{
        "w:val": "single", "w:sz": int(layout.rules_pt.red * 8),
        "w:space": round(mm_to_pt(layout.positions.docnum_rule_gap)),
        "w:color": layout.colors.red})

    ldocnum = para_style("letter_docnum", "fang", s.body, WD_ALIGN_PARAGRAPH.RIGHT)
    ldocnum.paragraph_format.space_before = Pt(s.body * 7 / 8)

    title = para_style("title", "title", s.title, WD_ALIGN_PARAGRAPH.CENTER, grid=False)
    title.paragraph_format.space_before = Pt(2 * layout.line_pitch_pt)
    title.paragraph_format.space_after = pitch
    # the built-in Title style carries a border and theme colour in some templates: clear it
    tppr = title.element.get_or_add_pPr()
    for el in tppr.findall(qn("w:pBdr")):
        tppr.remove(el)

    para_style("addressee", "fang", s.body)
    note = para_style("attachment_note", "fang", s.body)
    # §7.3.4 “附件：” 2 characters in; a wrapped title under its own first character
    _indent_chars(note.element.get_or_add_pPr(), left=500, hanging=300, char_pt=cp)
    note.paragraph_format.space_before = pitch
    sig = para_style("signature", "fang", s.body, WD_ALIGN_PARAGRAPH.RIGHT)
    sig.paragraph_format.space_before = pitch
    date = para_style("date", "fang", s.body, WD_ALIGN_PARAGRAPH.RIGHT)
    _indent_chars(date.element.get_or_add_pPr(), right=400, char_pt=cp)

    para_style("attachment_label", "hei", s.body)
    at = para_style("attachment_title", "title", s.title, WD_ALIGN_PARAGRAPH.CENTER, grid=False)
    at.paragraph_format.space_before = pitch
    at.paragraph_format.space_after = Pt(layout.line_pitch_pt / 2)
    para_style("fields", "fang", s.body)
    para_style("table_text", "fang", s.table, grid=False, exact=round(s.table * layout.table.line_height, 1))
    para_style("table_head", "hei", s.table_head, WD_ALIGN_PARAGRAPH.CENTER, grid=False,
               exact=round(s.table_head * layout.table.line_height, 1))
    notes = para_style("notes", "fang", s.body)
    _indent_chars(notes.element.get_or_add_pPr(), left=200, hanging=200, char_pt=cp)
    imp = para_style("imprint", "fang", s.imprint, grid=False)
    _indent_chars(imp.element.get_or_add_pPr(), left=100, right=100, char_pt=s.imprint)
    para_style("page_number", "song", s.page_number, grid=False, exact=s.page_number)
    sample = para_style("sample", "hei", 14, WD_ALIGN_PARAGRAPH.RIGHT, grid=False, exact=14)
    sample.font.color.rgb = red

    # Theme fonts win over named ones (PITFALLS.md): strip them from every style, used or not
    for style in styles:
        rpr = style.element.rPr
        fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
        if fonts is not None:
            set_east_asian_font(rpr, fonts.get(qn("w:eastAsia")) or faces["fang"],
                                fonts.get(qn("w:ascii")) or latin)

    # Reproducible: fixed core properties
    cp = doc.core_properties
    fixed = dt.datetime(2000, 1, 1)
    cp.created = fixed
    cp.modified = fixed
    cp.last_printed = fixed
    cp.author = ""
    cp.last_modified_by = ""
    cp.revision = 1
    cp.title = "公文样式"
    # the template's own body must be empty
    body = doc.element.body
    for p in list(body):
        if p.tag != qn("w:sectPr"):
            body.remove(p)
    return doc
