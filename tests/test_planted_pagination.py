"""The page-break planner's rules, one at a time, with expectations worked out by hand (issue 22):
line breaking (避头尾, numbers and 破折号 kept whole), the lines of the first section, where the
closing block breaks (headings kept with what follows, no paragraph split 1 + n or n + 1), the
plan written into the view, and how tall a table row is. Fast: no document is laid out here."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from pipeline import pagination
from pipeline.layout import load_layout
from pipeline.pagination import (ClosingPlan, Line, RowShape, attachment_note_lines, cell_lines,
                                 cell_text_lines, plan_closing, row_shape, section_lines, wrap)
from pipeline.views import AttachmentNote, Paragraph, Section, Signature

from .test_planted_closing import CLOSING, NOTICE, body, notice_with, start_of_line

LAYOUT = load_layout()


# --- line breaking -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, width, starts", [
    ("一二三四五", 2, [0, 2, 4]),
    ("一二三四", 2, [0, 2]),                # exactly full lines
    ("一二，三四", 2, [0, 1, 3]),            # ， never starts a line: 二 goes down with it
    ("一二三。", 3, [0, 2]),                 # 。 never starts a line
    ("一二！", 2, [0, 1]),
    ("一（二三", 2, [0, 1, 3]),              # （ never ends a line
    ("一“二三", 2, [0, 1, 3]),
    ("一——二", 2, [0, 1, 3]),                # a 破折号 stays whole
    ("一……二", 2, [0, 1, 3]),
    ("一—二三", 2, [0, 2]),                  # a single dash may be split from what follows
    ("一12345", 2, [0, 1, 5]),               # a number is not split, unless it fills a line alone
    ("一ab cd", 2, [0, 3]),                   # Latin words split at their space
    ("", 4, [0]),
    ("一", 1, [0]),
    ("一二三", 2.5, [0, 2]),
    ("12。34", 2, [0, 3]),                    # digits and signs: half a character each, 。 narrower
])
def test_wrap(text, width, starts):
    assert wrap(text, width) == starts


def test_wrap_indents():
    assert wrap("一二三四五六", 4, first_indent=2) == [0, 2]
    assert wrap("一二三四五六七", 4, first_indent=2) == [0, 2, 6]
    assert wrap("一二三四五六七八", 4, first_indent=0, rest_indent=2) == [0, 4, 6]
    assert wrap("一二三四五", 4, first_indent=1, rest_indent=3) == [0, 3, 4]


def test_wrap_autospace_between_han_and_latin():
    # LibreOffice's quarter-character gap: 一a二 is 2.5 characters wide without it, 3 with it
    assert wrap("一a二", 2.5) == [0]
    assert wrap("一a二", 2.5, autospace=True) == [0, 2]
    assert wrap("a一", 1.5, autospace=True) == [0, 1]
    assert wrap("a一", 1.5) == [0]
    assert wrap("一二", 2, autospace=True) == [0]  # none between two Han characters
    assert wrap("ab", 1, autospace=True) == [0]    # nor between two Latin letters


def test_body_paragraphs_of_the_test_documents():
    for lines in range(1, 10):
        assert wrap(body(lines), LAYOUT.grid.chars, 2) == [start_of_line(k) for k in range(lines)]


# --- the 附件说明 and the first section as lines -------------------------------------------------------


def test_attachment_note_hangs_under_the_title():
    assert attachment_note_lines(AttachmentNote(["考评结果表"])) == [("附件：考评结果表", 2, 5)]
    assert attachment_note_lines(AttachmentNote(["甲表", "乙表"])) == [
        ("附件：1.甲表", 2, 6.0), ("2.乙表", 5, 6.0)]
    numbered = attachment_note_lines(AttachmentNote([f"表{i}" for i in range(1, 11)]))
    assert numbered[-1] == ("10.表10", 5, 6.5)


def test_section_lines_of_a_short_notice():
    section = notice_with(2, plan=False).sections[0]
    header, lines = section_lines(section, LAYOUT)
    # 版头: 标志 35 mm down, its height, two line pitches and the 字号, 4 mm, the red rule
    pitch = LAYOUT.line_pitch_pt
    expected = 35 / 25.4 * 72 + 52 + 2 * pitch + 16 + 4 / 25.4 * 72 + LAYOUT.rules_pt.red
    assert header == pytest.approx(expected)
    kinds = [(l.block, l.index, l.blank, l.body) for l in lines]
    assert kinds == [
        (1, 0, True, False), (1, 0, True, False),            # two blank lines under the red rule
        (1, 2, False, False), (1, 3, False, False),          # the title's two lines
        (1, 0, True, False),                                  # one blank line above the 主送机关
        (2, 0, False, False), (2, 1, False, False),           # 主送机关, two lines
        (3, 0, False, True), (3, 1, False, True),             # the body
        (4, 0, True, False), (4, 0, False, False),            # blank, 附件说明
        (5, 0, True, False), (5, 0, False, False), (5, 1, False, False),  # blank, 署名, 日期
    ]
    assert [l.offset for l in lines if l.block == 3] == [0, 26]
    assert not any(l.spare for l in lines)


def test_measured_lines_replace_the_estimate():
    section = notice_with(2, plan=False).sections[0]
    _, lines = section_lines(section, LAYOUT, measured={3: [0, 20, 40]})
    assert [l.offset for l in lines if l.block == 3 and l.body] == [0, 20, 40]


def test_room_kept_for_libreoffice_autospace():
    # 17 × (1 + ½) = 25.5 characters after the indent of 2: one line; with LibreOffice's quarter
    # character between each Han character and letter, 33.75: two
    text = "一a" * 17
    section = replace(notice_with(2, plan=False).sections[0])
    blocks = list(section.blocks)
    blocks[3] = Paragraph(text)
    _, lines = section_lines(replace(section, blocks=blocks), LAYOUT)
    body_lines = [l for l in lines if l.block == 3]
    estimate = len(wrap(text, 28, 2))
    spaced = len(wrap(text, 28, 2, autospace=True))
    assert (estimate, spaced) == (1, 2)
    assert [l.spare for l in body_lines] == [False] * estimate + [True] * (spaced - estimate)
    assert all(not l.body and l.offset == len(text) for l in body_lines if l.spare)


def test_a_section_of_unknown_blocks_has_no_line_model():
    from pipeline.views import AttachmentHead
    section = Section(blocks=[AttachmentHead("附件", "表"), Signature("吉林省民政厅", "2016年3月29日")])
    with pytest.raises(ValueError, match="AttachmentHead"):
        section_lines(section, LAYOUT)


# --- where the closing block breaks ----------------------------------------------------------------


def with_blocks(*paragraphs: Paragraph):
    """The notice's first section with these body paragraphs, unplanned."""
    section = notice_with(1, plan=False).sections[0]
    blocks = [b for b in section.blocks if not isinstance(b, Paragraph)]
    return replace(section, blocks=blocks[:3] + list(paragraphs) + blocks[3:])


