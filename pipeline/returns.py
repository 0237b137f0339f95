"""A returned checklist read by the form's own structure.

The form wrote fixed cells (year, class, region), one header row, one row per task (编号, 考评内容
and the criteria, in table order) and a footer (填报单位（盖章）, 填报人, 联系电话, 填报日期).
Reading finds those rows by what they say, not by position: a deleted, added, altered or moved
task row is an error naming the task and its cell; the footer's fields are kept with the return;
a value anywhere else is named and ignored. The workbook is read once, streaming
(``xlsxstream``): a file declaring a million rows costs what its few cells cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .content import Content
from .errors import Cell, DataError, Problem
from .model import Task

MAX_XLSX_BYTES = 20 * 1024 * 1024
MAX_XLSX_UNPACKED = 100 * 1024 * 1024  # a zip bomb posing as a workbook stops here
SPARE_ROWS = 100  # rows read past the form's own, for added rows and a footer pushed down
OUTSIDE_NAMED = 5  # values outside the form named one by one; the rest counted

_SPACE = re.compile(r"\s+")
_HYPERLINK = re.compile(r'^=?\s*HYPERLINK\(\s*"([^"]*)"', re.IGNORECASE)


def task_label(task: Task) -> str:
    """How every message names a task: 第 7.1 项“城乡社区协商全面推进”; quotes inside the name
    become single ones (GB/T 15834: 第 1.1 项“实施‘脱贫攻坚……’”)."""
    return f"第 {task.id} 项“{task.name.translate(_INNER_QUOTES)}”"


_INNER_QUOTES = str.maketrans("“”", "‘’")


@dataclass(frozen=True)
class Footer:
    """The footer a region's office fills under the table, as written (a date as 2026年12月1日)."""

    unit: str = ""  # 填报单位（盖章）
    person: str = ""  # 填报人
    phone: str = ""  # 联系电话
    date: str = ""  # 填报日期
    cells: dict = field(default_factory=dict)  # label → the cell its value was read from

    LABELS = ("填报单位（盖章）", "填报人", "联系电话", "填报日期")

    def items(self) -> list[tuple[str, str]]:
        """(label, value) in the form's order, for a page or a message."""
        return list(zip(self.LABELS, (self.unit, self.person, self.phone, self.date)))

    @property
    def filled(self) -> bool:
        return any(value for _, value in self.items())


@dataclass
class Return:
    """One returned checklist as read: its region, task rows, footer, warnings and problems.

    ``problems`` non-empty: the return is 有误 and nothing of it is collected. ``warnings``: it is
    accepted, but the clerk should look (a file named after another region, values outside the
    form, which were ignored); list them first. ``results``: the checked ratings when accepted."""

    name: str
    region: str | None = None
    level: str = ""
    records: list = field(default_factory=list)  # results.Record, one per task row
    footer: Footer = field(default_factory=Footer)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    results: object = None  # results.Results

    @property
    def accepted(self) -> bool:
        return not self.problems and self.results is not None


def _clean(text: str) -> str:
    return _SPACE.sub("", text or "")


def read_return(path: Path | None, content: Content, data: bytes | None = None, name: str | None = None,
                filename: str | None = None) -> Return:
    """Read and check one returned checklist; never raises for what is in the file (its problems
    are in ``problems``). ``data``: the bytes when they did not come from ``path`` (an upload);
    ``filename``: the name the file came under (default: ``name``), checked against the region."""
    from .textfile import display_path, read_bytes

    name = name or display_path(path)
    result = Return(name)
    try:
        if data is None:
            data = read_bytes(path, MAX_XLSX_BYTES)
        _read(data, content, result)
    except DataError as exc:
        result.problems.extend(exc.problems)
    held = bool(result.region and not result.problems)  # the form's structure held: its name is checked
    if result.records:  # the form's structure held: every cell's own problems too
        from .results import check_records
        try:
            checked = check_records(result.records, content, name, "XLSX")
        except DataError as exc:
            result.problems.extend(exc.problems)
        else:
            if not result.problems:
                result.results = checked
    if not result.problems and (result.results is None or not result.results.by_region):
        from .results import NOTHING_FILLED
        result.problems.append(Problem(name, None, NOTHING_FILLED))
    if held:  # after every check: a refused return is not said to be taken in
        _check_file_name(filename or name, result, [r.name for r in content.regions.regions])
    return result


