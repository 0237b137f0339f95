"""The province at a glance: the year's results counted by 等次, 层次, 市（州）, task and region,
how the department's ratings differ from the self-ratings, and the change from last year.

One typed view (``Statistics``), computed once from the content and the results, is what the
``pipeline stats`` command prints, what the 统计 page shows, what the charts draw and what the
XLSX and PDF exports hold (``stats_tables`` turns it into the tables all of them share).

A region's figures are its final ratings (考评等次) when all of them are in, else its
self-ratings (自评等次) when those are complete (marked 自评 wherever shown), else it is counted
as not yet complete. Last year's results come from a results file of the contract's CSV format;
regions and tasks are matched by name and 编号, and those found in one year only are listed as
such, never dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .content import Content
from .errors import DataError, Problem
from .model import AssessmentClass, Rating
from .rating import overall
from .results import RATINGS, Results, TaskResult, parse_rating, read_csv_records
from .textfile import display_path

RATING_ORDER = (Rating.EXCELLENT, Rating.STANDARD, Rating.FAILED)
RANK = {Rating.FAILED: 0, Rating.STANDARD: 1, Rating.EXCELLENT: 2}
FINAL, SELF = "考评", "自评"  # the basis of a region's figures
ONLY_PREVIOUS = "今年名单中没有的地区"


@dataclass(frozen=True)
class Counts:
    """How many of something were rated 优秀, 达标, 未达标."""

    excellent: int = 0
    standard: int = 0
    failed: int = 0

    @classmethod
    def of(cls, ratings) -> "Counts":
        c = Counter(ratings)
        return cls(c[Rating.EXCELLENT], c[Rating.STANDARD], c[Rating.FAILED])

    @property
    def total(self) -> int:
        return self.excellent + self.standard + self.failed

    def get(self, rating: Rating) -> int:
        return {Rating.EXCELLENT: self.excellent, Rating.STANDARD: self.standard,
                Rating.FAILED: self.failed}[rating]

    def share(self, rating: Rating) -> float | None:
        """Percent of the total, None when nothing is counted."""
        return 100 * self.get(rating) / self.total if self.total else None


@dataclass(frozen=True)
class RegionFigures:
    """One region's figures in one year."""

    basis: str | None  # 考评 (final ratings complete), 自评 (only self-ratings complete), None
    counts: Counts  # its task ratings on that basis (empty when basis is None)
    tasks: int  # tasks that apply (this year) or rows it has (last year)
    overall: Rating | None
    rated_final: int = 0  # tasks with a final rating so far
    rated_self: int = 0

    @property
    def excellent_share(self) -> float | None:
        return 100 * self.counts.excellent / self.counts.total if self.basis and self.counts.total else None


@dataclass(frozen=True)
class RegionStat:
    name: str
    level: str  # 考评层次; "" for a region on last year's list only
    prefecture: str  # the 市（州） it belongs to (itself for a 市（州）); "" when unknown
    current: RegionFigures | None  # None: last year only
    previous: RegionFigures | None  # None: no previous year given, or this year only


@dataclass(frozen=True)
class GroupStat:
    """Regions of one 层次 or one 市（州） (with its 县（市、区）), or the whole province."""

    name: str
    regions: int
    overall: Counts  # regions by overall rating (those with a basis)
    self_based: int  # of those, counted on self-ratings
    pending: int  # regions without complete ratings
    previous: Counts | None = None  # last year's regions of this group by overall rating
    previous_regions: int = 0


@dataclass(frozen=True)
class TaskStat:
    task_id: str
    name: str  # "" for a task of last year only
    regions: int  # regions it applies to this year
    final: Counts
    self: Counts
    lowered: int = 0  # regions whose final rating is below their self-rating
    raised: int = 0
    previous: Counts | None = None  # last year's final ratings of the task with this 编号


@dataclass(frozen=True)
class Difference:
    region: str
    task_id: str
    task_name: str
    self_rating: Rating
    final_rating: Rating

    @property
    def direction(self) -> str:
        return "调低" if RANK[self.final_rating] < RANK[self.self_rating] else "调高"