def test_no_signature_no_plan():
    section = notice_with(8, plan=False).sections[0]
    unsigned = replace(section, blocks=[b for b in section.blocks if not isinstance(b, Signature)])
    assert plan_closing(unsigned, LAYOUT) == ClosingPlan(None, None)


def test_a_heading_stays_with_what_follows():
    # 3-line paragraph, a heading, a 2-line paragraph: six lines, page 1 full, the closing block
    # would stand alone; two lines must go over, after the heading: the heading goes with them
    section = with_blocks(Paragraph(body(3)), Paragraph("二、工作要求", "heading1"), Paragraph(body(2)))
    assert plan_closing(section, LAYOUT) == ClosingPlan(None, 4, 0, 2)
    # the same with a plain one-line paragraph in its place: the last paragraph goes over alone
    section = with_blocks(Paragraph(body(3)), Paragraph("二、工作要求"), Paragraph(body(2)))
    assert plan_closing(section, LAYOUT) == ClosingPlan(None, 5, 0, 2)


def test_a_heading_at_the_foot_of_a_page_goes_over():
    # the heading is the sixth line, the last on page 1: it flows over with its paragraph
    section = with_blocks(Paragraph(body(5)), Paragraph("二、工作要求", "heading2"), Paragraph(body(5)))
    assert plan_closing(section, LAYOUT) == ClosingPlan(None, None, 0, 2)
    section = with_blocks(Paragraph(body(5)), Paragraph("二、工作要求"), Paragraph(body(5)))
    assert plan_closing(section, LAYOUT) == ClosingPlan(None, None, 0, 2)


@pytest.mark.parametrize("first, second, expected", [
    (2, 2, ClosingPlan(None, 4, 0, 2)),                      # the last paragraph goes over whole
    (3, 2, ClosingPlan(None, 4, 0, 2)),
    (4, 2, ClosingPlan(None, 4, 0, 2)),                      # six lines: page 1 exactly full
    (3, 3, ClosingPlan(None, 4, 0, 2)),                      # 1 + 2 would leave one line behind
    (2, 4, ClosingPlan(None, 4, start_of_line(2), 2)),       # 2 + 2
    (1, 4, ClosingPlan(None, 4, start_of_line(2), 2)),
    (1, 5, ClosingPlan(None, 4, start_of_line(3), 2)),       # 3 + 2
    (4, 3, ClosingPlan(None, None, 0, 2)),                   # flows over by itself, whole (3 lines)
    (2, 5, ClosingPlan(None, None, 0, 2)),                   # flows over by itself: 2 + 3 on page 1, 2 go
])
def test_two_paragraphs(first, second, expected):
    section = with_blocks(Paragraph(body(first)), Paragraph(body(second)))
    assert plan_closing(section, LAYOUT) == expected


