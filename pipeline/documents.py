"""One builder per document type: domain models → ``DocumentView``.

Everything a document says is decided here or in the text templates; the writers only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import texts
from .layout import load_layout, mm_to_pt
from .pagination import apply_plan, paginate, plan_closing, wrap
from .model import AssessmentClass, Issuance, Rating, RatingRules, Region, RegionBook, Task, TaskBook
from .rating import Tally, overall, tally
from .views import (AttachmentHead, AttachmentNote, Addressee, Column, DocumentView, Field, Fields,
                    Imprint, Masthead, Notes, Paragraph, RowGroup, Section, Signature, Table,
                    Title, official_date)

PILOT_EXCEPTION = "试点县（市、区）除外"

# The attachment table of the notice: widths in mm of the 225 mm landscape 版心.
NOTICE_COLUMNS = [
    Column("number", "序号", 10, center=True),
    Column("category", "考评项目", 20, center=True),
    Column("name", "考评内容", 36),
    Column("excellent", "优秀", 70, group="考评标准"),
    Column("standard", "达标", 69, group="考评标准"),
    Column("targets", "考评对象", 20, center=True),
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
    return paginate(DocumentView("notice", n.title, n.date, [first, attachment], imprint,
                                 author=n.issuer))


# The checklist a region fills in: the notice's columns plus the id and the columns to fill.
CHECKLIST_COLUMNS = [
    Column("number", "序号", 8, center=True),
    Column("category", "考评项目", 20, center=True),
    Column("id", "编号", 11, center=True),
    Column("name", "考评内容", 28),
    Column("excellent", "优秀", 53.5, group="考评标准"),
    Column("standard", "达标", 53.5, group="考评标准"),
    # wide enough for 未达标 on one line
    Column("self_rating", "自评等次", 15.5, center=True),
    Column("final_rating", "考评等次", 15.5, center=True),
    Column("remarks", "备注/\n佐证材料", 20),  # the label breaks after its slash
]
CHECKLIST_FOOTER = ["填报单位（盖章）", "填报人", "联系电话", "填报日期"]


def checklist_title(book: TaskBook) -> str:
    return f"{book.year}年全省民政工作目标责任制考评表"


# What is filled per document on the one form of a class: the title, the region, the result,
# and the cells of these columns (forms.py lays the form out once and fills it).
FORM_CELLS = ("self_rating", "final_rating", "remarks")
FORM_KIND = "form"
FORM_TITLE = "⟦doc-title⟧"  # the blank form's metadata title, replaced when it is filled


def form(book: TaskBook, cls: AssessmentClass, tasks: list[Task], values: dict[str, str],
         kind: str, name: str, sample: bool = False, region: Region | None = None) -> DocumentView:
    """The assessment form of a class (checklist and report alike): ``values`` fill its slots
    (title, region, result, ``<column>:<task id>`` cells); a slot not given stays blank."""
    cells = {t.id: {key: [values[f"{key}:{t.id}"]] for key in FORM_CELLS if values.get(f"{key}:{t.id}")}
             for t in tasks}
    table = task_table(book, tasks, CHECKLIST_COLUMNS, cells)
    table = Table(table.columns, table.groups, slots=FORM_CELLS)
    section = Section([
        AttachmentHead(None, values.get("title", ""), slot="title"),
        Fields([Field("年度", str(book.year), 4), Field("考评层次", cls.value, 6),
                Field("地区", values.get("region", ""), 12, slot="region")]),
        table,
        Fields([Field("考评结果", values.get("result", ""), 32, slot="result")]),
        Fields([Field(label, "", 8) for label in CHECKLIST_FOOTER]),
    ], landscape=True)
    base_key = (cls.value, tuple(t.id for t in tasks), sample)
    return DocumentView(kind, name, book.notice.date, [section], author=book.notice.issuer,
                        sample=sample,
                        extra={"year": book.year, "level": cls, "region": region, "table": table,
                               "heading": checklist_title(book),
                               "form": FormFill(base_key, dict(values))})


@dataclass(frozen=True)
class FormFill:
    """A document that is its class's form with these slot values (forms.py)."""

    key: tuple  # the form: class, task ids, sample mark (a letter's: see letter_form)
    values: dict

    @property
    def fillable(self) -> bool:
        """Only text that cannot change the layout is filled on a laid-out form: remarks may
        make a row taller, so a document with remarks is laid out on its own."""
        return not any(k.startswith("remarks:") and v for k, v in self.values.items())


