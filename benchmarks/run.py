"""Speed and memory of the pipeline on this machine, with its peers, printed as a table.

    .venv/bin/python benchmarks/run.py                  # everything (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --province-only  # the province builds and LibreOffice only
    .venv/bin/python benchmarks/run.py --quick          # skip the full province builds

The cold province (with and without OFD) and LibreOffice converting its letters are run in turn,
``--rounds`` times (default 3), as are the incremental builds; medians are shown with every round,
and the ratio to LibreOffice in CPU time (user + sys, children included) of the same run, which
the machine's other load affects alike. Figures, not assertions: targets are judged by reading
them (README, performance section).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workdir(copies: int = 1) -> Path:
    """A scratch copy of content/; with copies > 1 the regions (and their results) repeated,
    renamed, as a synthetic province ``copies`` times as large."""
    import yaml

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{copies}x-"))
    shutil.copytree(ROOT / "content", tmp / "content")
    if copies > 1:
        regions_file = tmp / "content" / "regions_jilin_2016.yaml"
        data = yaml.safe_load(regions_file.read_text(encoding="utf-8"))
        base = data["regions"]
        data["regions"] = [dict(r, name=r["name"] + (f"{k}" if k else ""),
                                **({"parent": r["parent"] + (f"{k}" if k else "")} if r.get("parent") else {}))
                           for k in range(copies) for r in base]
        regions_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        rows = (ROOT / "content" / "results_2016_sample.csv").read_text(encoding="utf-8-sig").splitlines()
        out = [rows[0]]
        for k in range(copies):
            for line in rows[1:]:
                name, rest = line.split(",", 1)
                out.append(f"{name}{k if k else ''},{rest}")
        (tmp / "content" / "results_2016_sample.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return tmp


def timed(args: list[str]) -> tuple[float, float, float, int]:
    """Run a command in a fresh process: wall-clock seconds, CPU seconds (user + system, its
    children included), peak RSS of its largest process in MiB, exit code."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             f"r = subprocess.run({args!r}, capture_output=True, text=True); "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)")
    line = subprocess.run([PY, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    seconds, cpu, maxrss, code = line.split()
    return float(seconds), float(cpu), int(maxrss) / 1024, int(code)


# The formats issue #20's target was set on (before the OFD writer): 503 files
WITHOUT_OFD = ("docx", "pdf", "xlsx")


def build_in(work: Path, jobs: int, out: Path, formats: tuple[str, ...] = ()) -> dict:
    """`pipeline build` in a fresh process: time, CPU, peak RSS of the largest process (parent or
    worker) and of the parent alone. ``formats``: only these (default: every format)."""
    rss_file = out.parent / f"{out.name}-parent-rss"
    argv = ["pipeline", "build", "--jobs", str(jobs), "--out", str(out),
            "--content", str(work / "content" / "tasks_2016.yaml"),
            "--results", str(work / "content" / "results_2016_sample.csv")]
    for fmt in formats:
        argv += ["--format", fmt]
    # the parent notes its own peak at exit (the workers leave by os._exit, without atexit)
    cli = ("import atexit, resource, sys; "
           f"atexit.register(lambda: open({str(rss_file)!r}, 'w').write("
           "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))); "
           f"sys.argv = {argv!r}; from pipeline.cli import main; main()")
    seconds, cpu, peak, code = timed([PY, "-c", cli])
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak, "exit": code, "out": out,
            "parent_mib": int(rss_file.read_text()) / 1024, "files": len(docs),
            "pages": sum(d["pages"] or 0 for d in docs), "manifest": {d["path"]: d for d in docs}}


def change_one_region(work: Path, region: str = "九台区") -> None:
    results = work / "content" / "results_2016_sample.csv"
    lines = results.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{region},1.1,"):
            parts = line.split(",")
            parts[2] = "未达标" if parts[2] != "未达标" else "达标"
            lines[i] = ",".join(parts)
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")


def per_document(samples: int) -> tuple[dict, object, object]:
    """Median seconds per file by kind and format, written as a build writes it (checklists and
    reports filled on their laid-out form), in this process."""
    from pipeline.content import load_content
    from pipeline.jobs import all_jobs
    from pipeline.output import OutputDir
    from pipeline.render import Renderer
    from pipeline.results import load_results

    content = load_content(need_rating_files=True)
    results = load_results(ROOT / "content" / "results_2016_sample.csv", content)
    jobs, _, _ = all_jobs(content, results)
    renderer = Renderer()
    t = time.perf_counter()
    renderer.pdf, renderer.docx  # start-up: fonts registered, stylesheet parsed
    renderer.ofd.warm()  # the TrueType faces loaded, their character maps read
    startup = time.perf_counter() - t
    out = OutputDir(Path(tempfile.mkdtemp(prefix="bench-docs-")))
    timings: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}  # process time: the OFD/PDF ratio on a busy machine
    sizes: dict[str, list[int]] = {}
    pages: dict[str, list[int]] = {}
    by_kind: dict[str, list] = {}
    for job in jobs:
        by_kind.setdefault(job.kind + ("（地区）" if job.kind == "checklist" and job.region else ""), []).append(job)
    forms = 0.0
    for kind, kind_jobs in by_kind.items():
        for job in kind_jobs[:samples + 1]:
            if job.base is not None and job is kind_jobs[0]:
                t = time.perf_counter()  # the form is laid out once: timed apart
                renderer.forms(out).blank(job.base, need_docx=True)
                forms += time.perf_counter() - t
            for fmt in sorted(job.formats(), key=lambda f: f != "pdf"):  # the OFD reads the PDF
                if fmt == "ofd":  # written from the PDF just made: timed on its own (writers/ofd.py)
                    from pipeline import fingerprint
                    made = (out.root / out.path_for(job.kind, job.name, "pdf", job.sub).relative_to(out.root)).read_bytes()
                    t, c = time.perf_counter(), time.process_time()
                    renderer.ofd.render(job.view, made, fingerprint.of_view(job.view, "ofd"))
                    timings.setdefault((kind, fmt), []).append(time.perf_counter() - t)
                    cpu.setdefault((kind, fmt), []).append(time.process_time() - c)
                    continue
                t, c = time.perf_counter(), time.process_time()
                [entry] = renderer.run(job, out, (fmt,))
                timings.setdefault((kind, fmt), []).append(time.perf_counter() - t)
                cpu.setdefault((kind, fmt), []).append(time.process_time() - c)
                if fmt == "pdf":
                    sizes.setdefault(kind, []).append((out.root / entry.path).stat().st_size)
                    pages.setdefault(kind, []).append(entry.pages)
    letters = by_kind["letter"]
    return ({"startup": startup, "timings": timings, "cpu": cpu, "sizes": sizes, "pages": pages, "forms": forms},
            renderer, letters)