@dataclass(frozen=True)
class Statistics:
    year: int
    source: str
    previous_source: str | None
    sample: bool
    regions: list[RegionStat]  # this year's list in order, then last year's only
    levels: list[GroupStat]  # per 层次, then (with last year) its regions not on this year's list
    prefectures: list[GroupStat]
    province: GroupStat
    tasks: list[TaskStat]  # this year's tasks in table order, then last year's only
    differences: list[Difference]
    compared: int  # tasks with both a self-rating and a final rating
    previous_adjusted: tuple[int, int, int] | None = None  # last year: (compared, lowered, raised)

    @property
    def has_previous(self) -> bool:
        return self.previous_source is not None

    @property
    def lowered(self) -> int:
        return sum(1 for d in self.differences if d.direction == "调低")

    @property
    def raised(self) -> int:
        return sum(1 for d in self.differences if d.direction == "调高")

    @property
    def self_based(self) -> list[RegionStat]:
        return [r for r in self.regions if r.current and r.current.basis == SELF]

    @property
    def pending(self) -> list[RegionStat]:
        return [r for r in self.regions if r.current and r.current.basis is None]

    def tasks_by_failures(self) -> list[TaskStat]:
        """Tasks rated 未达标 most often first (final ratings; self-ratings break ties): the
        tasks that pull regions down."""
        order = {t.task_id: i for i, t in enumerate(self.tasks)}
        return sorted(self.tasks, key=lambda t: (-t.final.failed, -t.self.failed, order[t.task_id]))


# --- last year's results --------------------------------------------------------------------------


@dataclass
class PreviousYear:
    """Last year's results as read from its file: by region name, by 编号 (its own names and
    ids, which need not be this year's)."""

    source: str
    by_region: dict[str, dict[str, TaskResult]] = field(default_factory=dict)


_TASK_ID = re.compile(r"^[1-9][0-9]*\.[1-9][0-9]*$")


def load_previous(path: Path) -> PreviousYear:
    """Last year's results CSV (the contract's columns). Its regions and tasks are not this
    year's to check against: a name or 编号 unknown this year is kept as last year's; ratings,
    编号 format and duplicates are checked, every problem with its line."""
    name = display_path(path)
    if path.suffix.lower() == ".xlsx":
        raise DataError(Problem(name, None, "上年结果请给出 CSV 文件（如上年 pipeline collect 汇总的结果），"
                                            "不能用上年的 XLSX 考评表"))
    records, _ = read_csv_records(path)
    previous = PreviousYear(name)
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for rec in records:
        line = rec.where.line
        if not rec.region:
            problems.append(Problem(name, line, "未填写地区名称"))
            continue
        if not _TASK_ID.match(rec.task):
            problems.append(Problem(name, line, f"编号“{rec.task}”格式不对（应如 14.4）"))
            continue
        try:
            rating = parse_rating(rec.rating)
            self_rating = parse_rating(rec.self_rating)
        except ValueError:
            problems.append(Problem(name, line, f"等次“{rec.rating or rec.self_rating}”无效，应为 {RATINGS} 之一"))
            continue
        if rating is None and self_rating is None:
            continue
        key = (rec.region, rec.task)
        if key in seen:
            problems.append(Problem(name, line, f"{rec.region}第 {rec.task} 项重复（与第 {seen[key]} 行重复），请只保留一处"))
            continue
        seen[key] = line
        previous.by_region.setdefault(rec.region, {})[rec.task] = TaskResult(rating, self_rating, rec.remarks, f"第 {line} 行")
    if problems:
        raise DataError(problems)
    if not previous.by_region:
        raise DataError(Problem(name, None, "上年结果文件中没有任何等次"))
    return previous


# --- computing ------------------------------------------------------------------------------------


