"""Where the first pages of a 公文 break, decided once from the view (GB/T 9704 §7.3.5).

The closing block rule: the last lines of the body, the 附件说明, the 署名 and the 成文日期
stand on one page, and that page carries at least two lines of body text. When everything
from the title to the date fits on the first page with the line pitch of that page tightened
to no less than 26 pt (§7.3.5.4: adjust the spacing; the 版头 does not move), it does. When it
cannot, the page breaks where at least two lines of body text go over.

The decision is made here, on the 22 × 28 grid, from the view and ``templates/layout.yaml``;
both writers apply it (a tightened pitch for the first section's text, a page break at a
character offset), so the PDF and the DOCX break at the same place. The PDF writer checks the
real layout and re-plans from the measured lines when this estimate was off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .layout import Layout, char_width, load_layout, mm_to_pt
from .views import (Addressee, AttachmentNote, DocumentView, Masthead, Paragraph, Section,
                    Signature, Title)

# --- line breaking --------------------------------------------------------------------------
# The part of UAX #14 that decides Chinese lines as Pango (PDF) and Word/LibreOffice (DOCX) set
# them: closing punctuation never starts a line, opening punctuation never ends one, a number or
# a Latin word is not split, and a 破折号 (——) or 省略号 (……) stays whole.

NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉〗〙”’%,.;:?!)]}")
NO_LINE_END = frozenset("（《「『【〔〈〖〘“‘([{")
INSEPARABLE = frozenset("—…")

# The least line pitch §7.3.5.4's remedy may use (office practice: fixed 26–30 pt).
MIN_PITCH_PT = 26.0


def _breakable(before: str, after: str) -> bool:
    if after in NO_LINE_START or before in NO_LINE_END:
        return False
    if before == after and before in INSEPARABLE:
        return False
    if before.isascii() and after.isascii() and not before.isspace() and not after.isspace():
        return False  # inside a number or a Latin word
    return True


def _widths(text: str, autospace: bool) -> list[float]:
    widths = [char_width(ch) for ch in text]
    if autospace:
        for i in range(1, len(text)):
            a, b = text[i - 1], text[i]
            if (_han(a) and _latin(b)) or (_latin(a) and _han(b)):
                widths[i] += AUTOSPACE
    return widths


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# LibreOffice sets a quarter-character gap between Chinese and Latin letters or digits, whatever
# the DOCX says (it ignores w:autoSpaceDE/DN); Word and the PDF do not. Where that makes a
# paragraph a line longer, the plan leaves room for it.
AUTOSPACE = 0.25


def wrap(text: str, width: float, first_indent: float = 0, rest_indent: float = 0,
         autospace: bool = False) -> list[int]:
    """The character offset where each line of ``text`` starts, ``width`` characters a line."""
    widths = _widths(text, autospace)
    starts = [0]
    start, used, indent = 0, 0.0, first_indent
    for i, ch in enumerate(text):
        w = widths[i]
        if indent + used + w > width + 1e-6 and i > start:
            j = i
            while j > start and not _breakable(text[j - 1], text[j]):
                j -= 1
            if j == start:  # no opportunity on the whole line: break where it overflows
                j = i
            starts.append(j)
            start, indent = j, rest_indent
            used = sum(widths[j:i])
        used += w
    return starts


# --- the first section as lines ----------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line (or blank line) of the first section, in line-pitch units."""

    block: int  # index of the block in the section
    index: int = 0  # line of the block (0 for a blank)
    offset: int = 0  # character offset where the line starts
    blank: bool = False  # the blank line before a block: dropped at the top of a page
    body: bool = False  # a line of 正文 text
    spare: bool = False  # room kept for a line some office software needs more


# What the first section's blocks occupy, in body characters (§7.3): indents and hangs.
BODY_STYLES = {"body": 2, "heading1": 2, "heading2": 2, "plain": 0, "centered": 0, "right": 0}
ATTACHMENT_PREFIX = "附件："


def attachment_note_lines(block: AttachmentNote) -> list[tuple[str, float, float]]:
    """Each 附件说明 paragraph with its first-line indent and the indent of its continuation
    lines (§7.3.4: aligned under the first character of the title)."""
    lead = 2 + len(ATTACHMENT_PREFIX)
    if len(block.titles) == 1:
        return [(ATTACHMENT_PREFIX + block.titles[0], 2, lead)]
    items = []
    for i, title in enumerate(block.titles, 1):
        number = f"{i}."
        text = (ATTACHMENT_PREFIX if i == 1 else "") + number + title
        items.append((text, 2 if i == 1 else lead, lead + len(number) * 0.5))
    return items


