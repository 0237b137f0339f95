"""Which documents a command makes: content and results → rendering jobs (views built here)."""

from __future__ import annotations

import functools
import itertools
import weakref

from . import documents, fingerprint
from .content import Content
from .model import AssessmentClass, Region
from .errors import DataError, Problem
from .render import Job


def notice_job(content: Content) -> Job:
    return Job("notice", str(content.tasks.notice.document_number), documents.notice(content.tasks))


# Each entry holds its TaskBook too: while cached, that book's id cannot be taken by another one
_BLANK_FORMS: dict[tuple, tuple] = {}


def blank_form(content: Content, view):
    """The blank form a checklist or report fills, built once per form (class, tasks, marks)."""
    return blank_form_of(content, view.kind == "letter", view.extra["form"].key)


def blank_form_of(content: Content, letter: bool, key: tuple):
    key_ = (id(content.tasks), key)
    if key_ not in _BLANK_FORMS:
        _BLANK_FORMS[key_] = (content.tasks, documents.base_form_of(content.tasks, letter, key))
    return _BLANK_FORMS[key_][1]


class _Source:
    """The content and results a build's views are made from. A recipe names it by a token, so
    a forked worker finds it in the memory it inherited."""

    def __init__(self, content: Content, results=None):
        self.content, self.results = content, results
        self.token = next(_TOKENS)
        _SOURCES[self.token] = self

    @functools.cached_property
    def made_from(self) -> str:
        """What every view of this source is made from: the content (fingerprint.made_from)."""
        c = self.content
        return fingerprint.made_from(
            c.tasks.model_dump_json(), c.regions.model_dump_json(),
            "、".join(f"{r.name}：{r.assessment_class.value}" for r in c.regions.regions),
            c.rules.model_dump_json() if c.rules is not None else "-",
            c.issuance.model_dump_json() if c.issuance is not None else "-")


_TOKENS = itertools.count(1)
_SOURCES: "weakref.WeakValueDictionary[int, _Source]" = weakref.WeakValueDictionary()


class Recipe:
    """How to build one view again (a job lets its view go once fingerprinted): small to send
    to a worker, which builds the view from the content it inherited when it was forked."""

    def __init__(self, source: _Source, kind: str, region: str | None = None, level: str | None = None):
        self.source, self.kind, self.region, self.level = source, kind, region, level

    def __getstate__(self):
        return (self.source.token, self.kind, self.region, self.level)

    def __setstate__(self, state):
        token, self.kind, self.region, self.level = state
        self.source = _SOURCES.get(token)
        if self.source is None:
            raise RuntimeError("a worker process must be forked from the process that planned the build")

    def __call__(self):
        content, results = self.source.content, self.source.results
        region = content.region(self.region) if self.region else None
        if self.kind == "checklist":
            return documents.checklist(content.tasks, AssessmentClass(self.level), region)
        o = documents.outcome(content.rules, region, results.final(region))
        if self.kind == "report":
            return documents.report(content.tasks, o, results.sample)
        index = [r.name for r in content.regions.regions].index(region.name)
        return documents.letter(content.tasks, content.issuance, index, o, results.sample)


def _source(content: Content, results=None) -> _Source:
    """One source per (content, results) pair while its jobs live."""
    for source in list(_SOURCES.values()):
        if source.content is content and source.results is results:
            return source
    return _Source(content, results)


def _job(kind: str, name: str, recipe: Recipe, kept: dict | None, data: str = "", **fields) -> Job:
    """The job of the view ``recipe`` builds. ``kept``: what a build kept of the views it
    planned (OutputDir.views, by what each is made from): a view made from what an earlier one
    was made from is that view; its job is planned from what was kept, without building it
    (built only if its document is rendered). ``data``: the results the view is made from."""
    made_from = None
    if kept is not None:
        made_from = fingerprint.made_from(recipe.source.made_from, kind, name, recipe.region or "",
                                          recipe.level or "", data)
        entry = kept.get(made_from)
        if entry is not None:
            try:
                digest, imprint, (letter, key) = entry
                base = blank_form_of(recipe.source.content, bool(letter), _tuples(key))
                if not (isinstance(digest, str) and isinstance(imprint, bool)):
                    raise ValueError(entry)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                pass  # not as a build keeps it: the view is built
            else:
                return Job(kind, name, None, base=base, recipe=recipe, made_from=made_from,
                           kept=[digest, imprint, [letter, key]], **fields)
    view = recipe()
    letter, key = view.kind == "letter", view.extra["form"].key
    return Job(kind, name, view, base=blank_form_of(recipe.source.content, letter, key), recipe=recipe,
               made_from=made_from, **fields).settle(form=[letter, key])