def _check_file_name(filename: str, result: Return, regions: list[str]) -> None:
    """A file named after another region than the form's: accepted for the form's, said (a
    refused one is only told to check: it was not taken in)."""
    from .writers.xlsx import REGION_CELL, SHEET

    stem = Path(filename.replace("\\", "/")).stem
    if result.region in stem:
        return
    named = [n for n in regions if n in stem]
    named = [n for n in named if not any(n != m and n in m for m in named)]
    if named:
        taken = "" if result.problems else accepted_as(result.region)
        result.warnings.insert(0, Problem(result.name, Cell(SHEET, REGION_CELL),
                                          f"文件名写的是{'、'.join(named)}，表内填写的地区是{result.region}；"
                                          f"{taken}请核对是否交错了文件"))


def accepted_as(region: str) -> str:
    """The clause of a file-name warning that says the return was taken in (dropped when it
    is refused after all)."""
    return f"已作为{region}的考评表接收，"


def _read(data: bytes, content: Content, out: Return) -> None:
    from .documents import CHECKLIST_COLUMNS, task_cells
    from .writers.xlsx import (FOOTER_CELLS, HEADER_ROW, LEVEL_CELL, REGION_CELL, SHEET, YEAR_CELL,
                               header_label)
    from .xlsxstream import Package, PackageError, _split_ref, display, read_sheet, sheet_part

    name = out.name
    book = content.tasks
    width = len(CHECKLIST_COLUMNS)
    form_columns = range(1, width + 1)
    col = {c.key: i + 1 for i, c in enumerate(CHECKLIST_COLUMNS)}
    try:
        package = Package(data, MAX_XLSX_BYTES, MAX_XLSX_UNPACKED)
        part, sheets, date1904 = sheet_part(package, SHEET)
        if part is None:
            present = f"（工作簿中只有：{'、'.join(sheets)}）" if sheets else ""
            raise DataError(Problem(name, None, f"找不到工作表“{SHEET}”{present}，请用本系统生成的考评表填写"))
        box_rows = HEADER_ROW + len(list(book.tasks())) + 2 + SPARE_ROWS
        sheet = read_sheet(package, part, box_rows, width, date1904)
    except PackageError as exc:
        message = str(exc) if "XLSX" in str(exc) else f"XLSX 文件无法读取（{exc}），请用本系统生成的考评表填写"
        raise DataError(Problem(name, None, message)) from None

    def at(row: int, column: int) -> Cell:
        from openpyxl.utils.cell import get_column_letter
        return Cell(SHEET, f"{get_column_letter(column)}{row}")

    def text(row: int, column: int) -> str:
        return sheet.text(row, column)

    problems: list[Problem] = []  # raised (the form's structure) or, once the rows are read, kept

    def value(row: int, column: int, label: str = "") -> str:
        """What a clerk sees in an input cell: a formula's saved value (reported when there is
        none), a link's target kept beside its text."""
        cell = sheet.cells.get((row, column))
        if cell is None:
            return ""
        shown = display(cell, sheet.date1904)
        if cell.formula is not None and not shown:
            formula = f"（={cell.formula}）" if cell.formula else ""
            problems.append(Problem(name, at(row, column), f"{label or '单元格'}是公式{formula}，但文件中没有它的计算结果；"
                                                           "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字"))
            return ""
        target = cell.link
        if not target and cell.formula and (match := _HYPERLINK.match(cell.formula)):
            target = match.group(1)
        if target and target not in shown:
            shown = f"{shown}（{target}）" if shown else target
        return shown

    # the fixed cells
    year_at, level_at, region_at = (_split_ref(c) for c in (YEAR_CELL, LEVEL_CELL, REGION_CELL))
    if text(*year_at) != str(book.year):
        problems.append(Problem(name, Cell(SHEET, YEAR_CELL), f"年度应为 {book.year}，现在是“{text(*year_at)}”"))
    region_name = value(*region_at)
    region = content.region(region_name)  # None for an empty name too
    if region is None and region_name:
        from .results import suggest
        problems.append(Problem(name, Cell(SHEET, REGION_CELL), f"地区“{region_name}”不在地区名单中，请填写地区全称"
                                                                f"{suggest(region_name, content)}"))
    elif region is None:
        problems.append(Problem(name, Cell(SHEET, REGION_CELL), "未填写地区名称"))
    else:
        out.region = region.name
    out.level = _clean(text(*level_at))
    if region is not None and out.level != _clean(region.assessment_class.value):
        problems.append(Problem(name, Cell(SHEET, LEVEL_CELL),
                                f"这是“{text(*level_at)}”的考评表，{region.name}属于“{region.assessment_class.value}”，"
                                f"请用{region.name}的考评表填写"))
    labels = [_clean(text(HEADER_ROW, c)) for c in form_columns]
    if labels != [_clean(header_label(c)) for c in CHECKLIST_COLUMNS]:
        problems.append(Problem(name, at(HEADER_ROW, 1), "表头已被改动，请用本系统生成的考评表重新填写"))
    if problems:
        raise DataError(problems)

    # the footer: the first row under the header that starts with its first label
    rows_with_values = sorted({r for (r, _c), cell in sheet.cells.items()
                               if cell.value not in (None, "") or cell.formula is not None})
    first_label = _clean(FOOTER_CELLS[0][0])
    footer_row = next((r for r in rows_with_values if r > HEADER_ROW and _clean(text(r, 1)).startswith(first_label)),
                      None)
    last_row = footer_row + max(f[1] for f in FOOTER_CELLS) if footer_row else sheet_rows(rows_with_values)
    if footer_row:
        out.footer = _read_footer(footer_row, width, FOOTER_CELLS, text, value, at)

    # the task rows
    form_tasks = book.tasks_for(region.assessment_class)
    needed = book.tasks_for_region(region)
    order = {t.id: i for i, t in enumerate(form_tasks)}
    by_name = {t.name: t for t in form_tasks}
    category = {t.id: c for c in book.table.categories for t in c.tasks}
    found: dict[str, int] = {}  # task id → its row (a good row)
    seen: set[str] = set()  # task ids with a row (good or not): not deleted
    own: dict[str, int] = {}  # task id → the row carrying its 编号 and its own content (good or altered)
    good_rows: list[tuple[int, Task]] = []
    columns = CHECKLIST_COLUMNS
    table_end = (footer_row - 1) if footer_row else last_row
    previous: Task | None = None
    for row in range(HEADER_ROW + 1, table_end + 1):
        cells = {c.key: text(row, col[c.key]) for c in columns}
        if not any(cells.values()) and not any((row, c) in sheet.cells and sheet.cells[(row, c)].formula is not None
                                               for c in form_columns):
            continue
        task_id = cells["id"]
        task = next((t for t in form_tasks if t.id == task_id), None)
        expected = _expected(task, category, task_cells) if task else None
        mismatch = next((k for k in expected if cells[k] != expected[k]), None) if task else None
        if task is not None and task.id in own:
            problems.append(Problem(name, at(row, col["id"]),
                                    f"{task_label(task)}有两行（第 {own[task.id]} 行和第 {row} 行），请删除多出的一行"))
            continue
        if task is not None and mismatch is None:
            found[task.id] = own[task.id] = row
            seen.add(task.id)
            good_rows.append((row, task))
            previous = task
            continue
        other = by_name.get(cells["name"])
        if other is not None and task is not None and other.id == task.id:
            other = None
        if other is not None:
            other_cells = _expected(other, category, task_cells)
            if any(cells[k] != other_cells[k] for k in ("excellent", "standard")):
                other = None
        if task is not None and other is not None:  # another task's row under this 编号: not this task's own
            seen.update((task.id, other.id))
            problems.append(Problem(name, at(row, col["name"]),
                                    f"编号为 {task.id} 的这一行，考评内容和标准却是{task_label(other)}的"
                                    f"（应为{task_label(task)}），行或单元格被挪动过；请用本系统生成的考评表重新填写"))
        elif task is not None:
            seen.add(task.id)
            own[task.id] = row
            label = next(c for c in columns if c.key == mismatch).label
            problems.append(Problem(name, at(row, col[mismatch]),
                                    f"{task_label(task)}的“{label}”已被改动，请用本系统生成的考评表重新填写"))
        elif other is not None:
            seen.add(other.id)
            problems.append(Problem(name, at(row, col["id"]),
                                    f"{task_label(other)}的编号被改成了“{task_id}”，应为 {other.id}；"
                                    "请用本系统生成的考评表重新填写"))
        elif task_id and (elsewhere := book.task(task_id)) is not None:
            problems.append(Problem(name, at(row, col["id"]),
                                    f"{task_label(elsewhere)}不在{region.assessment_class.value}的考评表中，"
                                    "请删除此行"))
        else:
            first = next(c for c in form_columns if text(row, c) or (row, c) in sheet.cells
                         and sheet.cells[(row, c)].formula is not None)
            after = f"位于{task_label(previous)}之后" if previous else "位于表头之下"
            problems.append(Problem(name, at(row, first),
                                    f"第 {row} 行不是考评表原有的任务行（{after}），请删除此行；"
                                    "考评表的行不能增删"))
    # rows out of the table's order: those outside the longest run in order are the moved ones
    in_order = _longest_ordered([order[t.id] for _, t in good_rows])
    for i, (row, task) in enumerate(good_rows):
        if i not in in_order:
            before = [t for t in form_tasks if order[t.id] < order[task.id] and t.id in found]
            where = f"应在{task_label(before[-1])}之后" if before else "应在表头之下"
            problems.append(Problem(name, at(row, col["id"]),
                                    f"{task_label(task)}这一行被移动过（现在第 {row} 行，{where}），请按原顺序放回"))
            del found[task.id]
    for task in needed:
        if task.id in seen:
            continue
        before = [found[t.id] for t in form_tasks if order[t.id] < order[task.id] and t.id in found]
        row = (before[-1] if before else HEADER_ROW) + 1
        problems.append(Problem(name, at(row, col["id"]),
                                f"{task_label(task)}这一行被删除了（应在第 {row} 行），"
                                "请用本系统生成的考评表重新填写"))

    # everything else the clerk wrote: named, ignored
    form_cells = {year_at, level_at, region_at} | {(2, c) for c in range(1, 7)} | {(1, 1)}
    outside = []
    for (row, column), cell in sorted(sheet.cells.items()):
        if cell.value in (None, "") and cell.formula is None:
            continue
        if HEADER_ROW <= row <= last_row or (row, column) in form_cells:
            continue
        outside.append(Cell(SHEET, cell.coordinate))
    outside += [Cell(SHEET, c) for c in sheet.outside]
    count = len(outside) - len(sheet.outside) + sheet.outside_count
    span = f"A1:{at(last_row, width).ref}"
    for place in outside[:OUTSIDE_NAMED]:
        out.warnings.append(Problem(name, place, f"此单元格不在考评表的填写位置（{span}）中，其内容未读取"))
    if count > OUTSIDE_NAMED:
        out.warnings.append(Problem(name, None, f"另有 {count - OUTSIDE_NAMED} 个单元格在考评表的填写位置之外，"
                                                "其内容也未读取"))
    if problems:
        raise DataError(problems)

    from .results import Record
    for row, task in good_rows:  # all in order (a moved row is a problem)
        label = task_label(task)
        values, cells = {}, {"region": Cell(SHEET, REGION_CELL)}
        for key, fkey, what in (("rating", "final_rating", "考评等次"), ("self_rating", "self_rating", "自评等次"),
                                ("remarks", "remarks", "备注")):
            cells[key] = at(row, col[fkey])
            values[key] = value(row, col[fkey], f"{label}的{what}")
        cells["task"] = at(row, col["id"])
        out.records.append(Record(Problem(name, cells["task"], ""), region.name, task.id, values["rating"],
                                  values["self_rating"], values["remarks"], cells))
    out.problems.extend(problems)  # the cells' own problems (a formula without its value), rows read


