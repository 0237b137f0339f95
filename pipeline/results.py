"""Collected ratings: a results CSV, or the filled XLSX checklists the pipeline produced.

The year has two steps (CONTRACT.md): regions return their checklists with self-ratings
(自评等次); the department then sets the final ratings (考评等次). A row may carry either or
both; every one of them is kept. Every problem names the file and row (CSV) or the sheet and
the very cell (XLSX) and says what to fix.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .content import Content
from .errors import DataError, Problem
from .model import Rating, Region
from .returns import MAX_XLSX_BYTES, MAX_XLSX_UNPACKED, Footer, Return, read_return, task_label  # noqa: F401
from .textfile import check_control_characters, display_path, read_bytes
from .writers.xlsx import REMARKS_LIMIT

MAX_CSV_BYTES = 20 * 1024 * 1024
NOTHING_FILLED = "工作簿中没有填写任何等次"

COLUMNS = {"地区": "region", "编号": "task", "等次": "rating", "自评等次": "self_rating",
           "备注": "remarks"}
REQUIRED = ("地区", "编号", "等次")
RATINGS = "、".join(r.value for r in Rating)
HEADER_HINT = "地区,编号,等次[,自评等次,备注]"

# OWASP "CSV injection": a cell starting with one of these runs as a formula in Excel or WPS
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TaskResult:
    rating: Rating | None  # 考评等次; None until the department has assessed the task
    self_rating: Rating | None = None
    remarks: str = ""
    where: str = ""  # where the final rating is (or belongs), for messages: a line or a cell

    def __repr__(self) -> str:
        """The dataclass's own repr, character for character (what a report's and a letter's
        views are made from, fingerprint.made_from: a province's 2670 results written out for
        every build), without its recursion guard and with each rating's repr made once."""
        return (f"TaskResult(rating={_rating_repr(self.rating)}, self_rating={_rating_repr(self.self_rating)}, "
                f"remarks={self.remarks!r}, where={self.where!r})")


_RATING_REPRS = {r: repr(r) for r in Rating}


def _rating_repr(value) -> str:
    return _RATING_REPRS[value] if type(value) is Rating else repr(value)


@dataclass(frozen=True)
class Record:
    """One row as read, with where it came from (for messages)."""

    where: Problem  # file and line (CSV) or the row's 编号 cell (XLSX); message unused
    region: str
    task: str
    rating: str
    self_rating: str = ""
    remarks: str = ""
    cells: dict = field(default_factory=dict)  # field → its own cell (XLSX): errors point there

    def at(self, key: str) -> Problem:
        return Problem(self.where.file, self.cells.get(key, self.where.line), "")


@dataclass
class Results:
    source: str
    encoding: str
    by_region: dict[str, dict[str, TaskResult]] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # region → workbooks it came from

    @property
    def sample(self) -> bool:
        """Results from a file named as sample data: documents carry a 样例 mark."""
        return "sample" in Path(self.source).name.lower() or "样例" in Path(self.source).name

    def regions(self, content: Content) -> list[Region]:
        """The regions with any rating, in the order of the regions file."""
        return [r for r in content.regions.regions if r.name in self.by_region]

    def missing(self, content: Content, region: Region, rating: str = "rating") -> list[str]:
        """Applicable task ids without a final rating (考评等次), or without the rating named
        (``self_rating``: 自评等次)."""
        rated = self.by_region.get(region.name, {})
        if rating == "rating":  # the final ratings: asked for every region several times a build
            return [t.id for t in content.tasks.tasks_for_region(region)
                    if (found := rated.get(t.id)) is None or found.rating is None]
        return [t.id for t in content.tasks.tasks_for_region(region)
                if rated.get(t.id) is None or getattr(rated[t.id], rating) is None]

    def where(self, region: Region, task_id: str) -> str:
        result = self.by_region.get(region.name, {}).get(task_id)
        return result.where if result is not None else ""

    def final(self, region: Region) -> dict[str, TaskResult]:
        """The region's results, every one with its final rating (a complete region)."""
        return {k: v for k, v in self.by_region.get(region.name, {}).items() if v.rating is not None}

    def counts(self, content: Content, region: Region) -> tuple[int, int, int]:
        """(self-rated, finally rated, applicable) tasks of a region."""
        total = len(content.tasks.tasks_for_region(region))
        return (total - len(self.missing(content, region, "self_rating")),
                total - len(self.missing(content, region)), total)

    def status(self, content: Content, region: Region, faulty: set[str] = frozenset()) -> str:
        """What the clerk sees of a region: 有误 (its return was refused), 已考评 (every final
        rating in), 已自评 (returned, final ratings not all in), or 未交."""
        if region.name in faulty:
            return "有误"
        if region.name not in self.by_region:
            return "未交"
        return "已自评" if self.missing(content, region) else "已考评"


