"""What an OFD costs against its PDF, per document kind, in CPU time (issue #19: ≤ 0.1).

    .venv/bin/python benchmarks/ofd.py                 # 5 rounds, 10 documents of each kind
    .venv/bin/python benchmarks/ofd.py --rounds 9 --docs 16
    .venv/bin/python benchmarks/ofd.py --kinds report,checklist   # some kinds only

Each round is a fresh worker process, as a build's: it makes each document's PDF as a build makes
it (a checklist, report, letter or the 通报 filled on its blank form; the notice laid out
whole) and then the OFD from that PDF as the build hands it over (a filled form's comes with what
the filler drew on each page: forms.FilledPdf), each timed in CPU time (process time: the machine is
shared, wall time swings with the load). A setup process first lays every blank form out (the
build's form jobs), so a worker finds them on disk as in a build. Printed per kind: the median
PDF and OFD CPU time and their ratio for a document after the first of its form in the worker,
and the same for the first document of each form in a worker (the form's template pages met for
the first time). Round 1 runs with the OFD writer's on-disk cache (converted template pages, font
subsets) emptied: the very first document of a form on this machine, shown on its own row.

Figures, not assertions: the README quotes them (section OFD, 速度).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KINDS = ("notice", "checklist", "checklist（地区）", "report", "letter", "summary")


def sample(docs: int):
    """The documents timed: every kind, up to ``docs`` of each, in the build's order."""
    from pipeline.content import load_content
    from pipeline.jobs import all_jobs
    from pipeline.results import load_results

    content = load_content(need_rating_files=True)
    results = load_results(ROOT / "content" / "results_2016_sample.csv", content)
    jobs, _, _ = all_jobs(content, results)
    by_kind: dict[str, list] = {}
    for job in jobs:
        by_kind.setdefault(job.kind + ("（地区）" if job.kind == "checklist" and job.region else ""), []).append(job)
    return [(kind, job) for kind in KINDS for job in by_kind.get(kind, [])[:docs]]


def setup(out: Path, docs: int) -> None:
    """Every blank form laid out and kept under ``out`` (a build's form jobs do this)."""
    from pipeline.output import OutputDir
    from pipeline.render import Renderer

    renderer, target = Renderer(), OutputDir(out)
    for _, job in sample(docs):
        renderer.run(job, target, ("pdf",))


def worker(out: Path, docs: int) -> None:
    """One worker's documents: PDF then OFD, each in CPU seconds; one JSON line each."""
    from pipeline import fingerprint
    from pipeline.output import OutputDir
    from pipeline.render import Renderer

    renderer, target = Renderer(), OutputDir(out)
    c = time.process_time()
    import pikepdf  # noqa: F401  (a build imports it before forking its workers: build._preload)
    renderer.pdf, renderer.docx
    pdf_start = time.process_time() - c
    c = time.process_time()
    renderer.ofd.warm()
    print(json.dumps({"startup": {"pdf": pdf_start, "ofd": time.process_time() - c}}))
    made = []  # the PDF a run made, as a build hands it to the OFD writer (a filled form's
    filler = renderer.forms(target)  # comes with what was drawn on each page: forms.FilledPdf)
    for owner, name in ((filler, "fill_pdf"), (renderer.pdf, "render")):
        def kept(*args, _made=getattr(owner, name), **kwargs):
            made.append(_made(*args, **kwargs))
            return made[-1]
        setattr(owner, name, kept)
    forms_seen: set[str] = set()
    for kind, job in sample(docs):
        view = job.view
        form = fingerprint.of_view(job.base, "form") if job.base is not None else None
        first = form is not None and form not in forms_seen
        forms_seen.add(form)
        made.clear()
        c = time.process_time()
        renderer.run(job, target, ("pdf",))
        pdf = time.process_time() - c
        data = made[-1][0]
        key = fingerprint.of_view(view, "ofd")
        c = time.process_time()
        renderer.ofd.render(view, data, key)
        ofd = time.process_time() - c
        print(json.dumps({"kind": kind, "form": form is not None, "first": first, "pdf": pdf, "ofd": ofd}))


def clear_ofd_cache() -> None:
    from pipeline.writers.ofd_fonts import cache_root
    for name in ("ofd-templates", "ofd-subsets"):
        shutil.rmtree(cache_root() / name, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--worker", type=Path)
    parser.add_argument("--kinds", help="comma-separated kinds to time (default: all)")
    args = parser.parse_args()
    if args.kinds:
        global KINDS
        KINDS = tuple(k for k in KINDS if k in args.kinds.split(","))
    if args.worker:
        return worker(args.worker, args.docs)
    out = Path(tempfile.mkdtemp(prefix="bench-ofd-"))
    setup(out, args.docs)
    rows: list[dict] = []
    startups: list[dict] = []
    for number in range(args.rounds):
        if number == 0:
            clear_ofd_cache()
        lines = subprocess.run([sys.executable, __file__, "--worker", str(out), "--docs", str(args.docs)]
                               + (["--kinds", args.kinds] if args.kinds else []),
                               capture_output=True, text=True, check=True).stdout.splitlines()
        for line in lines:
            record = json.loads(line)
            if "startup" in record:
                startups.append(record["startup"])
            else:
                rows.append(dict(record, cold=number == 0))
    shutil.rmtree(out, ignore_errors=True)
    report(rows, startups, args)


def report(rows: list[dict], startups: list[dict], args) -> None:
    median = statistics.median
    print(f"{os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{args.rounds} worker processes × up to {args.docs} documents of each kind; CPU time, medians")
    print(f"worker start-up: PDF writers {median(s['pdf'] for s in startups):.3f} s, "
          f"OFD writer (TrueType faces, character maps) {median(s['ofd'] for s in startups):.3f} s")
    head = f"{'document':<34} {'n':>4} {'PDF ms':>9} {'OFD ms':>9} {'OFD/PDF':>8}"
    print(head)
    print("-" * len(head))

    def line(what: str, picked: list[dict]) -> None:
        if not picked:
            return
        pdf, ofd = median(r["pdf"] for r in picked), median(r["ofd"] for r in picked)
        print(f"{what:<34} {len(picked):>4} {pdf * 1000:>9.1f} {ofd * 1000:>9.1f} {ofd / pdf:>8.2f}")

    for kind in KINDS:
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        if not mine[0]["form"]:
            line(kind, mine)
            continue
        line(f"{kind}", [r for r in mine if not r["first"]])
        line(f"{kind}, first of its form", [r for r in mine if r["first"] and not r["cold"]])
        line(f"{kind}, first on this machine", [r for r in mine if r["first"] and r["cold"]])


if __name__ == "__main__":
    main()