def _figures(rules, task_ids: list[str], rated: dict[str, TaskResult]) -> RegionFigures:
    finals = {t: rated[t].rating for t in task_ids if t in rated and rated[t].rating is not None}
    selfs = {t: rated[t].self_rating for t in task_ids if t in rated and rated[t].self_rating is not None}
    if task_ids and len(finals) == len(task_ids):
        basis, ratings = FINAL, finals
    elif task_ids and len(selfs) == len(task_ids):
        basis, ratings = SELF, selfs
    else:
        basis, ratings = None, {}
    return RegionFigures(basis, Counts.of(ratings.values()), len(task_ids),
                         overall(rules, ratings) if basis else None, len(finals), len(selfs))


def _group(name: str, members: list[RegionStat], with_previous: bool) -> GroupStat:
    now = [r.current for r in members if r.current is not None]
    before = [r.previous for r in members if r.previous is not None]
    return GroupStat(
        name, len(now), Counts.of(f.overall for f in now if f.basis), sum(1 for f in now if f.basis == SELF),
        sum(1 for f in now if f.basis is None),
        Counts.of(f.overall for f in before if f.basis) if with_previous else None, len(before))


def compute(content: Content, results: Results, previous: PreviousYear | None = None) -> Statistics:
    rules = content.rules
    if rules is None:
        raise DataError(Problem(display_path(content.tasks_path.parent / "rating_rules.yaml"), None,
                                "缺少等次规则文件 rating_rules.yaml，无法得出总等次"))
    book = content.tasks
    regions: list[RegionStat] = []
    differences: list[Difference] = []
    lowered: Counter = Counter()
    raised: Counter = Counter()
    compared = 0
    for region in content.regions.regions:
        tasks = book.tasks_for_region(region)
        rated = results.by_region.get(region.name, {})
        prev = None
        if previous is not None and region.name in previous.by_region:
            prev_rated = previous.by_region[region.name]
            prev = _figures(rules, list(prev_rated), prev_rated)
        regions.append(RegionStat(region.name, region.assessment_class.value, region.parent or region.name,
                                  _figures(rules, [t.id for t in tasks], rated), prev))
        for task in tasks:
            r = rated.get(task.id)
            if r is None or r.rating is None or r.self_rating is None:
                continue
            compared += 1
            if r.rating is not r.self_rating:
                d = Difference(region.name, task.id, task.name, r.self_rating, r.rating)
                differences.append(d)
                (lowered if d.direction == "调低" else raised)[task.id] += 1
    known = {r.name for r in regions}
    if previous is not None:
        for name, prev_rated in previous.by_region.items():
            if name not in known:
                regions.append(RegionStat(name, "", "", None, _figures(rules, list(prev_rated), prev_rated)))
    with_previous = previous is not None
    this_year = [r for r in regions if r.current is not None]
    last_only = [r for r in regions if r.current is None]
    levels = [_group(cls.value, [r for r in this_year if r.level == cls.value], with_previous)
              for cls in AssessmentClass]
    prefecture_names = list(dict.fromkeys(r.prefecture for r in this_year))
    prefectures = [_group(p, [r for r in this_year if r.prefecture == p], with_previous) for p in prefecture_names]
    if last_only:
        levels.append(_group(ONLY_PREVIOUS, last_only, True))
        prefectures.append(_group(ONLY_PREVIOUS, last_only, True))
    province = _group("全省", regions, with_previous)

    applicable = {region.name: {t.id for t in book.tasks_for_region(region)} for region in content.regions.regions}
    task_stats = []
    for task in book.tasks():
        applies = [region for region in content.regions.regions if task.id in applicable[region.name]]
        finals, selfs = [], []
        for region in applies:
            r = results.by_region.get(region.name, {}).get(task.id)
            if r is not None and r.rating is not None:
                finals.append(r.rating)
            if r is not None and r.self_rating is not None:
                selfs.append(r.self_rating)
        task_stats.append(TaskStat(task.id, task.name, len(applies), Counts.of(finals), Counts.of(selfs),
                                   lowered[task.id], raised[task.id], _previous_task(previous, task.id)))
    if previous is not None:
        current_ids = {t.task_id for t in task_stats}
        old_ids = sorted({t for rated in previous.by_region.values() for t in rated} - current_ids,
                         key=lambda t: tuple(int(p) for p in t.split(".")))
        for task_id in old_ids:
            task_stats.append(TaskStat(task_id, "", 0, Counts(), Counts(), 0, 0, _previous_task(previous, task_id)))
    adjusted = None
    if previous is not None:
        pairs = [(r.self_rating, r.rating) for rated in previous.by_region.values() for r in rated.values()
                 if r.rating is not None and r.self_rating is not None]
        adjusted = (len(pairs), sum(1 for own, final in pairs if RANK[final] < RANK[own]),
                    sum(1 for own, final in pairs if RANK[final] > RANK[own]))
    return Statistics(book.year, results.source, previous.source if previous else None, results.sample,
                      regions, levels, prefectures, province, task_stats, differences, compared, adjusted)