def base_form_of(book: TaskBook, letter: bool, key: tuple) -> DocumentView:
    """The blank form of this key (FormFill.key): a letter's, or a checklist's and report's
    (whose key starts with the class)."""
    if letter:
        return letter_form(book, key)
    tasks = [book.task(task_id) for task_id in key[1]]
    return form(book, AssessmentClass(key[0]), tasks, {}, FORM_KIND, FORM_TITLE, sample=key[2])


def checklist(book: TaskBook, cls: AssessmentClass, region: Region | None = None) -> DocumentView:
    """A blank checklist of the tasks that apply to a class, or to one region of it."""
    tasks = book.tasks_for_region(region) if region else book.tasks_for(cls)
    title = checklist_title(book)
    values = {"title": title, "region": region.name if region else ""}
    name = f"{title}（{region.name if region else cls.value}）"
    return form(book, cls, tasks, values, "checklist", name, region=region)


# --- from the results -------------------------------------------------------------------


@dataclass(frozen=True)
class RegionOutcome:
    """One region's rated tasks and what they add up to."""

    region: Region
    results: dict  # task id → TaskResult
    tally: Tally
    rating: Rating


def outcome(rules: RatingRules, region: Region, results: dict) -> RegionOutcome:
    ratings = {task_id: r.rating for task_id, r in results.items()}
    return RegionOutcome(region, results, tally(ratings), overall(rules, ratings))


def report_title(book: TaskBook, region: Region) -> str:
    return f"{region.name}{book.year}年度民政工作目标责任制考评报告"


def report(book: TaskBook, o: RegionOutcome, sample: bool = False) -> DocumentView:
    """The filled assessment report: the region's form with its ratings and the result."""
    values = {"title": report_title(book, o.region), "region": o.region.name,
              "result": result_text(o)}
    for task_id, r in o.results.items():
        values[f"final_rating:{task_id}"] = r.rating.value
        if r.self_rating:
            values[f"self_rating:{task_id}"] = r.self_rating.value
        if r.remarks:
            values[f"remarks:{task_id}"] = r.remarks
    return form(book, o.region.assessment_class, book.tasks_for_region(o.region), values, "report",
                report_title(book, o.region), sample=sample, region=o.region)


# The letter's attachment: the region's results, no criteria (they came with the notice).
# Widths in mm of the 156 mm portrait 版心.
RESULT_COLUMNS = [
    Column("number", "序号", 12, center=True),
    Column("category", "考评项目", 29, center=True),
    Column("id", "编号", 12, center=True),
    Column("name", "考评内容", 63),
    Column("self_rating", "自评等次", 20, center=True),
    Column("final_rating", "考评等次", 20, center=True),
]


def results_title(book: TaskBook, region: Region) -> str:
    return f"{region.name}{book.year}年度民政工作目标责任制考评结果"


def tally_sentence(o: RegionOutcome) -> str:
    t = o.tally
    return (f"考评任务共{t.total}项：优秀{t.excellent}项，达标{t.standard}项，未达标{t.failed}项。"
            f"总体考评等次：{o.rating.value}。")


def result_text(o: RegionOutcome) -> str:
    """The form's 考评结果 field."""
    t = o.tally
    return f"共{t.total}项，优秀{t.excellent}项，达标{t.standard}项，未达标{t.failed}项；总体等次：{o.rating.value}"


# What a letter fills on its class's form (the results table): the title, these cells, the tally.
LETTER_CELLS = ("self_rating", "final_rating")


