"""Speed and memory of the pipeline on this machine, with its peers, printed as a table.

    .venv/bin/python benchmarks/run.py            # everything (several minutes)
    .venv/bin/python benchmarks/run.py --quick    # skip the full province builds

Figures, not assertions: targets are judged by reading them (README, performance section).
"""

from __future__ import annotations

import argparse
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


def full_build(jobs: int) -> dict:
    """`pipeline build` in a fresh process; peak RSS of the largest process (parent or worker)."""
    out = Path(tempfile.mkdtemp(prefix="bench-build-"))
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             f"r = subprocess.run([{PY!r}, '-m', 'pipeline', 'build', '--jobs', '{jobs}', '--out', {str(out)!r}],"
             " capture_output=True, text=True); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    line = subprocess.run([PY, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    seconds, maxrss, code = line.split()
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    pages = sum(d["pages"] or 0 for d in docs)
    result = {"seconds": float(seconds), "peak_mib": int(maxrss) / 1024, "files": len(docs),
              "pages": pages, "exit": int(code), "out": out}
    return result


def per_document(samples: int) -> tuple[dict, object, object]:
    """Median seconds per document by kind and format, rendering in this process."""
    from pipeline.content import load_content
    from pipeline.jobs import all_jobs
    from pipeline.output import normalize_zip
    from pipeline.render import Renderer
    from pipeline.results import load_results
    from pipeline.writers.xlsx import checklist_workbook

    content = load_content(need_rating_files=True)
    results = load_results(ROOT / "content" / "results_2016_sample.csv", content)
    jobs, _ = all_jobs(content, results)
    renderer = Renderer()
    t = time.perf_counter()
    renderer.pdf, renderer.docx  # start-up: fonts registered, stylesheet parsed
    startup = time.perf_counter() - t
    timings: dict[tuple[str, str], list[float]] = {}
    sizes: dict[str, list[int]] = {}
    pages: dict[str, list[int]] = {}
    by_kind: dict[str, list] = {}
    for job in jobs:
        by_kind.setdefault(job.kind, []).append(job)
    for kind, kind_jobs in by_kind.items():
        for job in kind_jobs[:samples]:
            t = time.perf_counter()
            pdf, n = renderer.pdf.render(job.view)
            timings.setdefault((kind, "pdf"), []).append(time.perf_counter() - t)
            sizes.setdefault(kind, []).append(len(pdf))
            pages.setdefault(kind, []).append(n)
            t = time.perf_counter()
            normalize_zip(renderer.docx.render(job.view))
            timings.setdefault((kind, "docx"), []).append(time.perf_counter() - t)
            if job.xlsx:
                t = time.perf_counter()
                normalize_zip(checklist_workbook(job.view, job.view.extra["table"]))
                timings.setdefault((kind, "xlsx"), []).append(time.perf_counter() - t)
    letters = by_kind["letter"]
    return ({"startup": startup, "timings": timings, "sizes": sizes, "pages": pages},
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


def tenfold_views() -> tuple[float, float, int]:
    """Views for the regions repeated 10× (synthetic): time and memory of the parent's share."""
    import yaml

    from pipeline.content import load_content
    from pipeline.jobs import all_jobs
    from pipeline.results import load_results

    tmp = Path(tempfile.mkdtemp(prefix="bench-10x-"))
    shutil.copytree(ROOT / "content", tmp / "content")
    regions_file = tmp / "content" / "regions_jilin_2016.yaml"
    data = yaml.safe_load(regions_file.read_text(encoding="utf-8"))
    base = data["regions"]
    data["regions"] = [dict(r, name=r["name"] + (f"{k}" if k else ""),
                            **({"parent": r["parent"] + (f"{k}" if k else "")} if r.get("parent") else {}))
                       for k in range(10) for r in base]
    regions_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rows = (ROOT / "content" / "results_2016_sample.csv").read_text(encoding="utf-8-sig").splitlines()
    out = [rows[0]]
    for k in range(10):
        for line in rows[1:]:
            name, rest = line.split(",", 1)
            out.append(f"{name}{k if k else ''},{rest}")
    (tmp / "content" / "results_2016_sample.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    before = rss_mib()
    t = time.perf_counter()
    content = load_content(tmp / "content" / "tasks_2016.yaml", need_rating_files=True)
    results = load_results(tmp / "content" / "results_2016_sample.csv", content)
    jobs, _ = all_jobs(content, results)
    return time.perf_counter() - t, rss_mib() - before, len(jobs)


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


def libreoffice_peer(letters_dir: Path) -> tuple[float, int] | None:
    soffice = shutil.which("soffice")
    files = sorted(letters_dir.glob("*.docx"))
    if not soffice or not files:
        return None
    out = Path(tempfile.mkdtemp(prefix="bench-lo-"))
    profile = Path(tempfile.mkdtemp(prefix="bench-lo-profile-"))
    t = time.perf_counter()
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(out), *map(str, files)],
                   capture_output=True, check=True, timeout=3600)
    return time.perf_counter() - t, len(files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the full province builds")
    parser.add_argument("--samples", type=int, default=5, help="documents per kind to time")
    args = parser.parse_args()
    os.chdir(ROOT)
    rows: list[tuple[str, str, str]] = []

    def row(what: str, value: str, target: str = "") -> None:
        rows.append((what, value, target))

    builds = {}
    if not args.quick:
        for jobs in (1, 2):
            builds[jobs] = b = full_build(jobs)
            row(f"full province build, --jobs {jobs}",
                f"{b['seconds']:.1f} s ({b['files']} files, {b['pages']} PDF pages, "
                f"{b['pages'] / b['seconds']:.0f} pages/s), peak {b['peak_mib']:.0f} MiB/process",
                "≤ 15 s with --jobs 2" if jobs == 2 else "")
        row("speed-up --jobs 2 vs 1", f"{builds[1]['seconds'] / builds[2]['seconds']:.2f}×")

    stats, renderer, letters = per_document(args.samples)
    row("writer start-up per process", f"{stats['startup']:.2f} s")
    for (kind, fmt), values in sorted(stats["timings"].items()):
        target = {("letter", "pdf"): "≤ 0.1 s", ("letter", "docx"): "≤ 0.05 s",
                  ("notice", "pdf"): "≤ 1 s"}.get((kind, fmt), "")
        pages = statistics.median(stats["pages"][kind])
        row(f"median {kind} {fmt}", f"{statistics.median(values):.3f} s"
            + (f" ({pages:.0f} pages, {statistics.median(values) / pages * 1000:.0f} ms/page)"
               if fmt == "pdf" else ""), target)
    for kind, values in sorted(stats["sizes"].items()):
        row(f"median {kind} PDF size", f"{statistics.median(values) / 1024:.0f} KiB "
            f"({statistics.median(stats['pages'][kind]):.0f} pages)",
            "2-page letter < 100 KiB" if kind == "letter" else "")
    first, last, n1, n2 = memory_flatness(renderer, letters)
    row("peak RSS of one worker", f"{first:.0f} MiB after {n1} letters, {last:.0f} MiB after {n2}",
        "≤ 400 MiB, flat")
    seconds, mib, count = tenfold_views()
    row("regions ×10 (synthetic): views for all documents",
        f"{count} documents in {seconds:.1f} s, +{mib:.0f} MiB in the parent")

    letter_pdf = statistics.median(stats["timings"][("letter", "pdf")])
    noto = noto_peer(renderer, letters[0])
    if noto is None:
        row("peer: WeasyPrint + system Noto CJK", "skipped (fonts-noto-cjk not installed)")
    else:
        row("peer: same letter, WeasyPrint + system Noto CJK TTC", f"{noto:.3f} s",
            f"ours {noto / letter_pdf:.1f}× faster")
    letters_dir = builds[2]["out"] / "等次函" if builds else None
    if letters_dir is None:
        from pipeline.output import OutputDir
        out = OutputDir(Path(tempfile.mkdtemp(prefix="bench-letters-")))
        for job in letters:
            renderer.run(job, out, ("docx",))
        letters_dir = out.root / "等次函"
    lo = libreoffice_peer(letters_dir)
    if lo is None:
        row("peer: LibreOffice batch DOCX→PDF", "skipped (soffice not installed)")
    else:
        seconds, files = lo
        row("peer: LibreOffice, letters' DOCX→PDF in one batch",
            f"{seconds:.1f} s for {files} ({seconds / files:.3f} s each)",
            f"ours {seconds / files / letter_pdf:.1f}× faster (target ≥ 3×)")

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<70}  target / ratio")
    for what, value, target in rows:
        print(f"{what:<{width}}  {value:<70}  {target}")


if __name__ == "__main__":
    main()