def header_height_pt(block: Masthead, layout: Layout) -> float:
    """The 版头's height from the top of the 版心 to where the title's two blank lines begin."""
    p, s, r = layout.positions, layout.sizes_pt, layout.rules_pt
    if block.style == "file":
        # §7.2.3 标志 35 mm down; §7.2.4 字号 two lines below; §7.2.5 red rule 4 mm below it
        return (mm_to_pt(p.masthead_top) + s.masthead + 2 * layout.line_pitch_pt + s.body
                + mm_to_pt(p.docnum_rule_gap) + r.red)
    # §10.1.1 信函: 标志 30 mm from the paper's top, double rule 4 mm below, 字号 7/8 of a
    # character below the rule
    return (mm_to_pt(p.letter_masthead_top - layout.margins.top) + s.letter_masthead
            + mm_to_pt(p.letter_rule_gap) + r.letter_gap + r.letter_thick + r.letter_thin
            + s.body * 7 / 8 + (layout.line_pitch_pt if block.number else 0))


Measured = dict[int, list[int]]  # block index → line start offsets from a real layout


def section_lines(section: Section, layout: Layout, measured: Measured | None = None
                  ) -> tuple[float, list[Line]]:
    """The fixed 版头 height (pt) and every line after it, in order."""
    chars = layout.grid.chars
    title_chars = mm_to_pt(layout.text_width) / layout.sizes_pt.title
    header = 0.0
    lines: list[Line] = []

    def text_lines(b: int, text: str, width: float, first: float, rest: float, body: bool) -> None:
        starts = (measured or {}).get(b) or wrap(text, width, first, rest)
        lines.extend(Line(b, i, off, body=body) for i, off in enumerate(starts))
        # room for the line LibreOffice may need more (AUTOSPACE): it takes height, and is
        # never where a page breaks nor counted as body text on the closing page
        extra = len(wrap(text, width, first, rest, autospace=True)) - len(starts)
        lines.extend(Line(b, len(starts) + k, len(text), body=False, spare=True) for k in range(extra))

    for b, block in enumerate(section.blocks):
        if isinstance(block, Masthead):
            header += header_height_pt(block, layout)
        elif isinstance(block, Title):
            lines += [Line(b, blank=True), Line(b, blank=True)]  # §7.3.1 two lines below the rule
            for i, title_line in enumerate(block.lines):
                for k in range(len(wrap(title_line, title_chars))):
                    lines.append(Line(b, len(lines)))
            lines.append(Line(b, blank=True))  # §7.3.2 one blank line above the 主送机关
        elif isinstance(block, Addressee):
            text_lines(b, block.text + "：", chars, 0, 0, False)
        elif isinstance(block, Paragraph):
            indent = BODY_STYLES.get(block.style, 0)
            text_lines(b, block.text, chars, indent, 0, True)
        elif isinstance(block, AttachmentNote):
            lines.append(Line(b, blank=True))
            for k, (text, first, rest) in enumerate(attachment_note_lines(block)):
                for i, off in enumerate(wrap(text, chars, first, rest)):
                    lines.append(Line(b, 100 * k + i, off))
        elif isinstance(block, Signature):
            lines += [Line(b, blank=True), Line(b, 0), Line(b, 1)]
        else:  # other blocks do not occur before a signature
            raise ValueError(f"no line model for {type(block).__name__}")
    return header, lines


# --- flowing lines onto pages ------------------------------------------------------------------


def _flow(header: float, lines: list[Line], pitch: float, page: float, first_pitch: float,
          headings: frozenset[int] = frozenset(), forced: int | None = None) -> list[int]:
    """The page (0-based) of every line. The first page's lines are ``first_pitch`` apart,
    later pages' the grid pitch. Body paragraphs keep two lines on each side of a break
    (widows and orphans, as both writers set them), a heading stays with what follows it, and
    ``forced`` starts a page at that line."""
    pages = [0] * len(lines)
    runs: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        if not line.blank:
            runs.setdefault(line.block, []).append(i)
    current, y, i = 0, header, 0
    while i < len(lines):
        line = lines[i]
        step = first_pitch if current == 0 else pitch
        if i == forced and y > 0:
            current, y = current + 1, 0.0
            continue
        if line.blank and y == 0 and current > 0:
            pages[i] = current  # a blank line at the top of a page takes no room
            i += 1
            continue
        if y + step > page + 1e-6:
            start = i
            if line.body and line.index > 0:
                run = runs[line.block]
                before, total = line.index, len(run)
                if before < 2 or total < 4:
                    start = run[0]
                elif total - before < 2:
                    start = run[total - 2]
            if start == runs.get(lines[start].block, [start])[0] and start > 0:
                prev = lines[start - 1]
                if not prev.blank and prev.block in headings:
                    start = runs[prev.block][0]
            current, y, i = current + 1, 0.0, start
            continue
        pages[i] = current
        y += step
        i += 1
    return pages


@dataclass(frozen=True)
class ClosingPlan:
    """What both writers apply to the first section."""

    pitch_pt: float | None  # the first page's line pitch, when tightened (§7.3.5.4)
    break_block: int | None  # a page starts in this block …
    break_offset: int = 0  # … at this character
    pages: int = 1  # pages the first section takes