def _results_blocks(book: TaskBook, tasks: list[Task], values: dict[str, str],
                    reserve: tuple[int, int] = (0, 0)) -> list:
    """The letter's attachment; ``reserve``: on the blank form, the title's and the tally's
    lines (their room is kept, their text filled per letter)."""
    cells = {t.id: {key: [values[f"{key}:{t.id}"]] if values.get(f"{key}:{t.id}") else []
                    for key in LETTER_CELLS} for t in tasks}
    table = task_table(book, tasks, RESULT_COLUMNS, cells)
    return [
        AttachmentHead("附件", values.get("title", ""), slot="title", reserve=reserve[0]),
        Table(table.columns, table.groups, slots=LETTER_CELLS),
        Paragraph(values.get("tally", ""), "plain", slot="tally", reserve=reserve[1]),
    ]


def _filler() -> Section:
    """The page standing for a letter's first part on its blank form: the attachment starts on
    a page of its own after it. The attachment's pages carry no page numbers on the form (each
    letter's are stamped on, counted from its own first part: forms.py), so one form serves
    letters whose first part takes one page or two."""
    return Section([Paragraph("\u3000", "plain")])


def text_lines(text: str, size_pt: float, chars: float | None = None) -> int:
    """Lines of a text across the 版心 at a type size (pagination.py's estimate)."""
    layout = load_layout()
    return len(wrap(text, chars or mm_to_pt(layout.text_width) / size_pt))


def letter_form(book: TaskBook, key: tuple) -> DocumentView:
    """A letter's blank form: the results table of a class (its tasks), after a page standing
    for the letter's first part, with room for a title and a tally of so many lines. The pages
    the first part takes (the key's fifth item) do not change the form: it is made as for one."""
    _, level, task_ids, sample, _, title_lines, tally_lines = key
    tasks = [book.task(task_id) for task_id in task_ids]
    attachment = Section(_results_blocks(book, tasks, {}, (title_lines, tally_lines)))
    return DocumentView("letter", FORM_TITLE, book.notice.date, [_filler(), attachment],
                        letter=True, sample=sample, author=book.notice.issuer,
                        extra={"form": FormFill(key[:4] + (1,) + key[5:], {}), "numbers_stamped": True})


def letter(book: TaskBook, issuance: Issuance, index: int, o: RegionOutcome,
           sample: bool = False) -> DocumentView:
    """The rating letter (函, 信函格式) with the region's results as its 附件."""
    settings = issuance.letters
    failed = [book.task(task_id) for task_id, r in o.results.items() if r.rating is Rating.FAILED]
    failed.sort(key=lambda t: tuple(int(x) for x in t.id.split(".")))
    title, body = texts.render(
        "letter.j2", year=book.year, region=o.region.name, recipient=o.region.addressee,
        notice_title=book.notice.title, notice_number=str(book.notice.document_number),
        rating=o.rating.value, tally=o.tally, failed_tasks=failed,
        attachment_title=results_title(book, o.region))
    number = settings.document_number.number(index)
    first = Section([
        Masthead(settings.masthead, str(number), style="letter"),
        Title(title),
        Addressee(o.region.addressee),
        *body,
        AttachmentNote([results_title(book, o.region)]),
        Signature(settings.issuer, official_date(settings.date)),
    ])
    tasks = book.tasks_for_region(o.region)
    values = {"title": results_title(book, o.region), "tally": tally_sentence(o)}
    for task_id, r in o.results.items():
        values[f"final_rating:{task_id}"] = r.rating.value
        if r.self_rating:
            values[f"self_rating:{task_id}"] = r.self_rating.value
    attachment = Section(_results_blocks(book, tasks, values))
    plan = plan_closing(first)
    # the form its attachment fills (forms.py): the class's tasks, after the pages the first
    # part is planned to take, with room for the title's and the tally's lines
    layout = load_layout()
    key = ("letter", o.region.assessment_class.value, tuple(t.id for t in tasks), sample, plan.pages,
           text_lines(values["title"], layout.sizes_pt.title),
           text_lines(values["tally"], layout.sizes_pt.body, layout.grid.chars))
    return apply_plan(DocumentView("letter", "".join(title), settings.date, [first, attachment],
                                   letter=True, sample=sample, author=settings.issuer,
                                   extra={"number": str(number),
                                          "form": FormFill(key, values)}), plan)