def _previous_task(previous: PreviousYear | None, task_id: str) -> Counts | None:
    if previous is None:
        return None
    return Counts.of(rated[task_id].rating for rated in previous.by_region.values()
                     if task_id in rated and rated[task_id].rating is not None)


# --- the tables everyone shows --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | str | None = None  # what a column sorts by, and the number an XLSX cell holds
    mark: str = ""  # "failed": a 未达标 figure (in colour); "self": counted on self-ratings; "muted"

    @property
    def sort_key(self) -> str:
        return "" if self.value is None else str(self.value)


@dataclass(frozen=True)
class Column:
    label: str
    width: int = 0  # characters; 0: from the contents
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    key: str  # a stable ASCII name (web anchors, test hooks)
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    total: list[Cell] | None = None  # a closing row (全省), not sorted with the others


def _n(value: int | None, mark: str = "") -> Cell:
    if value is None:
        return Cell("—")
    return Cell(str(value), value, mark if value else "")


def _pct(value: float | None) -> Cell:
    return Cell("—") if value is None else Cell(f"{value:.1f}%", round(value, 1))


def _change(now: int | float | None, before: int | float | None, pct: bool = False) -> Cell:
    if now is None or before is None:
        return Cell("—")
    delta = now - before
    text = f"{delta:+.1f}" if pct else f"{delta:+d}"
    return Cell("0" if abs(delta) < 1e-9 else text, round(delta, 1) if pct else delta)


def _group_row(g: GroupStat, with_previous: bool) -> list[Cell]:
    rated = g.overall.total
    cells = [Cell(g.name, g.name), _n(g.regions) if g.regions or g.name != ONLY_PREVIOUS else Cell("—")]
    for rating in RATING_ORDER:
        mark = "failed" if rating is Rating.FAILED else ""
        cells.append(_n(g.overall.get(rating), mark) if g.regions else Cell("—"))
        cells.append(_pct(g.overall.share(rating)))
    cells += [_n(g.self_based) if g.regions else Cell("—"), _n(g.pending) if g.regions else Cell("—")]
    if with_previous:
        prev = g.previous or Counts()
        for rating in RATING_ORDER:
            mark = "failed" if rating is Rating.FAILED else ""
            before = prev.get(rating) if g.previous_regions else None
            cells.append(_n(before, mark))
            cells.append(_change(g.overall.get(rating) if g.regions else None, before))
    return cells


def _group_columns(first: str, with_previous: bool) -> list[Column]:
    cols = [Column(first), Column("地区数", numeric=True)]
    for rating in RATING_ORDER:
        cols += [Column(rating.value, numeric=True), Column(f"{rating.value}占比", numeric=True)]
    cols += [Column("其中按自评", numeric=True), Column("尚未评齐", numeric=True)]
    if with_previous:
        for rating in RATING_ORDER:
            cols += [Column(f"上年{rating.value}", numeric=True), Column(f"{rating.value}增减", numeric=True)]
    return cols


def _basis_note(stats: Statistics) -> list[str]:
    notes = ["总等次按等次规则由各项等次得出；考评等次填齐的地区按考评等次计，尚未填齐但自评等次齐全的地区按自评等次计"
             "（标“自评”），两者都不齐的地区计入“尚未评齐”。占比为已有总等次的地区中所占的比例。"]
    if stats.has_previous:
        notes.append(f"上年数据取自 {stats.previous_source}，地区按名称、任务按编号对应，上年总等次按本年等次规则计算。")
    return notes