def plan_closing(section: Section, layout: Layout | None = None,
                 measured: Measured | None = None) -> ClosingPlan:
    layout = layout or load_layout()
    pitch = layout.line_pitch_pt
    page = mm_to_pt(layout.text_height)
    header, lines = section_lines(section, layout, measured)
    if not any(isinstance(b, Signature) for b in section.blocks):
        return ClosingPlan(None, None)
    room = page - header
    if len(lines) * pitch <= room + 1e-6:
        return ClosingPlan(None, None)
    if len(lines) * MIN_PITCH_PT <= room + 1e-6:
        # every line on page 1: tighten to the widest pitch that fits, in hundredths of a point
        tight = int(room / len(lines) * 100) / 100
        return ClosingPlan(min(tight, pitch), None)
    headings = frozenset(b for b in range(len(section.blocks)) if _is_heading(section, b))
    pages = _flow(header, lines, pitch, page, pitch, headings)
    body = [i for i, line in enumerate(lines) if line.body]
    last_page = pages[-1]
    on_last = [i for i in body if pages[i] == last_page]
    if body and pages[body[-1]] == last_page and len(on_last) >= 2:
        return ClosingPlan(None, None, pages=last_page + 1)
    if not body:
        return ClosingPlan(None, None, pages=last_page + 1)
    # break so that two lines of body text go over with the closing block: before the
    # second-to-last line, moved back so neither page keeps a single line of a paragraph
    k = len(body) - 2 if len(body) >= 2 else 0
    while k > 0:
        line = lines[body[k]]
        run = [i for i in body if lines[i].block == line.block]
        before = run.index(body[k])
        if 0 < before < 2 or (len(run) - before == 1 and len(run) > 1):
            k -= 1  # a paragraph's first line would stay alone, or its last line go alone
            continue
        prev = lines[body[k - 1]]
        if prev.block != line.block and _is_heading(section, prev.block):
            k -= 1  # a heading stays with what follows it
            continue
        break
    target = lines[body[k]]
    pages = _flow(header, lines, pitch, page, pitch, headings, forced=body[k])
    return ClosingPlan(None, target.block, target.offset, pages=pages[-1] + 1)


def _is_heading(section: Section, block: int) -> bool:
    b = section.blocks[block]
    return isinstance(b, Paragraph) and b.style.startswith("heading")


def apply_plan(view: DocumentView, plan: ClosingPlan) -> DocumentView:
    """The view with the plan written into its first section."""
    first = view.sections[0]
    blocks = list(first.blocks)
    if plan.break_block is not None:
        block = blocks[plan.break_block]
        assert isinstance(block, Paragraph)
        blocks[plan.break_block] = replace(block, break_at=plan.break_offset)
    section = replace(first, blocks=blocks, pitch_pt=plan.pitch_pt)
    return replace(view, sections=[section, *view.sections[1:]])


def strip_plan(view: DocumentView) -> DocumentView:
    first = view.sections[0]
    blocks = [replace(b, break_at=None) if isinstance(b, Paragraph) else b for b in first.blocks]
    return replace(view, sections=[replace(first, blocks=blocks, pitch_pt=None), *view.sections[1:]])


def paginate(view: DocumentView, layout: Layout | None = None,
             measured: Measured | None = None) -> DocumentView:
    """Plan the first section of a document that closes with a signature."""
    view = strip_plan(view)
    if not view.sections or view.sections[0].landscape:
        return view
    return apply_plan(view, plan_closing(view.sections[0], layout, measured))


# --- table rows ---------------------------------------------------------------------------------
# A row may break across pages when it does not fit, with at least two lines of each cell's
# text on either side; a row of fewer than four lines therefore never breaks (GBT9704.md
# "Tables"). Both writers ask here how tall a row is.

ROW_BREAK_MIN_LINES = 4


def cell_lines(items: Sequence[str], width_mm: float, layout: Layout) -> int:
    """Lines a cell's items take in a column ``width_mm`` wide at the table's type size."""
    rule_mm = layout.rules_pt.table * 25.4 / 72  # half a rule on each side (collapsed borders)
    return cell_text_lines(items, width_mm - 2 * layout.table.padding_x - rule_mm, layout)


def cell_text_lines(items: Sequence[str], inner_mm: float, layout: Layout) -> int:
    """Lines the items take in a cell whose text is ``inner_mm`` wide, at the table's type size."""
    chars = inner_mm / (layout.sizes_pt.table * 25.4 / 72)
    return sum(len(wrap(item, chars)) for item in items)


@dataclass(frozen=True)
class RowShape:
    lines: dict[str, int]  # column key → lines of its cell
    height: int  # lines of the tallest cell

    @property
    def breakable(self) -> bool:
        return self.height >= ROW_BREAK_MIN_LINES


def row_shape(columns, row: dict[str, list[str]], spanned: dict[str, str] | None,
              layout: Layout) -> RowShape:
    lines = {}
    for column in columns:
        if spanned is not None and column.key in spanned:
            lines[column.key] = cell_lines([spanned[column.key]], column.width, layout)
        elif column.key in row:
            lines[column.key] = cell_lines(row[column.key], column.width, layout)
    own = [n for key, n in lines.items() if spanned is None or key not in spanned]
    return RowShape(lines, max(own, default=1))