SUMMARY_COLUMNS = [
    Column("level", "考评层次", 30, center=True),
    Column("region", "地区", 55, center=True),
    Column("excellent", "优秀项数", 30, center=True),
    Column("standard", "达标项数", 30, center=True),
    Column("failed", "未达标项数", 30, center=True),
    Column("rating", "总体等次", 50, center=True),
]


def summary(book: TaskBook, regions: RegionBook, issuance: Issuance,
            outcomes: list[RegionOutcome], incomplete: list[str], sample: bool = False,
            draft: bool = False) -> DocumentView:
    """The province-wide 通报: regions grouped by class and rating, in the regions file's order."""
    s = issuance.summary
    by_region = {o.region.name: o for o in outcomes}
    groups, table_groups = [], []
    for cls in AssessmentClass:
        members = [by_region[r.name] for r in regions.in_class(cls) if r.name in by_region]
        if not members:
            continue
        groups.append({"level": cls.value, "total": len(members),
                       "ratings": [(rating.value, [o.region.name for o in members if o.rating is rating])
                                   for rating in Rating]})
        table_groups.append(RowGroup({"level": cls.value}, [
            {"id": [o.region.name], "region": [o.region.name], "excellent": [str(o.tally.excellent)],
             "standard": [str(o.tally.standard)], "failed": [str(o.tally.failed)],
             "rating": [o.rating.value]} for o in members]))
    title, body = texts.render(
        "summary.j2", year=book.year, notice_title=book.notice.title,
        notice_number=str(book.notice.document_number), groups=groups, incomplete=incomplete)
    attachment_title = f"{book.year}年度全省民政工作目标责任制考评结果"
    first = Section([
        Masthead(s.masthead, str(s.document_number)),
        Title(title),
        Addressee(book.notice.addressees),
        *body,
        AttachmentNote([attachment_title]),
        Signature(s.issuer, official_date(s.date)),
    ])
    attachment = Section([AttachmentHead("附件", attachment_title),
                          Table(SUMMARY_COLUMNS, table_groups, slots=SUMMARY_CELLS)], landscape=True)
    imprint = None
    if s.imprint is not None:
        imprint = Imprint(s.imprint.office, f"{official_date(s.imprint.date)}印发", s.imprint.copy_to)
    # what the 通报 fills on its form (forms.py): each region's counts and rating; the key holds
    # the pages the body is planned to take (the form's attachment starts after as many)
    values = {f"{key}:{row['id'][0]}": row[key][0]
              for group in table_groups for row in group.rows for key in SUMMARY_CELLS}
    plan = plan_closing(first)  # (planned once: its pages name the form, and it is applied)
    return apply_plan(DocumentView("summary", "".join(title), s.date, [first, attachment], imprint,
                                   sample=sample, draft=draft, author=s.issuer,
                                   extra={"form": FormFill(("summary", plan.pages), values)}), plan)


# What the 通报 fills per build on its form: the cells of these columns, a row per region
SUMMARY_CELLS = ("excellent", "standard", "failed", "rating")


def summary_form(view: DocumentView, pages: int) -> DocumentView:
    """The 通报's blank form: pages standing for a body of ``pages`` pages, then the attachment
    (the table, each region's row with its counts and rating left blank) and the 版记 page,
    as a full layout sets them after such a body: the same page numbers, and the same §7.5
    decision (a blank page before the 版记 page or not). Its pages after the body are the
    通报's own, the cells stamped on (forms.py)."""
    table = next(b for b in view.sections[1].blocks if b.kind == "table")
    blank = Table(table.columns, [RowGroup(g.spanned, [{k: v for k, v in row.items() if k not in SUMMARY_CELLS}
                                                       for row in g.rows]) for g in table.groups],
                  slots=table.slots)
    attachment = replace(view.sections[1], blocks=[blank if b is table else b for b in view.sections[1].blocks])
    return replace(view, sections=[_body_pages(pages), attachment],
                   extra={"form": FormFill(("summary", pages), {})})


def _body_pages(pages: int) -> Section:
    """The pages standing for a document's body on a blank form: ``pages`` pages, each
    holding one blank line."""
    return Section([Paragraph("\u3000", "plain")]
                   + [Paragraph("\u3000", "plain", break_at=0) for _ in range(pages - 1)])
