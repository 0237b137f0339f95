"""The 统计 page: the province at a glance, from the store's current results.

The same ``pipeline.stats`` view as ``pipeline stats`` prints; charts drawn by ``pipeline.charts``
and served as SVG files (the page's Content-Security-Policy allows no inline styles, which an
inline SVG would need); the tables as XLSX or PDF; last year's results CSV uploaded here and
kept in the data folder (every upload kept, one of them in use); every page of the 通报 as a
picture. Additive: its own routes, template, script and style sheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app, redirect, render_template, request, send_file, url_for

from ..errors import DataError, Problem

MAX_PREVIOUS_BYTES = 20 * 1024 * 1024
CHART_KEYS = ("levels", "prefectures", "tasks", "adjustments")


@dataclass
class StatsState:
    """What the 统计 page keeps between requests: the charts of the figures last drawn."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    fingerprint: str = ""
    charts: dict = field(default_factory=dict)


def _site():
    return current_app.extensions["site"]


def _state() -> StatsState:
    return current_app.extensions["stats"]


# --- last year's results, kept in the data folder ---------------------------------------------------


def previous_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "previous"


def previous_file(data_dir: Path) -> Path | None:
    """The last-year file in use (named in ``current.txt``), or None."""
    folder = previous_dir(data_dir)
    pointer = folder / "current.txt"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = folder / name
    return path if name and re.fullmatch(r"[0-9T-]+-[0-9a-f]{12}\.csv", name) and path.is_file() else None


def load_previous_of(data_dir: Path):
    from ..stats import load_previous

    path = previous_file(data_dir)
    if path is None:
        return None, None
    meta = path.with_suffix(".name")
    shown = meta.read_text(encoding="utf-8").strip() if meta.is_file() else path.name
    previous = load_previous(path)
    previous.source = shown
    return previous, shown


def keep_previous(data_dir: Path, filename: str, data: bytes) -> None:
    """Check an uploaded last-year CSV as ``pipeline stats --previous`` does, keep it, use it."""
    from ..output import atomic_write
    from ..stats import load_previous

    folder = previous_dir(data_dir)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    name = f"{stamp}-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    target = folder / name
    atomic_write(target, data)
    try:
        load_previous(target)
    except DataError as exc:
        target.rename(target.with_suffix(".refused"))  # kept, never deleted, never used
        raise DataError([Problem(filename, p.line, p.message) for p in exc.problems]) from None
    atomic_write(target.with_suffix(".name"), filename.encode("utf-8"))
    atomic_write(folder / "current.txt", name.encode("utf-8"))


def stop_previous(data_dir: Path) -> None:
    from ..output import atomic_write
    if (previous_dir(data_dir) / "current.txt").exists():
        atomic_write(previous_dir(data_dir) / "current.txt", b"")


# --- the figures ------------------------------------------------------------------------------------


def figures():
    """The statistics of the current results (and last year's, when a file is in use)."""
    from ..stats import compute

    site = _site()
    results = site.store.results(site.content)
    previous, _ = load_previous_of(site.data_dir)
    return compute(site.content, results, previous)


def charts_of(stats) -> dict:
    """The charts of these figures, drawn once and kept while the figures stay the same."""
    from ..charts import charts

    fingerprint = hashlib.sha256(repr(stats).encode("utf-8")).hexdigest()
    state = _state()
    with state.lock:
        if state.fingerprint != fingerprint:
            state.charts = {c.key: c for c in charts(stats)}
            state.fingerprint = fingerprint
        return state.charts


# --- the 通报, page by page ---------------------------------------------------------------------------


def summary_pages(site) -> tuple[Path | None, int]:
    pdf = site.summary_pdf()
    if pdf is None:
        return None, 0
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return pdf, len(document)
    finally:
        document.close()


def summary_page_png(site, number: int) -> Path | None:
    """Page ``number`` (from 1) of the 通报 as a PNG, rendered once per version of the PDF."""
    pdf, count = summary_pages(site)
    if pdf is None or not 1 <= number <= count:
        return None
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()[:16]
    target = Path(site.data_dir) / "summary-pages" / f"{digest}-{number}.png"
    if not target.is_file():
        import pypdfium2

        from ..output import atomic_write

        document = pypdfium2.PdfDocument(str(pdf))
        try:
            image = document[number - 1].render(scale=110 / 72).to_pil()
        finally:
            document.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        atomic_write(target, buffer.getvalue())
    return target


# --- routes --------------------------------------------------------------------------------------------


def register(app) -> None:
    app.extensions["stats"] = StatsState()

    @app.get("/stats")
    def stats_page(problems=None):
        from ..stats import stats_tables, overview

        site = _site()
        stats = figures()
        _, pages = summary_pages(site)
        return render_template("stats.html.j2", stats=stats, tables=stats_tables(stats), overview=overview(stats),
                               charts=charts_of(stats), chart_keys=CHART_KEYS, summary_pages=pages,
                               problems=problems or [], previous_name=load_previous_of(site.data_dir)[1])

    @app.get("/stats/chart/<key>.svg")
    def stats_chart(key: str):
        if key not in CHART_KEYS:
            abort(404)
        chart = charts_of(figures())[key]
        response = send_file(io.BytesIO(chart.svg.encode("utf-8")), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/stats/export.<fmt>")
    def stats_export(fmt: str):
        from ..charts import charts
        from ..stats import stats_tables
        from ..writers.stats import title, to_pdf, to_xlsx
        from .views import send_bytes

        if fmt not in ("xlsx", "pdf"):
            abort(404)
        stats = figures()
        tables = stats_tables(stats)
        if fmt == "xlsx":
            data = to_xlsx(stats, tables, charts(stats, png=True))
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            data = to_pdf(stats, tables, list(charts_of(stats).values()))
            mimetype = "application/pdf"
        return send_bytes(data, f"{title(stats)}.{fmt}", mimetype)

    @app.post("/stats/previous")
    def stats_previous():
        site = _site()
        upload = request.files.get("previous")
        if upload is None or not upload.filename:
            return stats_page(problems=["请选择上年的考评结果 CSV 文件。"]), 400
        filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        data = upload.read(MAX_PREVIOUS_BYTES + 1)
        if len(data) > MAX_PREVIOUS_BYTES:
            return stats_page(problems=[f"{filename}：文件过大，超过 {MAX_PREVIOUS_BYTES // 1024 // 1024} MiB"]), 400
        if not filename.lower().endswith(".csv"):
            return stats_page(problems=[f"{filename}：上年结果请给出 CSV 文件（如上年 pipeline collect 汇总的结果）"]), 400
        try:
            keep_previous(site.data_dir, filename, data)
        except DataError as exc:
            return stats_page(problems=[str(p) for p in exc.problems]), 400
        return redirect(url_for("stats_page"))

    @app.post("/stats/previous/stop")
    def stats_previous_stop():
        stop_previous(_site().data_dir)
        return redirect(url_for("stats_page"))

    @app.get("/stats/summary/<int:number>.png")
    def stats_summary_page(number: int):
        target = summary_page_png(_site(), number)
        if target is None:
            abort(404)
        return send_file(target, mimetype="image/png")