def test_long_bodies_flow_over_pages():
    """Page 1 holds six body lines, page 2 all of its 22 (§5.2.2; not 21)."""
    def plan(lines):
        return plan_closing(notice_with(lines, plan=False).sections[0], LAYOUT)

    # 6 + 22 lines fill two pages exactly: two go over to the closing block on page 3
    assert plan(28) == ClosingPlan(None, 3, start_of_line(26), 3)
    # 6 + 21: the 附件说明 would stand on page 2, the 署名 on page 3: two lines go over
    assert plan(27) == ClosingPlan(None, 3, start_of_line(25), 3)
    # 6 + 20: the blank and the 附件说明 fill page 2, the 署名 and date would go alone
    assert plan(26) == ClosingPlan(None, 3, start_of_line(24), 3)
    # 29 lines: the last would go alone to page 3, so two go; 30: two flow over by themselves
    assert plan(29) == ClosingPlan(None, None, 0, 3)
    assert plan(30) == ClosingPlan(None, None, 0, 3)
    # 6 + 17 and the closing block's five lines fill page 2 exactly
    assert plan(23) == ClosingPlan(None, None, 0, 2)


def test_a_body_of_no_paragraphs():
    section = with_blocks()
    assert plan_closing(section, LAYOUT) == ClosingPlan(None, None, 0, 1)


# --- the plan in the view ----------------------------------------------------------------------------


def test_plan_written_into_the_view_and_taken_out_again():
    view = notice_with(5, CLOSING, plan=False)
    planned = pagination.paginate(view)
    blocks = planned.sections[0].blocks
    assert [getattr(b, "break_at", None) for b in blocks] == [None, None, None, start_of_line(3), None, None, None]
    assert planned.sections[0].pitch_pt is None
    assert pagination.strip_plan(planned) == view
    assert pagination.paginate(planned) == planned  # planned again from scratch, not on top
    tight = pagination.paginate(notice_with(2, plan=False))
    assert tight.sections[0].pitch_pt == 28.52
    assert pagination.strip_plan(tight).sections[0].pitch_pt is None
    assert pagination.apply_plan(view, ClosingPlan(None, None)) == view


def test_landscape_or_empty_views_are_not_planned():
    view = notice_with(5, plan=False)
    landscape = replace(view, sections=[replace(view.sections[0], landscape=True)])
    assert pagination.paginate(landscape) == landscape
    assert NOTICE.sections[1].landscape


# --- table rows --------------------------------------------------------------------------------------

# a column whose cells hold exactly five characters of 小四 a line
INNER_MM = 5 * 12 * 25.4 / 72
WIDTH_MM = INNER_MM + 2 * 1.0 + 0.75 * 25.4 / 72


def test_cell_lines():
    assert cell_text_lines(["一" * 10], INNER_MM, LAYOUT) == 2
    assert cell_text_lines(["一" * 11], INNER_MM, LAYOUT) == 3
    assert cell_text_lines(["一" * 5, "二" * 5, "三"], INNER_MM, LAYOUT) == 3  # each item its own lines
    assert cell_lines(["一" * 10], WIDTH_MM, LAYOUT) == 2
    assert cell_lines(["一" * 10], WIDTH_MM - 0.01, LAYOUT) == 3
    # the 0.75 pt rule is 0.2646 mm: 2 µm less room than that and five characters no longer fit
    assert cell_lines(["一" * 10], WIDTH_MM - 0.002, LAYOUT) == 3
    # with 2 mm of padding on each side, the column needs 2 mm more
    padded = LAYOUT.model_copy(update={"table": LAYOUT.table.model_copy(update={"padding_x": 2.0})})
    assert cell_lines(["一" * 10], WIDTH_MM, padded) == 3
    assert cell_lines(["一" * 10], WIDTH_MM + 2.0, padded) == 2


def test_row_shape():
    columns = [SimpleNamespace(key="a", width=WIDTH_MM), SimpleNamespace(key="b", width=WIDTH_MM),
               SimpleNamespace(key="c", width=WIDTH_MM)]
    shape = row_shape(columns, {"a": ["一" * 15], "b": ["一"]}, None, LAYOUT)
    assert shape == RowShape({"a": 3, "b": 1}, 3) and not shape.breakable
    shape = row_shape(columns, {"a": ["一" * 16], "b": ["一"]}, None, LAYOUT)
    assert shape == RowShape({"a": 4, "b": 1}, 4) and shape.breakable
    # a cell spanning rows counts for its lines, but does not make this row taller
    shape = row_shape(columns, {"a": ["一"], "b": ["一" * 6]}, {"c": "一" * 30}, LAYOUT)
    assert shape == RowShape({"a": 1, "b": 2, "c": 6}, 2)
    # a spanned column's own text is not read
    shape = row_shape(columns, {"a": ["一" * 30], "b": ["一"]}, {"a": "一"}, LAYOUT)
    assert shape == RowShape({"a": 1, "b": 1}, 1)
    # nothing but spanned cells: one line
    assert row_shape(columns, {}, {"a": "一" * 30}, LAYOUT).height == 1
    assert RowShape({}, 4).breakable and not RowShape({}, 3).breakable


def test_line_defaults():
    line = Line(3)
    assert (line.index, line.offset, line.blank, line.body, line.spare) == (0, 0, False, False, False)