def _tuples(value):
    """A form's key as JSON keeps it (lists) made a key again (tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def checklist_job(content: Content, cls: AssessmentClass, region: Region | None = None,
                  kept: dict | None = None) -> Job:
    recipe = Recipe(_source(content), "checklist", region.name if region else None, cls.value)
    return _job("checklist", region.name if region else cls.value, recipe, kept,
                sub="地区" if region else None, level=cls.value,
                region=region.name if region else None, xlsx=True)


def split_complete(content: Content, results, names=()) -> tuple[list, list]:
    """Regions whose applicable tasks all have a final rating, and the others with the ids
    still without one."""
    wanted = [content.region(n) for n in names] if names else results.regions(content)
    complete, incomplete = [], []
    for region in wanted:
        missing = results.missing(content, region)
        (incomplete.append((region, missing)) if missing else complete.append(region))
    return complete, incomplete


def missing_list(results, region: Region, missing: list[str]) -> str:
    """“1.2（九台区.xlsx 考评表 H6 单元格）、16.4”: each id with where its rating belongs, when known."""
    items = []
    for task_id in missing:
        where = results.where(region, task_id)
        items.append(f"{task_id}（{where}）" if where else task_id)
    return "、".join(items)


def missing_message(results, region: Region, missing: list[str], skipped: bool = True) -> str:
    tail = "，未生成其报告和函" if skipped else ""
    return f"{region.name}：以下任务还没有考评等次{tail}：{missing_list(results, region, missing)}"


def report_jobs(content: Content, results, regions: list[Region], kept: dict | None = None) -> list[Job]:
    jobs = []
    source = _source(content, results)
    for region in regions:
        final = results.final(region)
        o = documents.outcome(content.rules, region, final)
        common = dict(level=region.assessment_class.value, region=region.name, rating=o.rating.value)
        # what its report and letter are made from besides the content (Recipe)
        data = f"{results.sample} {final!r}" if kept is not None else ""
        jobs.append(_job("report", region.name, Recipe(source, "report", region.name), kept, data, **common))
        jobs.append(_job("letter", region.name, Recipe(source, "letter", region.name), kept, data, **common))
    return jobs


def summary_gaps(content: Content, results) -> tuple[list, list[Region]]:
    """Regions of the regions file whose final ratings are incomplete (with the missing ids),
    and those with no rating at all: a 通报 is issued only when both are empty."""
    incomplete, absent = [], []
    for region in content.regions.regions:
        if region.name not in results.by_region:
            absent.append(region)
        elif missing := results.missing(content, region):
            incomplete.append((region, missing))
    return incomplete, absent


def summary_gaps_problems(content: Content, results) -> list[Problem]:
    incomplete, absent = summary_gaps(content, results)
    problems = []
    if absent:
        problems.append(Problem(results.source, None, f"以下 {len(absent)} 个地区还没有考评结果："
                                + "、".join(r.name for r in absent)))
    for region, missing in incomplete:
        problems.append(Problem(results.source, None, missing_message(results, region, missing, skipped=False)))
    return problems


def summary_job(content: Content, results, draft: bool = False) -> Job:
    """The 通报. Only from complete results (every region, every final rating), unless a draft,
    which carries the 征求意见稿 mark on every page and lists who is still missing."""
    incomplete, absent = summary_gaps(content, results)
    if (incomplete or absent) and not draft:
        problems = summary_gaps_problems(content, results)
        problems.append(Problem(results.source, None, "全省通报须在所有地区考评完毕后印发；"
                                "如需先出征求意见稿，请加 --draft"))
        raise DataError(problems)
    complete = [r for r in content.regions.regions
                if r.name in results.by_region and not results.missing(content, r)]
    outcomes = [documents.outcome(content.rules, r, results.final(r)) for r in complete]
    pending = [r.name for r, _ in incomplete] + [r.name for r in absent]
    view = documents.summary(content.tasks, content.regions, content.issuance, outcomes,
                             pending, results.sample, draft=draft)
    name = str(content.issuance.summary.document_number) + ("（征求意见稿）" if draft else "")
    # filled on its form (forms.py): its attachment and 版记 page laid out once, its body per
    # build; a draft (its table lacks the regions still pending) is laid out whole
    base = None if draft else documents.summary_form(view, view.extra["form"].key[1])
    return Job("summary", name, view, base=base)


def all_jobs(content: Content, results, kept: dict | None = None) -> tuple[list[Job], list, list[Problem]]:
    """Everything for the province: notice, class and region checklists, reports, letters and,
    when every region is complete, the 通报. Also: the incomplete regions, and why no 通报.
    ``kept``: what a build kept of its views (``_job``)."""
    jobs = [notice_job(content)]
    jobs += [checklist_job(content, cls, kept=kept) for cls in AssessmentClass]
    jobs += [checklist_job(content, r.assessment_class, r, kept) for r in content.regions.regions]
    complete, incomplete = split_complete(content, results)
    jobs += report_jobs(content, results, complete, kept)
    gaps = summary_gaps_problems(content, results)
    if not gaps:
        # the longest of the documents filled on a form (its body laid out per build) taken up
        # first: a build's workers then share the rest
        jobs.insert(1, summary_job(content, results))
    return jobs, incomplete, gaps