def stats_tables(stats: Statistics) -> list[Table]:
    """Every table of the 统计 page, the CLI and the exports, in the order shown."""
    wp = stats.has_previous
    tables = []
    notes = _basis_note(stats)
    if wp and any(g.name == ONLY_PREVIOUS for g in stats.levels):
        notes.append(f"“{ONLY_PREVIOUS}”一行为上年有考评结果、本年地区名单中没有的地区，只列上年数字。")
    tables.append(Table("levels", "一、各考评层次总等次", _group_columns("考评层次", wp),
                        [_group_row(g, wp) for g in stats.levels], notes, _group_row(stats.province, wp)))
    tables.append(Table("prefectures", "二、各市（州）总等次（含所辖县（市、区））", _group_columns("市（州）", wp),
                        [_group_row(g, wp) for g in stats.prefectures], [], _group_row(stats.province, wp)))

    cols = [Column("编号"), Column("考评内容", width=24), Column("适用地区数", numeric=True)]
    for label in ("考评", "自评"):
        cols += [Column(f"{label}{r.value}", numeric=True) for r in RATING_ORDER]
    cols += [Column("考评低于自评", numeric=True), Column("考评高于自评", numeric=True)]
    if wp:
        cols += [Column("上年考评未达标", numeric=True), Column("未达标增减", numeric=True)]
    rows = []
    for t in stats.tasks_by_failures():
        row = [Cell(t.task_id, _task_key(t.task_id)), Cell(t.name or "（仅上年有此编号）", t.name)]
        row.append(_n(t.regions) if t.name else Cell("—"))
        for counts in (t.final, t.self):
            row += [_n(counts.excellent), _n(counts.standard), _n(counts.failed, "failed")] if t.name \
                else [Cell("—")] * 3
        row += [_n(t.lowered), _n(t.raised)] if t.name else [Cell("—")] * 2
        if wp:
            before = t.previous.failed if t.previous is not None and t.previous.total else None
            row += [_n(before, "failed"), _change(t.final.failed if t.name else None, before)]
        rows.append(row)
    task_notes = ["按考评等次为“未达标”的地区数从多到少排列（相同时按自评“未达标”数）；各数为填有该等次的地区数。"]
    if wp:
        task_notes.append("“仅上年有此编号”为上年结果中有、本年任务表中没有的编号；本年新增的编号上年一栏为“—”。")
    tables.append(Table("tasks", "三、各项考评内容的等次分布", cols, rows, task_notes))

    cols = [Column("地区"), Column("考评层次"), Column("所属市（州）"), Column("依据"),
            Column("优秀项", numeric=True), Column("达标项", numeric=True), Column("未达标项", numeric=True),
            Column("项数", numeric=True), Column("优秀项占比", numeric=True), Column("总等次")]
    if wp:
        cols += [Column("上年优秀项占比", numeric=True), Column("占比增减", numeric=True), Column("上年总等次"),
                 Column("备注")]
    rows = []
    for r in stats.regions:
        f = r.current
        if f is not None:
            basis = f.basis or f"尚未评齐（考评 {f.rated_final}/{f.tasks}）"
            row = [Cell(r.name, r.name), Cell(r.level, r.level), Cell(r.prefecture, r.prefecture),
                   Cell(basis, basis, "self" if f.basis == SELF else ("muted" if f.basis is None else ""))]
            if f.basis:
                row += [_n(f.counts.excellent), _n(f.counts.standard), _n(f.counts.failed, "failed"), _n(f.tasks),
                        _pct(f.excellent_share), _rating(f.overall, f.basis)]
            else:
                row += [Cell("—")] * 3 + [_n(f.tasks), Cell("—"), Cell("—")]
        else:
            row = [Cell(r.name, r.name), Cell("—"), Cell("—"), Cell("—")] + [Cell("—")] * 6
        if wp:
            p = r.previous
            share_now = f.excellent_share if f is not None else None
            share_before = p.excellent_share if p is not None else None
            row += [_pct(share_before), _change(share_now, share_before, pct=True),
                    _rating(p.overall, p.basis) if p is not None and p.basis else Cell("—"),
                    Cell("仅上年" if f is None else ("仅本年" if p is None else ""))]
        rows.append(row)
    region_notes = ["优秀项占比为优秀项数占该地区适用考评内容项数的比例。"]
    tables.append(Table("regions", "四、各地区考评情况", cols, rows, region_notes))

    cols = [Column("地区"), Column("编号"), Column("考评内容", width=24), Column("自评等次"), Column("考评等次"),
            Column("调整")]
    rows = [[Cell(d.region, d.region), Cell(d.task_id, _task_key(d.task_id)), Cell(d.task_name, d.task_name),
             _rating(d.self_rating), _rating(d.final_rating), Cell(d.direction, d.direction)]
            for d in stats.differences]
    same = stats.compared - len(stats.differences)
    diff_notes = [f"自评等次和考评等次都已填写的共 {stats.compared} 项，其中一致 {same} 项，"
                  f"考评低于自评（调低）{stats.lowered} 项，考评高于自评（调高）{stats.raised} 项。"]
    if stats.previous_adjusted is not None:
        before, down, up = stats.previous_adjusted
        diff_notes.append(f"上年：自评等次和考评等次都已填写的共 {before} 项，其中一致 {before - down - up} 项，"
                          f"调低 {down} 项，调高 {up} 项（本年调低{_delta(stats.lowered - down)}，调高{_delta(stats.raised - up)}）。"
                          if before else "上年结果中没有自评等次和考评等次都已填写的项。")
    if not rows:
        diff_notes.append("没有考评等次与自评等次不同的项。")
    tables.append(Table("differences", "五、考评等次与自评等次不同的项", cols, rows, diff_notes))
    return tables


