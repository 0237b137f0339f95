"""Collected ratings: a results CSV, or the filled XLSX checklists the pipeline produced.

Every problem names the file and row (CSV) or sheet and cell (XLSX) and what to fix.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .content import Content
from .errors import DataError, Problem
from .model import Rating, Region
from .textfile import check_control_characters, display_path, read_bytes

MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_XLSX_BYTES = 20 * 1024 * 1024
MAX_XLSX_UNPACKED = 100 * 1024 * 1024  # a zip bomb posing as a workbook stops here

COLUMNS = {"地区": "region", "编号": "task", "等次": "rating", "自评等次": "self_rating",
           "备注": "remarks"}
REQUIRED = ("地区", "编号", "等次")
RATINGS = "、".join(r.value for r in Rating)


@dataclass(frozen=True)
class TaskResult:
    rating: Rating
    self_rating: Rating | None = None
    remarks: str = ""


@dataclass(frozen=True)
class Record:
    """One rating as read, with where it came from (for messages)."""

    where: Problem  # file and line/cell; message unused
    region: str
    task: str
    rating: str
    self_rating: str = ""
    remarks: str = ""


@dataclass
class Results:
    source: str
    encoding: str
    by_region: dict[str, dict[str, TaskResult]] = field(default_factory=dict)

    @property
    def sample(self) -> bool:
        """Results from a file named as sample data: documents carry a 样例 mark."""
        return "sample" in Path(self.source).name.lower() or "样例" in Path(self.source).name

    def regions(self, content: Content) -> list[Region]:
        """The regions with any rating, in the order of the regions file."""
        return [r for r in content.regions.regions if r.name in self.by_region]

    def missing(self, content: Content, region: Region) -> list[str]:
        rated = self.by_region.get(region.name, {})
        return [t.id for t in content.tasks.tasks_for_region(region) if t.id not in rated]


def _problem(where: Problem, message: str) -> Problem:
    return Problem(where.file, where.line, message)


def _place(where: Problem) -> str:
    return f"第 {where.line} 行" if isinstance(where.line, int) else str(where.line)


def check_records(records: list[Record], content: Content, source: str, encoding: str) -> Results:
    """Every rule of CONTRACT.md's results input; every problem collected."""
    problems: list[Problem] = []
    results = Results(source, encoding)
    first_seen: dict[tuple[str, str], Problem] = {}
    for rec in records:
        region = content.region(rec.region)
        if region is None:
            problems.append(_problem(rec.where, f"地区“{rec.region}”不在地区名单中，请按名单填写全称"))
            continue
        task = content.tasks.task(rec.task.strip())
        if task is None:
            problems.append(_problem(rec.where, f"编号“{rec.task}”不在任务表中（应如 14.4）"))
            continue
        if task not in content.tasks.tasks_for_region(region):
            problems.append(_problem(
                rec.where, f"第 {task.id} 项不适用于{region.name}（{region.assessment_class.value}），请删除此行"))
            continue
        try:
            rating = Rating(rec.rating.strip())
        except ValueError:
            problems.append(_problem(rec.where, f"等次“{rec.rating}”无效，应为 {RATINGS} 之一"))
            continue
        self_rating = None
        if rec.self_rating.strip():
            try:
                self_rating = Rating(rec.self_rating.strip())
            except ValueError:
                problems.append(_problem(rec.where, f"自评等次“{rec.self_rating}”无效，应为 {RATINGS} 之一"))
                continue
        key = (region.name, task.id)
        if key in first_seen:
            problems.append(_problem(rec.where, f"{region.name}第 {task.id} 项重复（与{_place(first_seen[key])}重复），请只保留一处"))
            continue
        first_seen[key] = rec.where
        results.by_region.setdefault(region.name, {})[task.id] = TaskResult(rating, self_rating, rec.remarks.strip())
    if problems:
        raise DataError(problems)
    return results


