"""Document views: what a page shows, independent of the output format.

Each document type builds one ``DocumentView`` (see ``documents.py``); the HTML→PDF and DOCX
writers render that same view block by block, so the two formats cannot drift apart.
Blocks carry final text only: no markup, no template syntax, no layout numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Union


def official_date(day: dt.date) -> str:
    """成文日期 style: Arabic numerals, year in full, no leading zeros (§7.3.5)."""
    return f"{day.year}年{day.month}月{day.day}日"


# --- blocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Masthead:
    """版头: 发文机关标志, 发文字号 and the red rule(s)."""

    text: str
    number: str | None
    style: Literal["file", "letter"] = "file"
    kind: str = "masthead"


@dataclass(frozen=True)
class Title:
    lines: list[str]
    kind: str = "title"


@dataclass(frozen=True)
class Addressee:
    text: str  # without the closing colon, which the writers add
    kind: str = "addressee"


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph. style: body (indented 2 characters), heading1 (黑体), heading2 (楷体),
    plain (no indent), centered, right."""

    text: str
    style: str = "body"
    break_at: int | None = None  # a new page starts at this character (pagination.py decides)
    kind: str = "paragraph"
    slot: str | None = None  # on a form: the text is filled per document (forms.py)
    reserve: int = 0  # on a blank form: the slot's text is not there, room for this many lines is


@dataclass(frozen=True)
class AttachmentNote:
    """附件说明: ``附件：title`` (several: numbered)."""

    titles: list[str]
    kind: str = "attachment_note"


@dataclass(frozen=True)
class Signature:
    """发文机关署名 and 成文日期, laid out for a seal (§7.3.5.1)."""

    issuer: str
    date: str
    kind: str = "signature"


@dataclass(frozen=True)
class AttachmentHead:
    """附件 label (黑体, top left) and the attachment's title, centred (§7.3.8 / §8)."""

    label: str | None  # None: a table document's own title, no 附件 label
    title: str
    slot: str | None = None  # on a form: the title is filled per document (forms.py)
    kind: str = "attachment_head"
    reserve: int = 0  # on a blank form: room for a title of this many lines, not the title


@dataclass(frozen=True)
class Field:
    """A form field: its label, and an underlined box ``width`` characters wide holding the
    value (blank until filled). ``slot``: filled per region on a laid-out form (forms.py)."""

    label: str
    value: str
    width: float
    slot: str | None = None


@dataclass(frozen=True)
class Fields:
    """Form fields on one line, e.g. 年度 / 考评层次 / 地区."""

    items: list[Field]
    kind: str = "fields"


@dataclass(frozen=True)
class Notes:
    items: list[str]
    label: str = "注："
    kind: str = "notes"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: float  # mm of the landscape 版心
    group: str | None = None  # a two-level header: columns sharing a group get one top cell
    center: bool = False


@dataclass(frozen=True)
class RowGroup:
    """The task rows of one category; ``spanned`` cells span all of them (序号, 考评项目)."""

    spanned: dict[str, str]
    rows: list[dict[str, list[str]]]


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    groups: list[RowGroup]
    # columns filled per region on a laid-out form (forms.py): cell slot "<key>:<task id>"
    slots: tuple[str, ...] = ()
    kind: str = "table"

    def header_rows(self) -> list[list[tuple[str, int, int]]]:
        """Header cells as (label, colspan, rowspan) per header row (one or two rows)."""
        if not any(c.group for c in self.columns):
            return [[(c.label, 1, 1) for c in self.columns]]
        top, bottom = [], []
        i = 0
        while i < len(self.columns):
            col = self.columns[i]
            if col.group is None:
                top.append((col.label, 1, 2))
                i += 1
                continue
            j = i
            while j < len(self.columns) and self.columns[j].group == col.group:
                j += 1
            top.append((col.group, j - i, 1))
            bottom += [(c.label, 1, 1) for c in self.columns[i:j]]
            i = j
        return [top, bottom]


@dataclass(frozen=True)
class Imprint:
    """版记 (§7.4): optional 抄送, then 印发机关 and 印发日期 between rules."""

    office: str
    date: str
    copy_to: str | None = None
    kind: str = "imprint"


Block = Union[Masthead, Title, Addressee, Paragraph, AttachmentNote, Signature, AttachmentHead,
              Fields, Notes, Table]


@dataclass(frozen=True)
class Section:
    """A run of pages of one orientation; each section after the first starts a new page."""

    blocks: list[Block]
    landscape: bool = False
    # The first page's line pitch when tightened to keep the closing block on it (§7.3.5.4;
    # pagination.py decides); None: the grid's pitch.
    pitch_pt: float | None = None


@dataclass(frozen=True)
class DocumentView:
    kind: str  # notice, checklist, report, letter, summary
    title: str  # document metadata (PDF title, DOCX core title)
    date: dt.date  # fixed document date: reproducible files
    sections: list[Section]
    imprint: Imprint | None = None
    letter: bool = False  # 信函格式: no page number on page 1
    sample: bool = False  # rendered from sample data: carries a visible 样例 mark
    draft: bool = False  # not for issue: carries a 征求意见稿 mark on every page
    author: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def marks(self) -> list[str]:
        """What the top of every page says this document is not: sample data, a draft."""
        return [m for m, on in (("征求意见稿", self.draft), ("样例", self.sample)) if on]