def _problem(where: Problem, message: str) -> Problem:
    return Problem(where.file, where.line, message)


def _place(where: Problem) -> str:
    return f"第 {where.line} 行" if isinstance(where.line, int) else str(where.line)


_SPACE = re.compile(r"\s+")


def clean_rating(text: str) -> str:
    """A rating as typed, without any whitespace (优　秀, ` 达标 `, a line break inside)."""
    return _SPACE.sub("", text or "")


def parse_rating(text: str) -> Rating | None:
    """None for a blank; ValueError for anything but the three ratings."""
    text = clean_rating(text)
    return Rating(text) if text else None


# A rating typed as it is spelt (nearly every row): found directly
_AS_SPELT: dict[str, Rating | None] = {"": None, **{r.value: r for r in Rating}}
_UNKNOWN = object()


def _rating(text: str) -> Rating | None:
    """``parse_rating``."""
    found = _AS_SPELT.get(text, _UNKNOWN) if type(text) is str else _UNKNOWN
    return parse_rating(text) if found is _UNKNOWN else found


def _label(rec: Record, task) -> str:
    """How a message about a row's rating or remarks names its task: not at all when the row's
    place already does (a page's row), else “第 7.1 项“…”：”."""
    return "" if f"第 {task.id} 项" in str(rec.where.line) else task_label(task) + "："


def check_records(records: list[Record], content: Content, source: str, encoding: str) -> Results:
    """Every rule of CONTRACT.md's results input; every problem collected."""
    problems: list[Problem] = []
    results = Results(source, encoding)
    first_seen: dict[tuple[str, str], Problem] = {}
    # looked up once per row: dicts and sets made once, not a scan of the lists each time
    regions, tasks = content.regions.by_name(), content.tasks.task_index()
    applicable: dict[str, frozenset[str]] = {}
    by_region, files_of = results.by_region, results.files
    for rec in records:
        region = regions.get(rec.region.strip())
        if region is None:
            problems.append(_problem(rec.at("region"), f"地区“{rec.region}”不在地区名单中，"
                                     f"请按名单填写全称{suggest(rec.region, content)}"))
            continue
        task = tasks.get(rec.task.strip())
        if task is None:
            problems.append(_problem(rec.where, f"编号“{rec.task}”不在任务表中（应如 14.4）"))
            continue
        name, task_id = region.name, task.id
        ids = applicable.get(name)
        if ids is None:
            ids = applicable[name] = content.tasks.task_ids_for(region.assessment_class, region.pilot)
        if task_id not in ids:
            problems.append(_problem(
                rec.where, f"{task_label(task)}不适用于{name}（{region.assessment_class.value}），请删除此行"))
            continue
        # every message names the task, unless its place already does (a page's row)
        try:
            rating = _rating(rec.rating)
        except ValueError:
            problems.append(_problem(rec.at("rating"), f"{_label(rec, task)}考评等次“{rec.rating}”无效，应为 {RATINGS} 之一"))
            continue
        try:
            self_rating = _rating(rec.self_rating)
        except ValueError:
            problems.append(_problem(rec.at("self_rating"), f"{_label(rec, task)}自评等次“{rec.self_rating}”无效，应为 {RATINGS} 之一"))
            continue
        remarks = rec.remarks.strip()
        if len(remarks) > REMARKS_LIMIT:
            problems.append(_problem(rec.at("remarks"), f"{_label(rec, task)}备注有 {len(remarks)} 字，超过上限 {REMARKS_LIMIT} 字；"
                                                        "请精简，详细材料另附文件并在备注中写明文件名或链接"))
            continue
        if rating is None and self_rating is None and not remarks:
            continue  # an empty row (CONTRACT.md: a row with neither rating is ignored)
        key = (name, task_id)
        if key in first_seen:
            problems.append(_problem(rec.where, f"{name}{task_label(task)}重复（与{_place(first_seen[key])}重复），请只保留一处"))
            continue
        where = rec.where
        first_seen[key] = where
        line = rec.cells.get("rating", where.line) if rec.cells else where.line  # rec.at("rating")
        place = f"第 {line} 行" if isinstance(line, int) else f"{where.file} {line}"
        rated = by_region.get(name)
        if rated is None:
            rated = by_region[name] = {}
        rated[task_id] = TaskResult(rating, self_rating, remarks, place)
        files = files_of.get(name)
        if files is None:
            files = files_of[name] = []
        if where.file not in files:
            files.append(where.file)
    if problems:
        raise DataError(problems)
    return results


