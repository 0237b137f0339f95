"""The ``pipeline`` command: parse options, call the library, report. Nothing else."""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click

from .content import load_content, parse_class_option
from .errors import DataError, RenderError

class _WarningsToStderr(logging.Handler):
    """The library's warnings, in Chinese, on whatever stderr is current."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"警告：{record.getMessage()}", err=True)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def fail_cleanly(func):
    """Bad data → its problems on stderr and exit 1; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DataError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"共发现 {len(exc.problems)} 处问题，请修改后重试。", err=True)
            sys.exit(1)
        except RenderError as exc:
            click.echo(f"无法生成文档：{exc}", err=True)
            sys.exit(1)
        except OSError as exc:  # e.g. an --out folder that cannot be written
            click.echo(f"无法读写文件：{exc.filename or ''}（{exc.strerror or exc}）", err=True)
            sys.exit(1)

    return wrapper


def content_options(func):
    func = click.option("--regions", "regions_path", type=click.Path(path_type=Path),
                        help="地区名单（默认：任务表旁的 regions_*_<年度>.yaml）")(func)
    func = click.option("--content", "content_path", type=click.Path(path_type=Path),
                        help="任务表（默认：content/tasks_2016.yaml）")(func)
    return func


def render_options(func):
    func = click.option("--format", "formats", multiple=True,
                        type=click.Choice(["docx", "pdf", "xlsx", "html"]),
                        help="输出格式，可重复（默认：docx 和 pdf，考评表另有 xlsx）")(func)
    func = click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
                        default=Path("output"), show_default=True, help="输出目录")(func)
    return content_options(func)


def run_jobs(jobs, out_dir: Path, formats: tuple[str, ...]) -> None:
    from .output import OutputDir
    from .render import Renderer

    out = OutputDir(out_dir)
    renderer = Renderer()
    entries = []
    for job in jobs:
        entries += renderer.run(job, out, formats)
    out.update_manifest(entries)
    for entry in entries:
        click.echo(f"已生成 {out_dir / entry.path}")


