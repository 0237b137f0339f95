"""One builder per document type: domain models → ``DocumentView``.

Everything a document says is decided here or in the text templates; the writers only lay it out.
"""

from __future__ import annotations

from .model import AssessmentClass, Region, Task, TaskBook
from .views import (AttachmentHead, AttachmentNote, Addressee, Column, DocumentView, Fields,
                    Imprint, Masthead, Notes, Paragraph, RowGroup, Section, Signature, Table,
                    Title, official_date)

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


# The checklist a region fills in: the notice's columns plus the id and the columns to fill.
CHECKLIST_COLUMNS = [
    Column("number", "序号", 10, center=True),
    Column("category", "考评项目", 18, center=True),
    Column("id", "编号", 12, center=True),
    Column("name", "考评内容", 34),
    Column("excellent", "优秀", 47, group="考评标准"),
    Column("standard", "达标", 44, group="考评标准"),
    Column("self_rating", "自评等次", 15, center=True),
    Column("final_rating", "考评等次", 15, center=True),
    Column("remarks", "备注/佐证材料", 30),
]
CHECKLIST_FOOTER = ["填报单位（盖章）", "填报人", "联系电话", "填报日期"]


def checklist_title(book: TaskBook) -> str:
    return f"{book.year}年全省民政工作目标责任制考评表"


def checklist(book: TaskBook, cls: AssessmentClass, region: Region | None = None) -> DocumentView:
    """A blank checklist of the tasks that apply to a class, or to one region of it."""
    tasks = book.tasks_for_region(region) if region else book.tasks_for(cls)
    title = checklist_title(book)
    table = task_table(book, tasks, CHECKLIST_COLUMNS)
    section = Section([
        AttachmentHead(None, title),
        Fields([("年度", str(book.year)), ("考评层次", cls.value),
                ("地区", region.name if region else "")]),
        table,
        Fields([(label, "") for label in CHECKLIST_FOOTER]),
    ], landscape=True)
    name = f"{title}（{region.name if region else cls.value}）"
    return DocumentView("checklist", name, book.notice.date, [section], author=book.notice.issuer,
                        extra={"year": book.year, "level": cls, "region": region,
                               "table": table, "heading": title})