def suggest(name: str, content: Content) -> str:
    """“，您是不是要找：九台区” for a unique prefix or a close name; empty otherwise."""
    from difflib import get_close_matches

    names = [r.name for r in content.regions.regions]
    name = name.strip()
    if not name:
        return ""
    starting = [n for n in names if n.startswith(name)]
    # else at most three names at least 0.6 alike (difflib's defaults)
    found = starting if len(starting) == 1 else get_close_matches(name, names)
    return f"，您是不是要找：{'、'.join(found)}" if found else ""


# --- CSV ---------------------------------------------------------------------------------


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM); UTF-16 with BOM (Excel's “Unicode 文本”); else GB18030 as
    Excel writes on Chinese Windows."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            line = data[:exc.start].decode("utf-16").count("\n") + 1  # the units before it are whole
            raise DataError(Problem(name, line, "UTF-16 文件中有无法识别的字节，请用“CSV UTF-8”另存")) from None
    if b"\x00" in data[:8192]:
        raise DataError(Problem(name, None, "这不是文本文件（含二进制内容），请另存为 CSV 后重试"))
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        bad_line = data[:exc.start].count(b"\n") + 1
    # Some lines UTF-8 with Chinese, others not: two files pasted together; GB18030 would
    # "succeed" and garble the UTF-8 lines, so refuse and say where
    for line in data.split(b"\n"):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            raise DataError(Problem(name, bad_line,
                                    "文件混用了多种编码（有的行是 UTF-8，此行不是），请整体另存为“CSV UTF-8”"))
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(Problem(name, line, "无法识别文件编码（既不是 UTF-8 也不是 GB18030），请用“CSV UTF-8”另存")) from None


def unescape_cell(text: str) -> str:
    """Undo the leading ' that protects a formula-like cell, or a text that itself starts with '
    (``results_csv``)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START + ("'",)):
        return text[1:]
    return text


def escape_cell(text: str) -> str:
    """A cell Excel or WPS would run as a formula gets a leading ' (OWASP); so does a text that
    starts with ' itself, so that reading it back keeps that '."""
    return "'" + text if text.startswith(FORMULA_START + ("'",)) else text


def read_csv_records(path: Path) -> tuple[list[Record], str]:
    name = display_path(path)
    text, encoding = decode_csv(read_bytes(path, MAX_CSV_BYTES), name)
    check_control_characters(text, name)  # tab, CR and LF are not among them
    first = text.partition("\n")[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise DataError(Problem(name, None, f"文件为空，应有表头行：{HEADER_HINT}"))
        header = [h.strip() for h in header]
        problems = []
        for column in REQUIRED:
            if column not in header:
                problems.append(Problem(name, reader.line_num, f"表头缺少“{column}”列（表头应为：{HEADER_HINT}）"))
        for column in header:
            if column and column not in COLUMNS:
                problems.append(Problem(name, reader.line_num, f"无法识别的列“{column}”，可用的列：{'、'.join(COLUMNS)}"))
        if len(set(header)) != len(header):
            problems.append(Problem(name, reader.line_num, "表头有重复的列"))
        if problems:
            raise DataError(problems)
        index = {COLUMNS[h]: i for i, h in enumerate(header) if h}
        records = []
        columns = len(header)
        at = [index.get(key) for key in ("region", "task", "rating", "self_rating", "remarks")]
        for row in reader:
            if not "".join(row).strip():  # no cell with anything but whitespace
                continue
            line = reader.line_num
            if len(row) != columns:
                problems.append(Problem(name, line, f"此行有 {len(row)} 列，表头有 {columns} 列，请检查分隔符"))
                continue
            region, task, rating, self_rating, remarks = [
                "" if i is None else row[i] if row[i][:1] != "'" else unescape_cell(row[i]) for i in at]
            records.append(Record(Problem(name, line, ""), region.strip(), task.strip(), rating, self_rating, remarks))
    except csv.Error as exc:
        raise DataError(Problem(name, reader.line_num, f"CSV 格式错误：{exc}")) from None
    if problems:
        raise DataError(problems)
    return records, encoding


# --- XLSX (returned checklists) -----------------------------------------------------------
# Read by the form's own structure, streaming: returns.py. These keep the calls the web uses.


def read_xlsx_records(path: Path | None, content: Content, data: bytes | None = None,
                      name: str | None = None) -> list[Record]:
    """The task rows of one returned checklist (DataError with every problem when it has any).
    ``data``: the workbook's bytes when they did not come from a file (an upload). For its
    footer and warnings too, use ``read_return``."""
    found = read_return(path, content, data=data, name=name)
    problems = [p for p in found.problems if p.message != NOTHING_FILLED]
    if problems:
        raise DataError(problems)
    return found.records


def workbook_region(data: bytes, content: Content) -> str | None:
    """The region a returned checklist names, even when the workbook is refused (so the clerk
    sees which region's return is wrong); None when it names none on the list."""
    return read_return(None, content, data=data, name="").region


# --- entry points ---------------------------------------------------------------------------


def load_results(path: Path, content: Content) -> Results:
    name = display_path(path)
    if path.suffix.lower() == ".xlsx":
        return check_records(read_xlsx_records(path, content), content, name, "XLSX")
    records, encoding = read_csv_records(path)
    return check_records(records, content, name, encoding)


@dataclass
class Collected:
    """What ``collect`` made of the returned workbooks."""

    results: Results
    accepted: dict[str, str] = field(default_factory=dict)  # workbook → its region
    rejected: dict[str, list[Problem]] = field(default_factory=dict)  # workbook → its problems
    rejected_region: dict[str, str] = field(default_factory=dict)  # workbook → region, when known
    skipped: list[str] = field(default_factory=list)  # files in a folder that are not workbooks
    warnings: dict[str, list[Problem]] = field(default_factory=dict)  # workbook → what to look at
    returns: dict[str, Return] = field(default_factory=dict)  # workbook → as read (footer, region)

    def footer(self, region: str) -> Footer | None:
        """The footer of the return collected for a region."""
        name = next((n for n, r in self.accepted.items() if r == region), None)
        return self.returns[name].footer if name else None


def expand(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, and every .xlsx inside a given folder (sorted); other files in a folder
    are listed as skipped, never dropped in silence. A file given twice (also as part of a given
    folder, or spelled another way) is one file: read once, not two returns of one region."""
    files, skipped, seen = [], [], set()

    def first_time(path: Path) -> bool:
        key = path.resolve()
        new = key not in seen
        seen.add(key)
        return new

    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if not first_time(child):
                    continue
                if child.is_file() and child.suffix.lower() == ".xlsx" and not child.name.startswith(("~$", ".")):
                    files.append(child)
                elif child.is_file():
                    skipped.append(display_path(child))
        elif first_time(path):
            files.append(path)
    return files, skipped


def check_workbook(records: list[Record], content: Content, name: str) -> Results:
    return check_records(records, content, name, "XLSX")


def collect(paths: list[Path], content: Content) -> Collected:
    """Every returned checklist read and checked on its own: one bad workbook is reported with
    its cells and does not hold back the others. Two workbooks for one region are both held
    back, in one message naming both."""
    files, skipped = expand(paths)
    merged = Results("（汇总）", "XLSX")
    outcome = Collected(merged, skipped=skipped)
    per_region: dict[str, list[tuple[str, Results]]] = {}
    for path in files:
        name = display_path(path)
        found = read_return(path, content)
        outcome.returns[name] = found
        if found.warnings:
            outcome.warnings[name] = found.warnings
        if not found.accepted:
            outcome.rejected[name] = found.problems
            if found.region:
                outcome.rejected_region[name] = found.region
            continue
        for region in found.results.by_region:
            per_region.setdefault(region, []).append((name, found.results))
    for region in [r.name for r in content.regions.regions]:
        found = per_region.get(region, [])
        if len(found) > 1:
            names = "、".join(n for n, _ in found)
            problem = Problem(names, None, f"{region}有 {len(found)} 份考评表，请只保留一份后重新汇总")
            for n, _ in found:
                outcome.rejected[n] = [problem]
                outcome.rejected_region[n] = region
            continue
        for name, results in found:
            merged.by_region[region] = results.by_region[region]
            merged.files[region] = [name]
            outcome.accepted[name] = region
    return outcome


def results_csv(results: Results, content: Content) -> bytes:
    """A results CSV in the contract's columns, regions and tasks in table order; UTF-8 with BOM
    so Excel opens it right; formula-like text escaped (OWASP)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # rows end in \r\n, as Excel writes them
    writer.writerow(["地区", "编号", "等次", "自评等次", "备注"])
    for region in content.regions.regions:
        rated = results.by_region.get(region.name)
        if not rated:
            continue
        for task in content.tasks.tasks_for_region(region):
            r = rated.get(task.id)
            if r is None:
                continue
            writer.writerow([escape_cell(region.name), task.id, r.rating.value if r.rating else "",
                             r.self_rating.value if r.self_rating else "", escape_cell(r.remarks)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