class LevelType(click.ParamType):
    name = "LEVEL"

    def convert(self, value, param, ctx):
        try:
            return parse_class_option(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.group(context_settings=CONTEXT)
def main():
    """公文生成流水线：由任务表生成通知、考评表、考评报告、等次函和通报。"""
    log = logging.getLogger("pipeline")
    if not any(isinstance(h, _WarningsToStderr) for h in log.handlers):
        log.addHandler(_WarningsToStderr())
    log.propagate = False


@main.command()
@content_options
@click.option("--rules", "rules_path", type=click.Path(path_type=Path),
              help="等次规则（默认：任务表旁的 rating_rules.yaml）")
@click.option("--results", "results_path", type=click.Path(path_type=Path),
              help="同时检查考评结果文件（CSV 或 XLSX）")
@fail_cleanly
def validate(content_path, regions_path, rules_path, results_path):
    """检查全部数据文件，逐条列出问题（文件:行号: 说明）。"""
    content = load_content(content_path, regions_path, rules_path, need_rating_files=True)
    results_line = ""
    if results_path is not None:
        from .results import load_results
        results = load_results(results_path, content)
        from .jobs import missing_message, split_complete
        complete, incomplete = split_complete(content, results)
        results_line = (f"考评结果（{results.encoding}）：{len(complete)} 个地区完整"
                        + (f"，{len(incomplete)} 个地区缺少等次" if incomplete else "") + "。")
        for region, missing in incomplete:
            click.echo(missing_message(region, missing), err=True)
    tasks = list(content.tasks.tasks())
    click.echo(f"数据无误：{len(content.tasks.table.categories)} 个考评项目，{len(tasks)} 项考评内容，"
               f"{len(content.regions.regions)} 个考评地区。" + results_line)


@main.command()
@content_options
@click.option("--level", type=LevelType(), help="考评层次：市（州）、县（市）或 区")
@click.option("--region", "region_name", help="地区名称，如 九台区")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@fail_cleanly
def tasks(content_path, regions_path, level, region_name, as_json):
    """列出适用于某一考评层次或某一地区的考评内容。"""
    if (level is None) == (region_name is None):
        raise click.UsageError("请指定 --level 或 --region 其中之一。")
    content = load_content(content_path, regions_path)
    book = content.tasks
    if region_name is not None:
        region = content.region(region_name)
        if region is None:
            raise click.BadParameter(f"地区“{region_name}”不在地区名单中。", param_hint="--region")
        selected = book.tasks_for_region(region)
        heading = f"{region.name}（{region.assessment_class.value}）"
    else:
        selected = book.tasks_for(level)
        heading = level.value
    if as_json:
        items = [{"id": t.id, "category": book.category_of(t).name, "name": t.name} for t in selected]
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    click.echo(f"{heading}：共 {len(selected)} 项")
    for t in selected:
        click.echo(f"{t.id:>5}  {book.category_of(t).name}｜{t.name}")


@main.command()
@render_options
@fail_cleanly
def notice(content_path, regions_path, out_dir, formats):
    """生成印发通知（附件为任务表）。"""
    from .jobs import notice_job

    content = load_content(content_path, regions_path)
    run_jobs([notice_job(content)], out_dir, formats)


@main.command()
@render_options
@click.option("--level", "levels", type=LevelType(), multiple=True, help="考评层次，可重复")
@click.option("--region", "region_names", multiple=True, help="地区名称，可重复")
@click.option("--all-regions", is_flag=True, help="为地区名单中的每个地区各生成一份")
@fail_cleanly
def checklist(content_path, regions_path, out_dir, formats, levels, region_names, all_regions):
    """生成空白考评表（DOCX、PDF 和可填写的 XLSX）；不加选项时每个考评层次一份。"""
    from .jobs import checklist_job
    from .model import AssessmentClass

    content = load_content(content_path, regions_path)
    regions = []
    for name in region_names:
        region = content.region(name)
        if region is None:
            raise click.BadParameter(f"地区“{name}”不在地区名单中。", param_hint="--region")
        regions.append(region)
    if all_regions:
        regions = list(content.regions.regions)
    if not levels and not region_names and not all_regions:
        levels = tuple(AssessmentClass)
    jobs = [checklist_job(content, cls) for cls in dict.fromkeys(levels)]
    jobs += [checklist_job(content, r.assessment_class, r) for r in regions]
    run_jobs(jobs, out_dir, formats)


def load_for_results(content_path, regions_path, results_path, names=()):
    """Content with its rating files, and the results (default: the year's sample file)."""
    from .results import load_results

    content = load_content(content_path, regions_path, need_rating_files=True)
    for name in names:
        if content.region(name) is None:
            raise click.BadParameter(f"地区“{name}”不在地区名单中。", param_hint="--region")
    if results_path is None:
        results_path = content.tasks_path.parent / f"results_{content.tasks.year}_sample.csv"
    results = load_results(results_path, content)
    return content, results


@main.command()
@render_options
@click.option("--results", "results_path", type=click.Path(path_type=Path), required=True,
              help="考评结果（CSV 或填好的 XLSX 考评表）")
@click.option("--region", "region_names", multiple=True, help="地区名称，可重复；默认：结果中的全部地区")
@fail_cleanly
def report(content_path, regions_path, out_dir, formats, results_path, region_names):
    """为每个地区生成考评报告和等次函。"""
    from .jobs import missing_message, report_jobs, split_complete

    content, results = load_for_results(content_path, regions_path, results_path, region_names)
    complete, incomplete = split_complete(content, results, region_names)
    run_jobs(report_jobs(content, results, complete), out_dir, formats)
    for region, missing in incomplete:
        click.echo(missing_message(region, missing), err=True)
    if incomplete:
        sys.exit(1)


@main.command()
@render_options
@click.option("--results", "results_path", type=click.Path(path_type=Path), required=True,
              help="考评结果（CSV 或填好的 XLSX 考评表）")
@fail_cleanly
def summary(content_path, regions_path, out_dir, formats, results_path):
    """生成全省考评结果通报。"""
    from .jobs import summary_job

    content, results = load_for_results(content_path, regions_path, results_path)
    run_jobs([summary_job(content, results)], out_dir, formats)


@main.command()
@content_options
@click.argument("workbooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "target", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="汇总写入的结果 CSV")
@fail_cleanly
def collect(content_path, regions_path, workbooks, target):
    """把各地交回的 XLSX 考评表汇总成一个结果 CSV。"""
    from .errors import DataError
    from .output import atomic_write
    from .results import collect as collect_records, records_csv

    content = load_content(content_path, regions_path)
    records, problems = collect_records(list(workbooks), content)
    if problems:
        raise DataError(problems)
    atomic_write(target, records_csv(records))
    regions = len({r.region for r in records})
    click.echo(f"已汇总 {len(workbooks)} 个工作簿、{regions} 个地区、{len(records)} 条等次到 {target}")


@main.command()
@render_options
@click.option("--results", "results_path", type=click.Path(path_type=Path),
              help="考评结果（默认：任务表旁的 results_<年度>_sample.csv 样例数据）")
@click.option("--jobs", "workers", type=click.IntRange(1, 64), help="并行进程数（默认：CPU 核数）")
@fail_cleanly
def build(content_path, regions_path, out_dir, formats, results_path, workers):
    """生成全省全部文档：通知、考评表、考评报告、等次函和通报。"""
    import time

    from .build import build as run_build, check_system, default_workers, describe
    from .jobs import all_jobs, missing_message
    from .output import OutputDir

    started = time.perf_counter()
    if "pdf" in (formats or ("pdf",)):
        check_system()
    content, results = load_for_results(content_path, regions_path, results_path)
    jobs, incomplete = all_jobs(content, results)
    out = OutputDir(out_dir)
    workers = workers or default_workers()
    with click.progressbar(length=len(jobs), label="生成文档", show_pos=True,
                           file=sys.stderr) as bar:
        outcome = run_build(jobs, out, workers, formats, progress=bar.update)
    out.update_manifest(outcome.entries)
    if outcome.interrupted:
        click.echo(f"已中断：已完成的 {len(outcome.entries)} 个文件完整保留并记入清单，重新运行即可继续。", err=True)
        sys.exit(1)
    for region, missing in incomplete:
        click.echo(missing_message(region, missing), err=True)
    for job, reason in outcome.failures:
        click.echo(f"未能生成 {describe(job)}：{reason}", err=True)
    elapsed = time.perf_counter() - started
    click.echo(f"完成：{len(jobs) - len(outcome.failures)}/{len(jobs)} 份文档，{len(outcome.entries)} 个文件，"
               f"{workers} 个进程，用时 {elapsed:.1f} 秒。输出目录：{out_dir}")
    if outcome.failures or incomplete:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