def _delta(change: int) -> str:
    return f"增加 {change} 项" if change > 0 else (f"减少 {-change} 项" if change < 0 else "持平")


def _rating(rating: Rating | None, basis: str | None = None) -> Cell:
    if rating is None:
        return Cell("—")
    text = rating.value + ("（自评）" if basis == SELF else "")
    return Cell(text, RANK[rating], "failed" if rating is Rating.FAILED else ("self" if basis == SELF else ""))


def _task_key(task_id: str) -> float:
    major, minor = task_id.split(".")
    return int(major) * 1000 + int(minor)


def overview(stats: Statistics) -> list[str]:
    """The answers in a few sentences, for the top of the page and the CLI."""
    p = stats.province
    lines = [f"全省 {p.regions} 个考评地区，已有总等次 {p.overall.total} 个：优秀 {p.overall.excellent} 个、"
             f"达标 {p.overall.standard} 个、未达标 {p.overall.failed} 个"
             + (f"（其中 {p.self_based} 个按自评等次计）" if p.self_based else "")
             + (f"；尚未评齐 {p.pending} 个" if p.pending else "") + "。"]
    pulling = [t for t in stats.tasks_by_failures() if t.name and (t.final.failed or t.self.failed)][:3]
    if pulling:
        lines.append("考评“未达标”最多的考评内容："
                     + "；".join(f"{t.task_id} {t.name}（{t.final.failed} 个地区）" for t in pulling) + "。")
    lines.append(f"考评等次与自评等次不同的 {len(stats.differences)} 项中，调低 {stats.lowered} 项，调高 {stats.raised} 项。")
    if stats.has_previous and p.previous is not None:
        lines.append(f"上年：优秀 {p.previous.excellent} 个、达标 {p.previous.standard} 个、未达标 {p.previous.failed} 个。")
        only_before = [r.name for r in stats.regions if r.current is None]
        only_now = [r.name for r in stats.regions if r.current is not None and r.previous is None]
        if only_before:
            lines.append(f"仅上年有结果的地区 {len(only_before)} 个：{'、'.join(only_before)}。")
        if only_now:
            lines.append(f"本年名单中、上年没有结果的地区 {len(only_now)} 个：{'、'.join(only_now)}。")
    return lines