# --- CSV ---------------------------------------------------------------------------------


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 as Excel writes on Chinese Windows."""
    if b"\x00" in data[:8192]:
        raise DataError(Problem(name, None, "这不是文本文件（含二进制内容），请另存为 CSV 后重试"))
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
    # Some lines UTF-8 with Chinese, others not: two files pasted together; GB18030 would
    # "succeed" and garble the UTF-8 lines, so refuse and say where
    for line in data.split(b"\n"):
        if any(b > 0x7F for b in line):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            raise DataError(Problem(name, bad_line,
                                    "文件混用了多种编码（有的行是 UTF-8，此行不是），请整体另存为“CSV UTF-8”"))
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(Problem(name, line, "无法识别文件编码（既不是 UTF-8 也不是 GB18030），请用“CSV UTF-8”另存")) from None


def read_csv_records(path: Path) -> tuple[list[Record], str]:
    name = display_path(path)
    text, encoding = decode_csv(read_bytes(path, MAX_CSV_BYTES), name)
    check_control_characters(text.replace("\r", ""), name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise DataError(Problem(name, None, "文件为空，应有表头行：地区,编号,等次[,自评等次,备注]"))
        header = [h.strip() for h in header]
        problems = []
        for column in REQUIRED:
            if column not in header:
                problems.append(Problem(name, reader.line_num, f"表头缺少“{column}”列（表头应为：地区,编号,等次[,自评等次,备注]）"))
        for column in header:
            if column and column not in COLUMNS:
                problems.append(Problem(name, reader.line_num, f"无法识别的列“{column}”，可用的列：{'、'.join(COLUMNS)}"))
        if len(set(header)) != len(header):
            problems.append(Problem(name, reader.line_num, "表头有重复的列"))
        if problems:
            raise DataError(problems)
        index = {COLUMNS[h]: i for i, h in enumerate(header) if h}
        records = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) != len(header):
                problems.append(Problem(name, line, f"此行有 {len(row)} 列，表头有 {len(header)} 列，请检查逗号"))
                continue
            values = {key: row[i] for key, i in index.items()}
            records.append(Record(Problem(name, line, ""), values["region"].strip(), values["task"].strip(),
                                  values["rating"], values.get("self_rating", ""), values.get("remarks", "")))
    except csv.Error as exc:
        raise DataError(Problem(name, reader.line_num, f"CSV 格式错误：{exc}")) from None
    if problems:
        raise DataError(problems)
    return records, encoding


# --- XLSX (returned checklists) -----------------------------------------------------------


def open_workbook(path: Path):
    """openpyxl, after checking the file is a real, reasonably sized workbook."""
    name = display_path(path)
    data = read_bytes(path, MAX_XLSX_BYTES)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DataError(Problem(name, None, "这不是 XLSX 工作簿（不是 zip 格式），请用本系统生成的考评表填写"))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(Problem(name, None, "XLSX 文件已损坏，无法打开")) from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise DataError(Problem(name, None, f"XLSX 解压后过大（{unpacked // 1024 // 1024} MiB），拒绝读取"))
    from openpyxl import load_workbook
    try:
        return load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many kinds on malformed packages
        raise DataError(Problem(name, None, "XLSX 文件无法读取（内容不完整或不是考评表）")) from None


def read_xlsx_records(path: Path, content: Content) -> list[Record]:
    from .documents import CHECKLIST_COLUMNS, task_cells
    from .writers.xlsx import HEADER_ROW, LEVEL_CELL, REGION_CELL, SHEET, YEAR_CELL, header_label

    name = display_path(path)
    wb = open_workbook(path)
    if SHEET not in wb.sheetnames:
        raise DataError(Problem(name, None, f"找不到工作表“{SHEET}”，请用本系统生成的考评表填写"))
    ws = wb[SHEET]

    def at(cell: str) -> Problem:
        return Problem(name, f"{SHEET}!{cell}", "")

    def text(cell) -> str:
        return "" if cell.value is None else str(cell.value).strip()

    problems = []
    if str(ws[YEAR_CELL].value) != str(content.tasks.year):
        problems.append(_problem(at(YEAR_CELL), f"年度应为 {content.tasks.year}，现在是“{ws[YEAR_CELL].value}”"))
    region_name = text(ws[REGION_CELL])
    region = content.region(region_name) if region_name else None
    if region is None:
        problems.append(_problem(at(REGION_CELL), f"地区“{region_name}”不在地区名单中，请填写地区全称"
                                 if region_name else "未填写地区名称"))
    labels = [text(c) for c in ws[HEADER_ROW]][:len(CHECKLIST_COLUMNS)]
    if labels != [header_label(c) for c in CHECKLIST_COLUMNS]:
        problems.append(_problem(at(f"A{HEADER_ROW}"), "表头已被改动，请用本系统生成的考评表重新填写"))
    if problems:
        raise DataError(problems)
    col = {c.key: i for i, c in enumerate(CHECKLIST_COLUMNS)}
    records = []
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        task_id = text(row[col["id"]]) if len(row) > col["id"] else ""
        if not task_id:
            continue
        where = at(row[col["id"]].coordinate)
        task = content.tasks.task(task_id)
        if task is not None:
            expected = task_cells(task)
            for key in ("name", "excellent", "standard"):
                if text(row[col[key]]) != "\n".join(expected[key]):
                    problems.append(_problem(at(row[col[key]].coordinate),
                                             f"第 {task.id} 项的考评内容或标准已被改动，请用本系统生成的考评表重新填写"))
                    break
        final = text(row[col["final_rating"]])
        if not final:
            continue  # not yet rated by the department: reported as missing later
        records.append(Record(where, region.name, task_id, final, text(row[col["self_rating"]]),
                              text(row[col["remarks"]])))
    if problems:
        raise DataError(problems)
    return records


# --- entry points ---------------------------------------------------------------------------


def load_results(path: Path, content: Content) -> Results:
    name = display_path(path)
    if path.suffix.lower() == ".xlsx":
        return check_records(read_xlsx_records(path, content), content, name, "XLSX")
    records, encoding = read_csv_records(path)
    return check_records(records, content, name, encoding)


def collect(paths: list[Path], content: Content) -> tuple[list[Record], list[Problem]]:
    """Records from many returned checklists; problems of all files gathered."""
    records, problems = [], []
    for path in paths:
        try:
            records += read_xlsx_records(path, content)
        except DataError as exc:
            problems += exc.problems
    if not problems:
        try:
            check_records(records, content, "（汇总）", "XLSX")
        except DataError as exc:
            problems += exc.problems
    return records, problems


def records_csv(records: list[Record]) -> bytes:
    """A results CSV in the contract's columns; UTF-8 with BOM so Excel opens it right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["地区", "编号", "等次", "自评等次", "备注"])
    for r in records:
        writer.writerow([r.region, r.task, r.rating, r.self_rating, r.remarks])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
