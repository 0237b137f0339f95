"""The ``pipeline`` command: parse options, call the library, report. Nothing else.

Exit codes (CONTRACT.md): 0 done; 1 bad data, or nothing to do (the message says which file,
line or cell, and what to fix); 2 bad usage (an unknown option, a value outside its set).
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import gc
import json
import logging
import os
import sys
from pathlib import Path

import click

from . import i18n
from .content import load_content, parse_class_option
from .errors import DataError, RenderError

i18n.install()  # click's own messages (usage, errors, help) in Chinese
# The process ends with the command: what it made is left to the operating system, not walked
# once more by the interpreter's last full collection (0.07 s CPU after a build). Exit handlers
# (the writers' temporary files, render.py) still run.
atexit.register(gc.freeze)


class _WarningsToStderr(logging.Handler):
    """The library's warnings, in Chinese, on whatever stderr is current."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"警告：{record.getMessage()}", err=True)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Command(click.Command):
    """A command whose usage line speaks Chinese too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class Group(click.Group):
    command_class = Command
    group_class = type  # a group's own groups (users) speak Chinese too

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)


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


def nothing_done(message: str) -> None:
    """A command that would write nothing says why and exits 1 (never a silent success)."""
    click.echo(message, err=True)
    sys.exit(1)


def content_options(func):
    func = click.option("--regions", "regions_path", type=click.Path(path_type=Path), metavar="文件",
                        help="地区名单（默认：任务表旁的 regions_*_<年度>.yaml）")(func)
    func = click.option("--content", "content_path", type=click.Path(path_type=Path), metavar="文件",
                        help="任务表（默认：content/tasks_2016.yaml）")(func)
    return func


def _out_dir(ctx, param, value):
    """An empty --out would write into the current folder: refused."""
    if not str(value).strip():
        raise click.BadParameter("输出目录不能为空，请给出目录名，如 output", ctx=ctx, param=param)
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise click.BadParameter(f"“{value}”是一个文件，应为文件夹", ctx=ctx, param=param)
    return path


def render_options(formats: tuple[str, ...]):
    """--out, --format (only the formats this document has) and the content options."""

    def decorate(func):
        func = click.option("--format", "formats", multiple=True, type=click.Choice(formats),
                            metavar="格式", help=f"输出格式，可重复：{'、'.join(formats)}（默认：除 html 外全部）")(func)
        func = click.option("--out", "out_dir", type=str, default="output", show_default=True,
                            metavar="目录", callback=_out_dir, help="输出目录")(func)
        return content_options(func)

    return decorate


def run_jobs(jobs, out_dir: Path, formats: tuple[str, ...]) -> None:
    from .output import OutputDir
    from .render import Renderer

    if not jobs:
        nothing_done("没有要生成的文档。")
    out = OutputDir(out_dir)
    renderer = Renderer()
    entries = []
    for job in jobs:
        entries += renderer.run(job, out, formats)
    if not entries:
        nothing_done(f"所选格式（{'、'.join(formats)}）下没有要生成的文件。")
    out.update_manifest(entries)
    for entry in entries:
        click.echo(f"已生成 {out_dir / entry.path}")


class LevelType(click.ParamType):
    name = "层次"

    def convert(self, value, param, ctx):
        try:
            return parse_class_option(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def find_region(content, name: str, option: str = "--region"):
    """The region of that name, or a usage error with a suggestion (a unique prefix, a close name)."""
    from .results import suggest

    region = content.region(name)
    if region is None:
        raise click.BadParameter(f"地区“{name}”不在地区名单中{suggest(name, content)}。", param_hint=option)
    return region


@click.group(cls=Group, context_settings=CONTEXT)
def main():
    """公文生成流水线：由任务表生成通知、考评表、考评报告、等次函和通报。

    退出码：0 完成；1 数据有误或没有可做的事（提示中写明文件、行号或单元格）；2 命令用法有误。
    """
    log = logging.getLogger("pipeline")
    if not any(isinstance(h, _WarningsToStderr) for h in log.handlers):
        log.addHandler(_WarningsToStderr())
    log.propagate = False


@main.command()
@content_options
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), metavar="文件",
              help="等次规则（默认：任务表旁的 rating_rules.yaml）")
@click.option("--results", "results_path", type=click.Path(path_type=Path), metavar="文件",
              help="同时检查考评结果文件（CSV 或 XLSX）")
@fail_cleanly
def validate(content_path, regions_path, rules_path, results_path):
    """检查全部数据文件，逐条列出问题（文件:行号: 说明）。"""
    content = load_content(content_path, regions_path, rules_path, need_rating_files=True)
    tasks = list(content.tasks.tasks())
    click.echo(f"数据文件无误：{len(content.tasks.table.categories)} 个考评项目，{len(tasks)} 项考评内容，"
               f"{len(content.regions.regions)} 个考评地区。")
    if results_path is not None:
        from .jobs import missing_list, split_complete, summary_gaps
        from .results import load_results
        results = load_results(results_path, content)
        complete, incomplete = split_complete(content, results)
        _, absent = summary_gaps(content, results)
        for region, missing in incomplete:
            click.echo(f"{region.name}：以下任务还没有考评等次：{missing_list(results, region, missing)}")
        click.echo(f"考评结果格式无误（{results.encoding}）：{len(complete)} 个地区已全部考评，"
                   f"{len(incomplete)} 个地区尚缺考评等次，{len(absent)} 个地区还没有结果。")


@main.command()
@content_options
@click.option("--level", type=LevelType(), metavar="层次", help="考评层次：市（州）、县（市）或 区")
@click.option("--region", "region_name", metavar="名称", help="地区名称，如 九台区")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@fail_cleanly
def tasks(content_path, regions_path, level, region_name, as_json):
    """列出适用于某一考评层次或某一地区的考评内容（--level 与 --region 二选一）。"""
    if level is not None and region_name is not None:
        raise click.UsageError("--level 和 --region 不能同时使用，请只给出其中一个。")
    if level is None and region_name is None:
        raise click.UsageError("请用 --level 指定考评层次，或用 --region 指定地区。")
    content = load_content(content_path, regions_path)
    book = content.tasks
    if region_name is not None:
        region = find_region(content, region_name)
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


DOCUMENT_FORMATS = ("docx", "pdf", "ofd", "html")
CHECKLIST_FORMATS = ("docx", "pdf", "ofd", "xlsx", "html")


@main.command()
@render_options(DOCUMENT_FORMATS)
@fail_cleanly
def notice(content_path, regions_path, out_dir, formats):
    """生成印发通知（附件为任务表）。"""
    from .jobs import notice_job

    content = load_content(content_path, regions_path)
    run_jobs([notice_job(content)], out_dir, formats)


@main.command()
@render_options(CHECKLIST_FORMATS)
@click.option("--level", "levels", type=LevelType(), multiple=True, metavar="层次", help="考评层次，可重复")
@click.option("--region", "region_names", multiple=True, metavar="名称", help="地区名称，可重复")
@click.option("--all-regions", is_flag=True, help="为地区名单中的每个地区各生成一份")
@fail_cleanly
def checklist(content_path, regions_path, out_dir, formats, levels, region_names, all_regions):
    """生成空白考评表（DOCX、PDF 和可填写的 XLSX）；不加选项时每个考评层次一份。"""
    from .jobs import checklist_job
    from .model import AssessmentClass

    content = load_content(content_path, regions_path)
    regions = [find_region(content, name) for name in region_names]
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
        find_region(content, name)
    if results_path is None:
        results_path = content.tasks_path.parent / f"results_{content.tasks.year}_sample.csv"
    results = load_results(results_path, content)
    return content, results


RESULTS_HELP = "考评结果（CSV 或填好的 XLSX 考评表）"


@main.command()
@render_options(DOCUMENT_FORMATS)
@click.option("--results", "results_path", type=click.Path(path_type=Path), required=True,
              metavar="文件", help=RESULTS_HELP)
@click.option("--region", "region_names", multiple=True, metavar="名称",
              help="地区名称，可重复；默认：结果中的全部地区")
@fail_cleanly
def report(content_path, regions_path, out_dir, formats, results_path, region_names):
    """为每个已考评完毕的地区生成考评报告和等次函。"""
    from .jobs import missing_message, report_jobs, split_complete

    content, results = load_for_results(content_path, regions_path, results_path, region_names)
    if not results.by_region:
        nothing_done(f"{results.source}：文件中没有任何等次，没有可生成的报告和函。")
    complete, incomplete = split_complete(content, results, region_names)
    for region, missing in incomplete:
        click.echo(missing_message(results, region, missing), err=True)
    if not complete:
        nothing_done("没有考评完毕的地区（考评等次要全部填写），没有生成任何报告和函。")
    run_jobs(report_jobs(content, results, complete), out_dir, formats)
    if incomplete:
        click.echo(f"已为 {len(complete)} 个地区生成报告和函；{len(incomplete)} 个地区因缺少考评等次未生成（见上）。",
                   err=True)
        sys.exit(1)


@main.command()
@render_options(DOCUMENT_FORMATS)
@click.option("--results", "results_path", type=click.Path(path_type=Path), required=True,
              metavar="文件", help=RESULTS_HELP)
@click.option("--draft", is_flag=True,
              help="结果不全时先出征求意见稿：每页标“征求意见稿”，并列出尚未考评完毕的地区")
@fail_cleanly
def summary(content_path, regions_path, out_dir, formats, results_path, draft):
    """生成全省考评结果通报（所有地区考评完毕后）。"""
    from .jobs import summary_job

    content, results = load_for_results(content_path, regions_path, results_path)
    run_jobs([summary_job(content, results, draft=draft)], out_dir, formats)


@main.command()
@content_options
@click.argument("workbooks", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="工作簿或文件夹...")
@click.option("--to", "target", type=click.Path(path_type=Path, dir_okay=False), required=True,
              metavar="文件", help="汇总写入的结果 CSV")
@click.option("--force", is_flag=True, help="结果文件已存在时覆盖它（原文件先另存为带时间的备份）")
@fail_cleanly
def collect(content_path, regions_path, workbooks, target, force):
    """把各地交回的 XLSX 考评表（或放着它们的文件夹）汇总成一个结果 CSV。"""
    from .output import atomic_write
    from .results import collect as collect_workbooks, results_csv

    content = load_content(content_path, regions_path)
    if target.exists() and not force:
        nothing_done(f"{target}：结果文件已存在，未作改动。要覆盖请加 --force（原文件会先另存为备份）。")
    outcome = collect_workbooks(list(workbooks), content)
    for name in outcome.skipped:
        click.echo(f"{name}：不是 .xlsx 工作簿，已跳过", err=True)
    for warnings in outcome.warnings.values():  # accepted, but to be looked at: first
        for warning in warnings:
            click.echo(f"提醒：{warning}", err=True)
    shown = set()
    for problems in outcome.rejected.values():
        for problem in problems:
            if str(problem) not in shown:  # two copies of one region: one line for both files
                shown.add(str(problem))
                click.echo(str(problem), err=True)
    results = outcome.results
    faulty = set(outcome.rejected_region.values()) - set(results.by_region)
    click.echo("地区\t自评\t考评\t问题\t填报单位、填报人、联系电话、填报日期")
    missing = []
    for region in content.regions.regions:
        status = results.status(content, region, faulty)
        if status == "有误":
            files = "、".join(n for n, r in outcome.rejected_region.items() if r == region.name)
            click.echo(f"{region.name}\t—\t—\t有误，未汇总（{files}）")
        elif status == "未交":
            missing.append(region.name)
        else:
            done_self, done_final, total = results.counts(content, region)
            footer = outcome.footer(region.name)
            filled = "、".join(v or "（未填）" for _, v in footer.items()) if footer and footer.filled else "（未填）"
            click.echo(f"{region.name}\t{done_self}/{total}\t{done_final}/{total}\t\t{filled}")
    if missing:
        click.echo(f"尚未交回（{len(missing)} 个）：{'、'.join(missing)}")
    if not outcome.accepted:
        nothing_done("没有可汇总的工作簿，未写入结果文件。")
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = target.with_name(f"{target.stem}.备份-{stamp}{target.suffix}")
        target.replace(backup)
        click.echo(f"原结果文件已另存为 {backup}")
    atomic_write(target, results_csv(results, content))
    rows = sum(len(v) for v in results.by_region.values())
    click.echo(f"已汇总 {len(outcome.accepted)} 个工作簿、{len(results.by_region)} 个地区、{rows} 行等次到 {target}")
    if outcome.rejected:
        click.echo(f"有 {len(outcome.rejected)} 个工作簿未通过检查，未汇总（见上）；结果文件只包含其余工作簿。", err=True)
        sys.exit(1)


@main.command()
@render_options(CHECKLIST_FORMATS)
@click.option("--results", "results_path", type=click.Path(path_type=Path), metavar="文件",
              help="考评结果（默认：任务表旁的 results_<年度>_sample.csv 样例数据）")
@click.option("--jobs", "workers", type=click.IntRange(1, 64), metavar="数量",
              help="并行进程数（默认：CPU 核数）")
@click.option("--force", is_flag=True, help="全部重新生成（默认只生成输入有变化或文件缺失、被改动的）")
@fail_cleanly
def build(content_path, regions_path, out_dir, formats, results_path, workers, force):
    """生成全省全部文档：通知、考评表、考评报告、等次函和通报。"""
    import time

    from . import fingerprint
    from .build import build as run_build, check_system, describe, fewer_collections, plan, worker_count
    from .jobs import all_jobs, missing_message
    from .output import OutputDir

    started = time.perf_counter()
    if {"pdf", "ofd"} & set(formats or ("pdf",)):
        check_system()
    # while the build is planned and run, to the end of the command: the content and every job's
    # fingerprints live to the end, and the objects they are made of are not gone through again
    # as soon as planning is done (a few ms each build)
    with fewer_collections():
        content, results = load_for_results(content_path, regions_path, results_path)
        out = OutputDir(out_dir)
        # the views the last build planned, by what they are made from: those made from the
        # same are not built again to be fingerprinted (jobs.py); --force builds every one. The
        # font files' hashes, by their stat (fingerprint.py)
        views = {} if force else out.notes("views")
        fingerprint.take_font_notes({} if force else out.notes("fonts"))
        jobs, incomplete, gaps = all_jobs(content, results, views)
        from .freshness import withdraw
        for path in withdraw(out, jobs):  # a kept file never contradicts the results it was given
            click.echo(f"已删除与当前考评结果不符的旧文件：{path}", err=True)
        todo, kept = plan(jobs, out, formats, force)
        out.keep_notes("views", {job.made_from: job.kept for job in jobs if job.made_from and job.kept})
        out.keep_notes("fonts", fingerprint.font_notes())
        workers = worker_count(workers, len(todo))
        with click.progressbar(length=len(todo), label="生成文档", show_pos=True,
                               file=sys.stderr) as bar:
            outcome = run_build(todo, out, workers, progress=bar.update, process_ends=True)
        out.update_manifest(kept + outcome.entries)
        if outcome.interrupted:
            click.echo(f"已中断：已完成的 {len(outcome.entries)} 个文件完整保留并记入清单，重新运行即可继续。", err=True)
            sys.exit(1)
        for region, missing in incomplete:
            click.echo(missing_message(results, region, missing), err=True)
        if gaps:
            click.echo("考评结果不全，未生成全省通报（可用 pipeline summary --draft 先出征求意见稿）。", err=True)
        for job, reason in outcome.failures:
            click.echo(f"未能生成 {describe(job)}：{reason}", err=True)
        elapsed = time.perf_counter() - started
        click.echo(f"完成：{len(jobs) - len(outcome.failures)}/{len(jobs)} 份文档；新生成 {len(outcome.entries)} 个文件，"
                   f"沿用未改动的 {len(kept)} 个；{workers} 个进程，用时 {elapsed:.1f} 秒。输出目录：{out_dir}")
        if outcome.failures or incomplete or gaps:
            sys.exit(1)


def _export_path(suffix: str):
    def check(ctx, param, value):
        if value is not None and value.suffix.lower() != suffix:
            raise click.BadParameter(f"“{value}”应以 {suffix} 结尾", ctx=ctx, param=param)
        return value
    return check


@main.command()
@content_options
@click.option("--results", "results_path", type=click.Path(path_type=Path), required=True,
              metavar="文件", help=RESULTS_HELP)
@click.option("--previous", "previous_path", type=click.Path(path_type=Path), metavar="文件",
              help="上年考评结果 CSV：各表加上上年数字和增减")
@click.option("--xlsx", "xlsx_path", type=click.Path(path_type=Path, dir_okay=False), metavar="文件",
              callback=_export_path(".xlsx"), help="另存为 XLSX（每个表一个工作表，另有图表）")
@click.option("--pdf", "pdf_path", type=click.Path(path_type=Path, dir_okay=False), metavar="文件",
              callback=_export_path(".pdf"), help="另存为 PDF（A4 横向，含图表）")
@fail_cleanly
def stats(content_path, regions_path, results_path, previous_path, xlsx_path, pdf_path):
    """全省考评结果统计：按等次、考评层次、市（州）、考评内容和地区，考评与自评的差异，与上年比较。"""
    from .output import atomic_write
    from .stats import compute, load_previous, overview, stats_tables
    from .writers.stats import to_text

    content, results = load_for_results(content_path, regions_path, results_path)
    if not results.by_region:
        nothing_done(f"{results.source}：结果文件中没有任何等次，无可统计。")
    previous = load_previous(previous_path) if previous_path is not None else None
    figures = compute(content, results, previous)
    tables = stats_tables(figures)
    for line in overview(figures):
        click.echo(line)
    for table in tables:
        click.echo("")
        click.echo(to_text(table))
    if xlsx_path is not None or pdf_path is not None:
        from .charts import charts
        from .writers.stats import to_pdf, to_xlsx

        drawn = charts(figures, png=xlsx_path is not None)
        files = []
        if xlsx_path is not None:
            files.append((xlsx_path, to_xlsx(figures, tables, drawn)))
        if pdf_path is not None:
            files.append((pdf_path, to_pdf(figures, tables, drawn)))
        for path, data in files:
            atomic_write(path, data)
            click.echo(f"已生成 {path}")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@main.command()
@content_options
@click.option("--host", default="127.0.0.1", show_default=True, metavar="地址",
              help="监听地址；不是本机地址时须先用 pipeline users add 建立账号")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, metavar="端口",
              help="端口")
@click.option("--data", "data_dir", default="work", show_default=True, metavar="目录",
              help="数据目录：数据库（上传的工作簿和考评结果）和生成的文档")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), metavar="文件",
              help="登录密码所在的文件（第一行）；设了就每个页面都要登录")
@click.option("--public-url", metavar="网址",
              help="其他电脑访问本系统用的网址（如经 HTTPS 反向代理：https://kaoping.example.gov.cn）；"
                   "只接受发往本机地址或此网址的请求")
@fail_cleanly
def serve(content_path, regions_path, host, port, data_dir, password_file, public_url):
    """在浏览器中收集各地交回的考评表、填写考评等次、生成文档（本机网页）。"""
    if not str(data_dir).strip():
        raise click.BadParameter("数据目录不能为空", param_hint="--data")
    password = None
    if password_file is not None:
        from .textfile import read_text
        lines = read_text(password_file).splitlines()
        password = lines[0].strip() if lines else ""
        if not password:
            raise click.BadParameter(f"{password_file} 中没有密码", param_hint="--password-file")
    if public_url is not None:
        from urllib.parse import urlsplit
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise click.BadParameter("应为 http:// 或 https:// 开头的网址，不带路径", param_hint="--public-url")
    if host in ("0.0.0.0", "::") and public_url is None:
        raise click.UsageError(f"监听 {host}（所有网卡）时请用 --public-url 写明其他电脑访问本系统用的网址。")
    content = load_content(content_path, regions_path, need_rating_files=True)
    if host not in LOOPBACK:
        from .web.accounts import Accounts
        from .web.store import Store
        if not Accounts(Store(Path(data_dir) / "pipeline.sqlite3")).any_department():
            raise click.UsageError(f"监听 {host} 时其他电脑也能访问，请先用 pipeline users add 账号名 --role 管理员 "
                                   f"--data {data_dir} 建立账号（共用密码 --password-file 只用于本机）。")
    from .web import create_app, make_server
    app = create_app(content, Path(data_dir), password, host=host, port=port, public_url=public_url)
    shown = public_url or f"http://{'localhost' if host in LOOPBACK else host}:{port}/"
    click.echo(f"请在浏览器中打开 {shown} （按 Ctrl-C 停止）")
    server = make_server(app, host, port)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("已停止。", err=True)


# --- accounts (issue #17) ------------------------------------------------------------------------------

data_option = click.option("--data", "data_dir", default="work", show_default=True, metavar="目录",
                           help="数据目录（与 pipeline serve 的相同）")


def _accounts(data_dir):
    from .web.accounts import Accounts
    from .web.store import Store
    if not str(data_dir).strip():
        raise click.BadParameter("数据目录不能为空", param_hint="--data")
    store = Store(Path(data_dir) / "pipeline.sqlite3")
    return store, Accounts(store)


def _audit(store, content, event, **fields):
    import getpass
    from .web.audit import record
    record(store, content.tasks.year, f"命令行（{getpass.getuser()}）", event, role="命令行", address="本机", **fields)


@main.group()
def users():
    """账号：新建、列出、重置密码、停用（管理员、考评、地区）。"""


@users.command("add")
@content_options
@data_option
@click.argument("name", required=False, metavar="账号名")
@click.option("--role", type=click.Choice(["管理员", "考评", "地区"]), default="地区", show_default=True,
              help="角色")
@click.option("--region", metavar="地区", help="地区账号所属地区（默认：账号名即地区名称）")
@click.option("--all-regions", is_flag=True, help="为所有尚无账号的地区各建一个账号（账号名为地区名称）")
@click.option("--codes", "codes_path", type=click.Path(path_type=Path, dir_okay=False), metavar="文件",
              help="与 --all-regions 同用：把各地区的一次性登录码写成可打印的 PDF 清单")
@click.option("--url", metavar="网址", help="清单上的登录网址（如 https://kaoping.mzt.jl.gov.cn/）")
@fail_cleanly
def users_add(content_path, regions_path, data_dir, name, role, region, all_regions, codes_path, url):
    """新建账号；一次性登录码只显示这一次，首次登录须修改。"""
    from .web.accounts import AccountError
    content = load_content(content_path, regions_path)
    store, accounts = _accounts(data_dir)
    if all_regions:
        if codes_path is None or not url:
            raise click.UsageError("--all-regions 须同时给出 --codes 清单.pdf 和 --url 登录网址（登录码只在清单中出现）")
        created = []
        for r in content.regions.regions:
            if accounts.by_name(r.name) is None:
                try:
                    created.append((r, accounts.add(r.name, "地区", r.name, content)))
                except AccountError as exc:
                    click.echo(f"{r.name}：{exc}", err=True)
        if not created:
            click.echo("各地区都已有账号，未新建；要给某个地区新的登录码，请用 pipeline users reset 地区名称。", err=True)
            sys.exit(1)
        from .output import atomic_write
        from .web.codes import codes_pdf
        atomic_write(codes_path, codes_pdf(content, created, url))
        os.chmod(codes_path, 0o600)
        for r, _ in created:
            _audit(store, content, "新建账号", object=r.name, new="地区", region=r.name, reason="批量生成登录码清单")
        click.echo(f"已为 {len(created)} 个地区新建账号，一次性登录码清单：{codes_path}（打印后请删除此文件）")
        return
    if not name:
        raise click.UsageError("请给出账号名，或用 --all-regions 为全部地区建账号")
    try:
        code = accounts.add(name, role, region, content)
    except AccountError as exc:
        click.echo(f"未新建：{exc}", err=True)
        sys.exit(1)
    account = accounts.by_name(name)
    _audit(store, content, "新建账号", object=name, new=role, region=account["region"])
    click.echo(f"已新建{role}账号“{name}”{'（' + account['region'] + '）' if account['region'] else ''}。")
    click.echo(f"一次性登录码：{code}")
    click.echo("此码只显示这一次；首次登录后须设置新密码。")


@users.command("list")
@data_option
def users_list(data_dir):
    """列出账号（不显示密码）。"""
    _, accounts = _accounts(data_dir)
    rows = accounts.list()
    if not rows:
        click.echo("还没有账号。")
        return
    from .web.account_views import days_text, password_ages
    ages = password_ages(accounts, rows)
    for a in rows:
        state = "已停用" if a["disabled"] else ("待首次登录改密码" if a["must_change"] else "正常")
        click.echo(f"{a['name']}\t{a['role']}\t{a['region'] or ''}\t{state}\t密码{ages[a['name']]}")
    click.echo(f"共 {len(rows)} 个账号；密码有效期：{days_text(accounts.password_days())}。")


@users.command("reset")
@content_options
@data_option
@click.argument("name", metavar="账号名")
@fail_cleanly
def users_reset(content_path, regions_path, data_dir, name):
    """给账号新的一次性登录码（原密码和登录随即失效；已停用的账号重新启用）。"""
    from .web.accounts import AccountError
    content = load_content(content_path, regions_path)
    store, accounts = _accounts(data_dir)
    try:
        code = accounts.reset(name)
    except AccountError as exc:
        click.echo(f"未重置：{exc}", err=True)
        sys.exit(1)
    _audit(store, content, "重置密码", object=name, region=accounts.by_name(name)["region"])
    click.echo(f"“{name}”的一次性登录码：{code}")
    click.echo("此码只显示这一次；首次登录后须设置新密码。")


@users.command("disable")
@content_options
@data_option
@click.argument("name", metavar="账号名")
@fail_cleanly
def users_disable(content_path, regions_path, data_dir, name):
    """停用账号（其登录随即失效）。"""
    from .web.accounts import AccountError
    content = load_content(content_path, regions_path)
    store, accounts = _accounts(data_dir)
    try:
        accounts.disable(name)
    except AccountError as exc:
        click.echo(f"未停用：{exc}", err=True)
        sys.exit(1)
    _audit(store, content, "停用账号", object=name, old="启用", new="停用", region=accounts.by_name(name)["region"])
    click.echo(f"已停用“{name}”。")


if __name__ == "__main__":  # pragma: no cover
    main()