def sheet_rows(rows_with_values: list[int]) -> int:
    return rows_with_values[-1] if rows_with_values else 0


def _expected(task: Task, category: dict, task_cells) -> dict[str, str]:
    cells = task_cells(task)
    cat = category[task.id]  # every task of a form is in one of the table's categories
    return {"number": str(cat.number), "category": cat.name, "id": task.id,
            **{key: "\n".join(cells[key]) for key in ("name", "excellent", "standard")}}  # as the form prints them


def _longest_ordered(values: list[int]) -> set[int]:
    """Indexes of a longest strictly increasing run (not necessarily contiguous) of ``values``."""
    if not values:
        return set()
    best = [1] * len(values)
    back = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and best[j] + 1 > best[i]:
                best[i], back[i] = best[j] + 1, j
    i = max(range(len(values)), key=lambda k: (best[k], -k))
    keep = set()
    while i != -1:
        keep.add(i)
        i = back[i]
    return keep


def _read_footer(footer_row: int, width: int, fields, text, value, at) -> Footer:
    """Each label's value: what follows the label in its own cell, then the cells to its right
    up to the next label."""
    values, cells = {}, {}
    starts = {(footer_row + offset, column) for _label, offset, column, _value in fields}
    for label, offset, column, value_column in fields:
        row = footer_row + offset
        own = text(row, column)
        found = _clean(own).startswith(_clean(label))
        rest = _after(own, len(_clean(label))).strip().lstrip("：:").strip() if found else ""  # as written
        parts = [rest] if rest else []
        where = at(row, value_column)
        c = column + 1
        while c <= width and (row, c) not in starts:
            part = value(row, c, f"表尾的“{label}”")
            if part:
                parts.append(part)
                where = at(row, c) if len(parts) == 1 else where
            c += 1
        values[label] = " ".join(parts)
        cells[label] = where
    return Footer(*(values[label] for label in Footer.LABELS), cells=cells)


def _after(text: str, count: int) -> str:
    """``text`` after its first ``count`` characters that are not whitespace."""
    for i, ch in enumerate(text):
        if count == 0:
            return text[i:]
        if not ch.isspace():
            count -= 1
    return ""