def memory_flatness(renderer, letters) -> tuple[float, float, int, int]:
    """Peak RSS after rendering n documents, then after 4n more: flat means no growth."""
    n = min(10, len(letters))
    for job in letters[:n]:
        renderer.pdf.render(job.view)
    first = rss_mib()
    for job in (letters * 4)[:4 * n]:
        renderer.pdf.render(job.view)
    return first, rss_mib(), n, 5 * n


def cascade(renderer, letters) -> dict[str, str]:
    """CPU time of WeasyPrint's style cascade (get_all_computed_styles) laying out a letter, with
    the stylesheet parts a letter needs and with the whole stylesheet."""
    from dataclasses import replace

    import weasyprint.document as wdoc

    from pipeline.writers.pdf import ALL_PARTS

    spent = [0.0]
    original = wdoc.get_all_computed_styles

    def counted(*args, **kwargs):
        t = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - t

    pdf = renderer.pdf
    views = {"letter's first part": [replace(j.view, sections=j.view.sections[:1]) for j in letters[:10]],
             "letter laid out whole": [j.view for j in letters[:10]]}
    found = {}
    wdoc.get_all_computed_styles = counted
    try:
        from weasyprint import HTML

        whole = [pdf._sheet(("fonts",) + ALL_PARTS)]
        for what, group in views.items():
            times: dict[bool, list[float]] = {True: [], False: []}
            for view in group * 2:  # in turn, with its parts and with the whole sheet
                html = pdf.html(view)
                for parts in (True, False):
                    spent[0] = 0.0
                    if parts:
                        pdf._layout(html, view.kind)
                    else:
                        HTML(string=html, url_fetcher=pdf.fetcher).render(stylesheets=whole,
                                                                         font_config=pdf.font_config)
                    times[parts].append(spent[0])
            found[what] = (f"{statistics.median(times[True]) * 1000:.1f} ms with its parts, "
                           f"{statistics.median(times[False]) * 1000:.1f} ms with the whole sheet (CPU)")
    finally:
        wdoc.get_all_computed_styles = original
    return found


