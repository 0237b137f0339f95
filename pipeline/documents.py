"""One builder per document type: domain models → ``DocumentView``.

Everything a document says is decided here or in the text templates; the writers only lay it out.
"""

from __future__ import annotations

from .model import Task, TaskBook
from .views import (AttachmentHead, AttachmentNote, Addressee, Column, DocumentView, Imprint,
                    Masthead, Notes, Paragraph, RowGroup, Section, Signature, Table, Title,
                    official_date)

PILOT_EXCEPTION = "试点县（市、区）除外"

# The attachment table of the notice: widths in mm of the 225 mm landscape 版心.
NOTICE_COLUMNS = [
    Column("number", "序号", 12, center=True),
    Column("category", "考评项目", 22, center=True),
    Column("name", "考评内容", 42),
    Column("excellent", "优秀", 62, group="考评标准"),
    Column("standard", "达标", 61, group="考评标准"),
    Column("targets", "考评对象", 26, center=True),
]


def task_cells(task: Task) -> dict[str, list[str]]:
    """The cells every task table shows, as printed lines."""
    targets = list(task.targets) + ([PILOT_EXCEPTION] if task.pilot_excluded else [])
    return {
        "id": [task.id],
        "name": [task.name],
        "excellent": task.excellent_lines,
        "standard": task.standard_lines,
        "targets": targets,
    }


def task_table(book: TaskBook, tasks: list[Task], columns: list[Column],
               extra: dict[str, dict[str, list[str]]] | None = None) -> Table:
    """Tasks grouped by category, in table order; ``extra`` adds cells per task id."""
    groups = []
    wanted = {t.id for t in tasks}
    for category in book.table.categories:
        rows = []
        for task in category.tasks:
            if task.id in wanted:
                cells = task_cells(task)
                cells.update((extra or {}).get(task.id, {}))
                rows.append(cells)
        if rows:
            groups.append(RowGroup({"number": str(category.number), "category": category.name}, rows))
    return Table(columns, groups)


def notice(book: TaskBook) -> DocumentView:
    n = book.notice
    table = book.table
    first = Section([
        Masthead(n.masthead, str(n.document_number)),
        Title(list(n.title_lines)),
        Addressee(n.addressees),
        *[Paragraph(text) for text in n.body],
        AttachmentNote([table.title]),
        Signature(n.signature, official_date(n.date)),
    ])
    attachment = Section([
        AttachmentHead("附件", table.title),
        task_table(book, list(book.tasks()), NOTICE_COLUMNS),
        Notes(list(table.notes)),
    ], landscape=True)
    imprint = None
    if n.imprint is not None:
        imprint = Imprint(n.imprint.office, f"{official_date(n.imprint.date)}印发", n.imprint.copy_to)
    return DocumentView("notice", n.title, n.date, [first, attachment], imprint, author=n.issuer)
