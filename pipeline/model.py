"""The domain: the notice, its table of tasks, the assessed regions and the rating rules.

These are the typed, validated form of the files under ``content/``. Everything downstream
(views, writers) reads only these objects, never the YAML.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Iterator

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, StringConstraints

# --- vocabulary -------------------------------------------------------------------------


def normalize_level(value: object) -> object:
    """Accept what clerks type: half-width parentheses and the ASCII class aliases."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace("(", "（").replace(")", "）").replace(",", "、")
    return LEVEL_ALIASES.get(text.lower(), text)


class AssessmentClass(str, Enum):
    """The three classes in which regions are assessed (CONTRACT.md)."""

    PREFECTURE = "市（州）"
    COUNTY = "县（市）"
    DISTRICT = "区"

    @classmethod
    def parse(cls, text: str) -> "AssessmentClass | None":
        try:
            return cls(normalize_level(text))
        except ValueError:
            return None

    @property
    def slug(self) -> str:
        """An ASCII name for file names (CONTRACT.md's aliases)."""
        return {"市（州）": "prefecture", "县（市）": "county", "区": "district"}[self.value]


LEVEL_ALIASES = {
    "prefecture": AssessmentClass.PREFECTURE.value,
    "county": AssessmentClass.COUNTY.value,
    "district": AssessmentClass.DISTRICT.value,
}


class Rating(str, Enum):
    EXCELLENT = "优秀"
    STANDARD = "达标"
    FAILED = "未达标"


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LevelText = Annotated[Text, BeforeValidator(normalize_level)]
ClassName = Annotated[AssessmentClass, BeforeValidator(normalize_level)]
TaskId = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*\.[1-9][0-9]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _private(model: BaseModel, name: str):
    """A private attribute's value, read where pydantic keeps it: read as an attribute it goes
    through ``BaseModel.__getattr__``, which costs an AttributeError raised and caught each time
    (thousands of reads while a build is planned)."""
    private = model.__pydantic_private__
    if private is not None and name in private:
        return private[name]
    return getattr(model, name)


# --- the notice -------------------------------------------------------------------------


class DocumentNumber(_Model):
    """发文字号: 机关代字〔年份〕序号号 (GB/T 9704 §7.2.4)."""

    prefix: Text
    year: int = Field(ge=1949, le=2999)
    sequence: int = Field(ge=1)

    def __str__(self) -> str:
        return f"{self.prefix}〔{self.year}〕{self.sequence}号"


class Imprint(_Model):
    """版记: 抄送, 印发机关 and 印发日期 (GB/T 9704 §7.4)."""

    copy_to: Text | None = None
    office: Text
    date: dt.date


class Notice(_Model):
    issuer: Text
    masthead: Text
    document_number: DocumentNumber
    title_lines: list[Text] = Field(min_length=1)
    addressees: Text
    body: list[Text] = Field(min_length=1)
    signature: Text
    date: dt.date
    imprint: Imprint | None = None

    @property
    def title(self) -> str:
        return "".join(self.title_lines)


# --- the table --------------------------------------------------------------------------


class Task(_Model):
    """One 考评内容 with its 优秀 and 达标 criteria and its 考评对象."""

    id: TaskId
    name: Text
    numbered: bool = True
    excellent: list[Text] = Field(min_length=1)
    standard: list[Text] = Field(min_length=1)
    targets: list[LevelText] = Field(min_length=1)
    pilot_excluded: bool = False

    def numbering(self, items: list[str]) -> list[str]:
        """Criteria as printed: ``1.`` ``2.`` … from position when there are several."""
        if self.numbered and len(items) > 1:
            return [f"{i}.{text}" for i, text in enumerate(items, 1)]
        return list(items)

    @property
    def excellent_lines(self) -> list[str]:
        return self.numbering(self.excellent)

    @property
    def standard_lines(self) -> list[str]:
        return self.numbering(self.standard)

    @property
    def category_number(self) -> int:
        return int(self.id.split(".")[0])


class Category(_Model):
    number: int = Field(ge=1)
    name: Text
    tasks: list[Task] = Field(min_length=1)


class TaskTable(_Model):
    title: Text
    categories: list[Category] = Field(min_length=1)
    notes: list[Text] = []