def noto_peer(renderer, letter) -> float | None:
    """The same letter through WeasyPrint with the system Noto CJK collection (fontconfig)."""
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if "Noto Serif CJK SC" not in found:
        return None
    import re

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from pipeline.writers.pdf import environment
    css = environment().get_template("gongwen.css.j2").render(
        L=renderer.pdf.layout, font_urls={k: "none:" for k in renderer.pdf.fonts})
    css = re.sub(r"@font-face[^}]*}", "", css)
    css = re.sub(r'"GW (title|song|fang|kai)"', '"Noto Serif CJK SC"', css)
    css = css.replace('"GW hei"', '"Noto Sans CJK SC"')
    config = FontConfiguration()
    sheet = CSS(string=css, font_config=config)
    html = renderer.pdf.html(letter.view)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        HTML(string=html).render(stylesheets=[sheet], font_config=config).write_pdf()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def libreoffice_peer(letters_dir: Path) -> tuple[float, float, int] | None:
    """LibreOffice converting the letters' DOCX to PDF in one batch (a fresh profile, so its
    first-start setup is not counted: it is made by a first, empty run): seconds, CPU seconds, files."""
    soffice = shutil.which("soffice")
    files = sorted(letters_dir.glob("*.docx"))
    if not soffice or not files:
        return None
    out = Path(tempfile.mkdtemp(prefix="bench-lo-"))
    profile = Path(tempfile.mkdtemp(prefix="bench-lo-profile-"))
    base = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
            "--outdir", str(out)]
    timed(base + [str(files[0])])  # the profile set up
    seconds, cpu, _, code = timed(base + [str(f) for f in files])
    if code != 0 or len(list(out.glob("*.pdf"))) != len(files):
        raise SystemExit("LibreOffice did not convert every letter")
    return seconds, cpu, len(files)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def stats_timings(samples: int = 3) -> dict[str, float]:
    """``pipeline stats`` on the sample: median seconds of each step, in this process."""
    from pipeline.charts import charts
    from pipeline.content import load_content
    from pipeline.results import load_results
    from pipeline.stats import compute, stats_tables
    from pipeline.writers.stats import to_pdf, to_xlsx

    content = load_content(need_rating_files=True)
    results = load_results(ROOT / "content" / "results_2016_sample.csv", content)
    times: dict[str, list[float]] = {}

    def timed(name, func):
        start, cpu = time.perf_counter(), time.process_time()
        value = func()
        times.setdefault(name, []).append(time.perf_counter() - start)
        times.setdefault(name + " cpu", []).append(time.process_time() - cpu)
        return value

    start = time.perf_counter()
    charts(compute(content, results))  # matplotlib and the fonts loaded once
    first = time.perf_counter() - start
    for _ in range(samples):
        figures = timed("compute", lambda: compute(content, results))
        tables = timed("tables", lambda: stats_tables(figures))
        drawn = timed("charts", lambda: charts(figures, png=True))
        timed("xlsx", lambda: to_xlsx(figures, tables, drawn))
        timed("pdf", lambda: to_pdf(figures, tables, drawn))
    return {"first charts": first} | {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the full province builds")
    parser.add_argument("--samples", type=int, default=5, help="documents per kind to time")
    parser.add_argument("--province-only", action="store_true",
                        help="the province builds and LibreOffice only (no --jobs 1, ×10 or per-document figures)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="cold builds and LibreOffice batches, taken in turn, and the incremental "
                             "builds: each this many times (the median counts)")
    args = parser.parse_args()
    os.chdir(ROOT)
    # every scratch folder (content copies, outputs, LibreOffice's) under one, removed at the end:
    # a run writes about 1 GB
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    tempfile.tempdir = str(scratch)
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    loads = [" ".join(f"{x:.1f}" for x in os.getloadavg())]
    # the program's bytecode written, as any run leaves it where Python may write (this machine
    # sets PYTHONDONTWRITEBYTECODE: every process would compile the modules again)
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "pipeline")], check=True,
                   stdout=subprocess.DEVNULL)
    rows: list[tuple[str, str, str]] = []
    n = cores()

    def row(what: str, value: str, target: str = "") -> None:
        rows.append((what, value, target))

    builds = {}
    if not args.quick:
        work = workdir()
        regions = len(__import__("yaml").safe_load(
            (work / "content" / "regions_jilin_2016.yaml").read_text(encoding="utf-8"))["regions"])
        # the cold province (without and with OFD) and LibreOffice converting its letters, in
        # turn, in the same run, round after round: the machine's load falls on all alike; the
        # median of each counts, and the ratio of each round is shown
        colds, peers, fulls = [], [], []
        for _ in range(max(1, args.rounds)):
            colds.append(build_in(work, 2, Path(tempfile.mkdtemp(prefix="bench-out-")), WITHOUT_OFD))
            peers.append(libreoffice_peer(colds[-1]["out"] / "等次函"))
            fulls.append(build_in(work, 2, Path(tempfile.mkdtemp(prefix="bench-full-"))))
        med = statistics.median
        builds["cold"] = cold = sorted(colds, key=lambda b: b["cpu"])[len(colds) // 2]
        row(f"full province, cold (empty output), --jobs 2, DOCX+PDF+XLSX, {n} cores",
            f"{med(b['seconds'] for b in colds):.1f} s, {med(b['cpu'] for b in colds):.1f} s CPU "
            f"({cold['files']} files, {cold['pages']} PDF pages), "
            f"peak {cold['peak_mib']:.0f} MiB/process, parent {cold['parent_mib']:.0f} MiB (medians)",
            "rounds: " + ", ".join(f"{b['seconds']:.1f} s / {b['cpu']:.1f} s CPU" for b in colds))
        lo = None
        if all(peers):
            lo = (med(p[0] for p in peers), med(p[1] for p in peers), peers[0][2])
            row(f"peer: LibreOffice, the {lo[2]} letters' DOCX→PDF in one batch, same run",
                f"{lo[0]:.1f} s, {lo[1]:.1f} s CPU ({lo[0] / lo[2]:.3f} s a letter; medians)",
                "rounds: " + ", ".join(f"{p[0]:.1f} s / {p[1]:.1f} s CPU" for p in peers))
            wall = [b["seconds"] / p[0] for b, p in zip(colds, peers)]
            row("cold province ÷ LibreOffice's letters (wall clock, median of rounds)",
                f"{med(wall):.2f}× (each round: " + ", ".join(f"{r:.2f}×" for r in wall) + ")", "≤ 1.0×")
            ratios = [b["cpu"] / n / p[1] for b, p in zip(colds, peers)]
            row(f"  the same in CPU time ÷ {n} cores for ours (the machine's load aside)",
                f"{med(ratios):.2f}× (each round: " + ", ".join(f"{r:.2f}×" for r in ratios) + ")", "≤ 1.0×")
        else:
            row("peer: LibreOffice batch DOCX→PDF", "skipped (soffice not installed)")
        # every format (the OFDs too), as `pipeline build` makes them by default
        full = sorted(fulls, key=lambda b: b["cpu"])[len(fulls) // 2]
        row(f"full province, cold, --jobs 2, every format (OFD too), {n} cores",
            f"{med(b['seconds'] for b in fulls):.1f} s, {med(b['cpu'] for b in fulls):.1f} s CPU "
            f"({full['files']} files; medians)",
            (f"CPU ÷ {n} ÷ LibreOffice's: {med(b['cpu'] / n / p[1] for b, p in zip(fulls, peers)):.2f}× (rounds: "
             + ", ".join(f"{b['cpu'] / n / p[1]:.2f}×" for b, p in zip(fulls, peers)) + ")") if lo else "")
        out = full["out"]
        warms = [build_in(work, 2, out) for _ in range(max(1, args.rounds))]
        row("second build, nothing changed (every format)",
            f"{med(w['seconds'] for w in warms):.2f} s, {med(w['cpu'] for w in warms):.2f} s CPU (medians; rounds: "
            + ", ".join(f"{w['cpu']:.2f}" for w in warms) + ")", "≤ 1 s")
        changes, redone = [], []
        for _ in range(max(1, args.rounds)):  # 九台区's rating of 1.1 changed again each round
            before = build_in(work, 2, out) if not changes else changes[-1]
            change_one_region(work)
            changes.append(build_in(work, 2, out))
            redone = sorted(p for p, d in changes[-1]["manifest"].items()
                            if d.get("fingerprint") != before["manifest"].get(p, {}).get("fingerprint"))
        row("one region's ratings changed (every format)",
            f"{med(c['seconds'] for c in changes):.2f} s, {med(c['cpu'] for c in changes):.2f} s CPU (medians; "
            "rounds: " + ", ".join(f"{c['cpu']:.2f}" for c in changes) + "), re-rendered: " + "、".join(redone),
            "≤ 2 s; its report, letter, 通报")
        cold = full
        clean = build_in(work, 2, Path(tempfile.mkdtemp(prefix="bench-clean-")))
        same = all((out / path).read_bytes() == (clean["out"] / path).read_bytes() for path in clean["manifest"])
        row("incremental output = a clean build of the same data", "byte-identical" if same else "DIFFERENT",
            "byte-identical")
        if args.province_only:
            return report(rows, n, loads)
        one = build_in(work, 1, Path(tempfile.mkdtemp(prefix="bench-out1-")))
        row("full province, cold, --jobs 1", f"{one['seconds']:.1f} s, {one['cpu']:.1f} s CPU",
            f"--jobs 2 is {one['seconds'] / cold['seconds']:.2f}× faster")
        big = build_in(workdir(10), 2, Path(tempfile.mkdtemp(prefix="bench-out10-")))
        per_one, per_big = cold["seconds"] / regions, big["seconds"] / (10 * regions)
        cpu_one, cpu_big = cold["cpu"] / regions, big["cpu"] / (10 * regions)
        row(f"regions ×10 ({10 * regions}, synthetic), cold, --jobs 2, every document rendered",
            f"{big['seconds']:.1f} s, {big['cpu']:.1f} s CPU ({big['files']} files, {big['pages']} PDF pages), "
            f"peak {big['peak_mib']:.0f} MiB/process, parent {big['parent_mib']:.0f} MiB",
            f"{big['seconds'] / cold['seconds']:.1f}× the time for {big['files'] / cold['files']:.1f}× the files")
        row("  time per region, ×10 ÷ ×1", f"{per_big * 1000:.0f} ms ÷ {per_one * 1000:.0f} ms = "
            f"{per_big / per_one:.2f}; CPU {cpu_big * 1000:.0f} ms ÷ {cpu_one * 1000:.0f} ms = {cpu_big / cpu_one:.2f}",
            "≤ 1.10 (linear); parent ≤ 300 MiB")

    stats, renderer, letters = per_document(args.samples)
    row("writer start-up per process", f"{stats['startup']:.2f} s")
    row("each blank form laid out once (PDF and DOCX), one per kind", f"{stats['forms']:.2f} s")
    for (kind, fmt), values in sorted(stats["timings"].items()):
        pages = statistics.median(stats["pages"][kind])
        if fmt == "ofd":
            ratio = statistics.median(stats["cpu"][(kind, "ofd")]) / statistics.median(stats["cpu"][(kind, "pdf")])
            row(f"median {kind} ofd (from its PDF)", f"{statistics.median(values):.3f} s "
                f"({ratio:.2f} × its PDF's CPU time; first of each form included)", "≤ 0.1 × its PDF's")
            continue
        row(f"median {kind} {fmt}", f"{statistics.median(values):.3f} s"
            + (f" ({pages:.0f} pages, {statistics.median(values) / pages * 1000:.0f} ms/page)"
               if fmt == "pdf" else ""), {("notice", "pdf"): "≤ 1 s"}.get((kind, fmt), ""))
    for kind, values in sorted(stats["sizes"].items()):
        row(f"median {kind} PDF size", f"{statistics.median(values) / 1024:.0f} KiB "
            f"({statistics.median(stats['pages'][kind]):.0f} pages)")
    first, last, n1, n2 = memory_flatness(renderer, letters)
    row("peak RSS of one process rendering letters", f"{first:.0f} MiB after {n1}, {last:.0f} MiB after {n2}",
        "≤ 300 MiB, flat")
    for what, ms in cascade(renderer, letters).items():
        row(f"style cascade, {what}", ms)

    letter_pdf = statistics.median(stats["timings"][("letter", "pdf")])
    noto = noto_peer(renderer, letters[0])
    if noto is None:
        row("peer: WeasyPrint + system Noto CJK", "skipped (fonts-noto-cjk not installed)")
    else:
        row("peer: same letter, WeasyPrint + system Noto CJK TTC, laid out whole", f"{noto:.3f} s",
            f"ours {noto / letter_pdf:.1f}× faster")

    st = stats_timings()
    row("stats: figures + tables of the sample (70 regions)", f"{st['compute'] + st['tables']:.3f} s", "≤ 0.2 s")
    row("stats: four charts, SVG and PNG", f"{st['charts']:.2f} s (first in a process {st['first charts']:.2f} s)",
        "≤ 2 s")
    row("stats: XLSX / PDF export (26 pages, 4 vector charts)",
        f"{st['xlsx']:.2f} s / {st['pdf']:.2f} s (CPU {st['xlsx cpu']:.2f} s / {st['pdf cpu']:.2f} s)",
        "≤ 1 s / ≤ 5 s")

    report(rows, n, loads)


def report(rows: list[tuple[str, str, str]], n: int, loads: list[str]) -> None:
    loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"{n} cores; load average (1, 5, 15 min) {loads[0]} at the start, {loads[-1]} at the end")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<70}  target / ratio")
    for what, value, target in rows:
        print(f"{what:<{width}}  {value:<70}  {target}")


if __name__ == "__main__":
    main()
