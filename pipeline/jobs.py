"""Which documents a command makes: content and results → rendering jobs (views built here)."""

from __future__ import annotations

from . import documents
from .content import Content
from .model import AssessmentClass, Region
from .render import Job


def notice_job(content: Content) -> Job:
    return Job("notice", str(content.tasks.notice.document_number), documents.notice(content.tasks))


def checklist_job(content: Content, cls: AssessmentClass, region: Region | None = None) -> Job:
    view = documents.checklist(content.tasks, cls, region)
    return Job("checklist", region.name if region else cls.value, view,
               sub="地区" if region else None, level=cls.value,
               region=region.name if region else None, xlsx=True)


def split_complete(content: Content, results, names=()) -> tuple[list, list]:
    """Regions whose applicable tasks are all rated, and the others with their missing ids."""
    wanted = [content.region(n) for n in names] if names else results.regions(content)
    complete, incomplete = [], []
    for region in wanted:
        missing = results.missing(content, region)
        (incomplete.append((region, missing)) if missing else complete.append(region))
    return complete, incomplete


def missing_message(region: Region, missing: list[str]) -> str:
    return f"{region.name}：以下任务没有等次，未生成其报告和函：{'、'.join(missing)}"


def report_jobs(content: Content, results, regions: list[Region]) -> list[Job]:
    jobs = []
    order = {r.name: i for i, r in enumerate(content.regions.regions)}
    for region in regions:
        o = documents.outcome(content.rules, region, results.by_region.get(region.name, {}))
        common = dict(level=region.assessment_class.value, region=region.name, rating=o.rating.value)
        jobs.append(Job("report", region.name,
                        documents.report(content.tasks, o, results.sample), **common))
        jobs.append(Job("letter", region.name,
                        documents.letter(content.tasks, content.issuance, order[region.name], o,
                                         results.sample), **common))
    return jobs


def summary_job(content: Content, results) -> Job:
    complete, incomplete = split_complete(content, results)
    outcomes = [documents.outcome(content.rules, r, results.by_region[r.name]) for r in complete]
    view = documents.summary(content.tasks, content.regions, content.issuance, outcomes,
                             [r.name for r, _ in incomplete], results.sample)
    return Job("summary", str(content.issuance.summary.document_number), view)


def all_jobs(content: Content, results) -> tuple[list[Job], list]:
    """Everything for the province: notice, class and region checklists, reports, letters, 通报."""
    jobs = [notice_job(content)]
    jobs += [checklist_job(content, cls) for cls in AssessmentClass]
    jobs += [checklist_job(content, r.assessment_class, r) for r in content.regions.regions]
    complete, incomplete = split_complete(content, results)
    jobs += report_jobs(content, results, complete)
    jobs.append(summary_job(content, results))
    return jobs, incomplete
