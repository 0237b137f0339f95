"""Loading ``content/``: YAML → validated models, every problem reported with its line."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import DataError, Problem
from .model import AssessmentClass, Issuance, RatingRules, RegionBook, TaskBook
from .yamlsource import Located, load_yaml

M = TypeVar("M", bound=BaseModel)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TASKS = Path("content/tasks_2016.yaml")

# What the clerk sees for a field name in a message.
FIELD_LABELS = {
    "year": "年度", "target_levels": "考评对象层次", "notice": "通知", "table": "任务表",
    "issuer": "发文机关", "masthead": "发文机关标志", "document_number": "发文字号",
    "prefix": "机关代字", "sequence": "发文顺序号", "title_lines": "标题", "title": "标题",
    "addressees": "主送机关", "body": "正文", "signature": "署名", "date": "日期",
    "imprint": "版记", "copy_to": "抄送", "office": "印发机关", "categories": "考评项目",
    "number": "序号", "name": "名称", "tasks": "考评内容", "id": "编号",
    "excellent": "优秀标准", "standard": "达标标准", "targets": "考评对象",
    "numbered": "是否编号", "pilot_excluded": "试点除外", "notes": "注",
    "types": "单位类型", "regions": "地区", "label": "类型名称", "class": "考评层次",
    "code": "行政区划代码", "type": "类型", "parent": "上级", "recipient": "收文机关",
    "pilot": "试点", "levels": "等次规则", "rating": "等次", "max_failed": "未达标项数上限",
    "min_excellent_percent": "优秀比例下限", "otherwise": "其余等次", "veto_tasks": "一票否决项",
}


def _field(loc: tuple) -> str:
    for part in reversed(loc):
        if isinstance(part, str):
            return FIELD_LABELS.get(part, part)
    return "内容"


def _message(error: dict) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    field = _field(loc)
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"缺少“{field}”，请补充"
    if kind == "extra_forbidden":
        return f"无法识别的字段“{loc[-1]}”，请检查拼写或删除"
    if kind == "enum":
        expected = "、".join(re.findall(r"'([^']*)'", ctx.get("expected", "")))
        return f"{field}“{value}”无法识别，应为 {expected} 之一"
    if kind in ("too_short",):
        return f"“{field}”不能为空"
    if kind == "string_too_short":
        return f"“{field}”不能为空"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "code":
            return f"行政区划代码“{value}”应为 6 位数字"
        return f"{field}“{value}”格式不对，应如 14.4（类序号.项序号）"
    if kind in ("string_type",):
        return f"“{field}”应为文字，现在是“{value}”"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"“{field}”应为整数，现在是“{value}”"
    if kind in ("bool_parsing", "bool_type"):
        return f"“{field}”应为 true 或 false，现在是“{value}”"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return f"“{field}”应为日期，如 2016-03-29，现在是“{value}”"
    if kind in ("list_type",):
        return f"“{field}”应为列表（每项以“- ”开头）"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"“{field}”应为若干“字段: 值”"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"“{field}”的值“{value}”超出允许范围"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"“{field}”有误：{error['msg']}"


def validate_model(model: type[M], located: Located) -> M:
    """Validate the YAML data against ``model``; every error with its line."""
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # pydantic appends validator names to a path through an Annotated type
            loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(located.problem(loc, _message(error)))
        raise DataError(sorted(set(problems), key=Problem.sort_key)) from None


# --- cross-checks a schema cannot express -----------------------------------------------


def check_tasks(book: TaskBook, src: Located) -> list[Problem]:
    problems = []
    levels = set(book.target_levels)
    for code, count in Counter(c.number for c in book.table.categories).items():
        if count > 1:
            for ci, c in enumerate(book.table.categories):
                if c.number == code:
                    problems.append(src.problem(("table", "categories", ci, "number"),
                                                f"序号 {code} 重复，每个考评项目只能出现一次"))
    seen: dict[str, int] = {}
    for ci, category in enumerate(book.table.categories):
        base = ("table", "categories", ci)
        if ci + 1 != category.number:
            problems.append(src.problem(base + ("number",),
                                        f"序号应为 {ci + 1}（考评项目按序号连续排列），现在是 {category.number}"))
        for ti, task in enumerate(category.tasks):
            loc = base + ("tasks", ti)
            if task.id in seen:
                problems.append(src.problem(loc + ("id",),
                                            f"编号 {task.id} 重复（第 {seen[task.id]} 行已使用）"))
            else:
                seen[task.id] = src.line(loc + ("id",)) or 0
                expected = f"{category.number}.{ti + 1}"
                if task.id != expected:
                    problems.append(src.problem(
                        loc + ("id",),
                        f"编号应为 {expected}（第 {category.number} 项第 {ti + 1} 条），现在是 {task.id}"))
            for k, target in enumerate(task.targets):
                if target not in levels:
                    problems.append(src.problem(
                        loc + ("targets", k),
                        f"考评对象“{target}”无法识别，应为 {'、'.join(levels)} 之一"))
    return problems


def check_regions(book: RegionBook, src: Located) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    names = {r.name for r in book.regions}
    for i, region in enumerate(book.regions):
        loc = ("regions", i)
        if region.name in first:
            problems.append(src.problem(loc + ("name",),
                                        f"地区名称“{region.name}”重复（第 {first[region.name]} 行已有）"))
        else:
            first[region.name] = src.line(loc + ("name",)) or 0
        rtype = book.types.get(region.type)
        if rtype is None:
            problems.append(src.problem(
                loc + ("type",),
                f"类型“{region.type}”无法识别，应为 {'、'.join(book.types)} 之一"))
        elif region.class_override is None and rtype.default_class is None:
            problems.append(src.problem(
                loc, f"“{region.name}”的类型“{rtype.label}”没有默认考评层次，请用 class: 写明"))
        if region.parent is not None and region.parent not in names:
            problems.append(src.problem(loc + ("parent",),
                                        f"上级“{region.parent}”不在地区名单中，请检查名称"))
        if region.parent == region.name:
            problems.append(src.problem(loc + ("parent",), "上级不能是本地区自己"))
        if any(ch in region.name for ch in "/\\:*?\"<>|") or region.name.startswith("."):
            problems.append(src.problem(loc + ("name",),
                                        f"地区名称“{region.name}”含有不允许的字符（/ \\ : * ? \" < > |）"))
    return problems


def _resolve_regions(book: RegionBook) -> None:
    for region in book.regions:
        cls = region.class_override or book.types[region.type].default_class
        # frozen model: the private slot is set once here, by the loader only
        region.__pydantic_private__["_assessment_class"] = cls


def check_rules(rules: RatingRules, src: Located, tasks: TaskBook | None) -> list[Problem]:
    problems = []
    if tasks is not None:
        for i, task_id in enumerate(rules.veto_tasks):
            if tasks.task(task_id) is None:
                problems.append(src.problem(("veto_tasks", i),
                                            f"一票否决项编号 {task_id} 不在任务表中"))
    for i, level in enumerate(rules.levels):
        if level.rating == rules.otherwise:
            problems.append(src.problem(("levels", i, "rating"),
                                        f"等次“{level.rating.value}”已作为 otherwise，不应再列出"))
    return problems


# --- entry points -----------------------------------------------------------------------


def _load(path: Path, model: type[M]) -> tuple[M, Located]:
    located = load_yaml(path)
    return validate_model(model, located), located


def load_tasks(path: Path) -> TaskBook:
    book, src = _load(path, TaskBook)
    problems = check_tasks(book, src)
    if problems:
        raise DataError(problems)
    return book


def load_regions(path: Path) -> RegionBook:
    book, src = _load(path, RegionBook)
    problems = check_regions(book, src)
    if problems:
        raise DataError(problems)
    _resolve_regions(book)
    return book


def load_rules(path: Path, tasks: TaskBook | None = None) -> RatingRules:
    rules, src = _load(path, RatingRules)
    problems = check_rules(rules, src, tasks)
    if problems:
        raise DataError(problems)
    return rules


def resolve_default(path: Path | None, fallback: Path) -> Path:
    """A default path works from the project folder and from anywhere else."""
    if path is not None:
        return path
    if fallback.exists() or fallback.is_absolute():
        return fallback
    candidate = PROJECT_ROOT / fallback
    return candidate if candidate.exists() else fallback


def sibling_regions(tasks_path: Path, year: int) -> Path:
    """``regions_<place>_<year>.yaml`` beside the task file, when there is exactly one."""
    found = sorted(tasks_path.parent.glob(f"regions_*_{year}.yaml"))
    if len(found) == 1:
        return found[0]
    from .textfile import display_path
    name = display_path(tasks_path.parent)
    if not found:
        raise DataError(Problem(name, None, f"找不到 {year} 年的地区名单（regions_*_{year}.yaml），请用 --regions 指定"))
    raise DataError(Problem(name, None, f"有多个 {year} 年的地区名单，请用 --regions 指定其中一个"))


def _year_in_name(path: Path) -> int | None:
    match = re.search(r"(\d{4})", path.stem)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Content:
    """Everything the documents are made from, loaded and cross-checked once."""

    tasks: TaskBook
    regions: RegionBook
    rules: RatingRules | None
    tasks_path: Path
    regions_path: Path
    issuance: Issuance | None = None

    def region(self, name: str):
        return self.regions.region(name)


def load_issuance(path: Path, tasks: TaskBook | None) -> Issuance:
    issuance, src = _load(path, Issuance)
    if tasks is not None and issuance.year != tasks.year:
        raise DataError(src.problem(("year",), f"年度应为 {tasks.year}（与任务表一致），现在是 {issuance.year}"))
    return issuance


def load_content(tasks_path: Path | None = None, regions_path: Path | None = None,
                 rules_path: Path | None = None, need_rating_files: bool = False) -> Content:
    """Load every content file, collecting the problems of all of them before failing.

    ``need_rating_files``: rating_rules.yaml and issuance_<year>.yaml must be there (reports,
    letters, 通报, validate); otherwise they are loaded when present."""
    tasks_path = resolve_default(tasks_path, DEFAULT_TASKS)
    problems: list[Problem] = []
    tasks = regions = rules = None
    try:
        tasks = load_tasks(tasks_path)
    except DataError as exc:
        problems += exc.problems
    year = tasks.year if tasks is not None else _year_in_name(tasks_path)
    if regions_path is None and year is not None:
        try:
            regions_path = sibling_regions(tasks_path, year)
        except DataError as exc:
            problems += exc.problems
    if regions_path is not None:
        try:
            regions = load_regions(regions_path)
        except DataError as exc:
            problems += exc.problems
    if tasks is not None and regions is not None and regions.year != tasks.year:
        from .textfile import display_path
        problems.append(Problem(display_path(regions_path), None,
                                f"地区名单是 {regions.year} 年的，任务表是 {tasks.year} 年的，请选择同一年度的文件"))
    if rules_path is None:
        candidate = tasks_path.parent / "rating_rules.yaml"
        rules_path = candidate if (candidate.exists() or need_rating_files) else None
    if rules_path is not None:
        try:
            rules = load_rules(rules_path, tasks)
        except DataError as exc:
            problems += exc.problems
    issuance = None
    if year is not None:
        issuance_path = tasks_path.parent / f"issuance_{year}.yaml"
        if issuance_path.exists() or need_rating_files:
            try:
                issuance = load_issuance(issuance_path, tasks)
            except DataError as exc:
                problems += exc.problems
    if problems:
        raise DataError(problems)
    assert tasks is not None and regions is not None and regions_path is not None
    return Content(tasks, regions, rules, tasks_path, regions_path, issuance)


def parse_class_option(text: str) -> AssessmentClass:
    cls = AssessmentClass.parse(text)
    if cls is None:
        names = "、".join(c.value for c in AssessmentClass)
        raise ValueError(f"考评层次“{text}”无法识别，应为 {names}（或 prefecture、county、district）")
    return cls