class TaskBook(_Model):
    """The whole of ``tasks_<year>.yaml``."""

    year: int = Field(ge=1949, le=2999)
    target_levels: dict[LevelText, list[ClassName]] = Field(min_length=1)
    notice: Notice
    table: TaskTable
    _lookup: tuple | None = PrivateAttr(None)

    def _lookups(self) -> dict:
        """The tasks by id, their categories and each class's tasks, worked out once: asked for
        every results row, region and document. Kept with the table they were made from (a
        copy of the book with another table, or other target levels, works them out afresh)."""
        lookup = _private(self, "_lookup")
        if lookup is None or lookup[0] is not self.table or lookup[1] is not self.target_levels:
            by_id, category = {}, {}
            for c in self.table.categories:
                for t in c.tasks:
                    by_id.setdefault(t.id, t)
                    category.setdefault(t.id, c)
            self._lookup = lookup = (self.table, self.target_levels, {"task": by_id, "category": category})
        return lookup[2]

    def tasks(self) -> Iterator[Task]:
        for category in self.table.categories:
            yield from category.tasks

    def task(self, task_id: str) -> Task | None:
        return self._lookups()["task"].get(task_id)

    def category_of(self, task: Task) -> Category:
        found = self._lookups()["category"].get(task.id)
        if found is None or task not in found.tasks:
            return next(c for c in self.table.categories if task in c.tasks)
        return found

    def applies(self, task: Task, cls: AssessmentClass, pilot: bool = False) -> bool:
        if pilot and task.pilot_excluded:
            return False
        return any(cls in self.target_levels.get(t, ()) for t in task.targets)

    def _for(self, cls: AssessmentClass, pilot: bool) -> tuple[tuple[Task, ...], frozenset[str]]:
        lookups = self._lookups()
        found = lookups.get((cls, pilot))
        if found is None:
            tasks = tuple(t for t in self.tasks() if self.applies(t, cls, pilot))
            found = lookups[(cls, pilot)] = (tasks, frozenset(t.id for t in tasks))
        return found

    def tasks_for(self, cls: AssessmentClass, pilot: bool = False) -> list[Task]:
        return list(self._for(cls, pilot)[0])

    def tasks_for_region(self, region: "Region") -> list[Task]:
        return self.tasks_for(region.assessment_class, region.pilot)

    def task_ids_for(self, cls: AssessmentClass, pilot: bool = False) -> frozenset[str]:
        """The ids of ``tasks_for``: whether a task is a region's, without comparing tasks."""
        return self._for(cls, pilot)[1]

    def task_index(self) -> dict[str, Task]:
        """Every task by id (for a loop over many ids: one dict, looked up directly)."""
        return self._lookups()["task"]


# --- regions ----------------------------------------------------------------------------


class RegionType(_Model):
    label: Text
    default_class: ClassName | None = Field(None, alias="class")


class Region(_Model):
    name: Text
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None
    type: Text
    parent: Text | None = None
    class_override: ClassName | None = Field(None, alias="class")
    recipient: Text | None = None
    pilot: bool = False

    # Resolved by the loader from the type table and the override (never read from input).
    _assessment_class: AssessmentClass | None = PrivateAttr(None)

    @property
    def assessment_class(self) -> AssessmentClass:
        found = _private(self, "_assessment_class")
        assert found is not None, "region not resolved by the loader"
        return found

    @property
    def addressee(self) -> str:
        """Whom the region's letter goes to: its civil-affairs bureau unless stated."""
        return self.recipient or f"{self.name}民政局"


class RegionBook(_Model):
    year: int = Field(ge=1949, le=2999)
    types: dict[Text, RegionType] = Field(min_length=1)
    regions: list[Region] = Field(min_length=1)

    _by_name: tuple | None = PrivateAttr(None)

    def by_name(self) -> dict[str, Region]:
        """The regions by name, made once for this list of regions (the first of a name)."""
        found = _private(self, "_by_name")
        if found is None or found[0] is not self.regions or found[1] != len(self.regions):
            by_name: dict[str, Region] = {}
            for r in self.regions:
                by_name.setdefault(r.name, r)
            self._by_name = found = (self.regions, len(self.regions), by_name)
        return found[2]

    def region(self, name: str) -> Region | None:
        return self.by_name().get(name.strip())

    def in_class(self, cls: AssessmentClass) -> list[Region]:
        return [r for r in self.regions if r.assessment_class is cls]


# --- issuing the results -----------------------------------------------------------------


class SequenceFrom(_Model):
    prefix: Text
    year: int = Field(ge=1949, le=2999)
    first_sequence: int = Field(ge=1)

    def number(self, index: int) -> DocumentNumber:
        return DocumentNumber(prefix=self.prefix, year=self.year, sequence=self.first_sequence + index)


class LetterSettings(_Model):
    issuer: Text
    masthead: Text
    document_number: SequenceFrom
    date: dt.date


class SummarySettings(_Model):
    issuer: Text
    masthead: Text
    document_number: DocumentNumber
    date: dt.date
    imprint: Imprint | None = None


class Issuance(_Model):
    """``issuance_<year>.yaml``: numbers and dates of the letters and the 通报."""

    year: int = Field(ge=1949, le=2999)
    letters: LetterSettings
    summary: SummarySettings


# --- rating rules -----------------------------------------------------------------------


class RatingLevel(_Model):
    rating: Rating
    max_failed: int = Field(0, ge=0)
    min_excellent_percent: int = Field(0, ge=0, le=100)


class RatingRules(_Model):
    levels: list[RatingLevel] = Field(min_length=1)
    otherwise: Rating
    veto_tasks: list[TaskId] = []
