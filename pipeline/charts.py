"""Bar charts of the statistics, drawn on the server by matplotlib (SVG; PNG for the XLSX).

Chinese labels are set in the project's embedded Fandol fonts (found as the PDF writer finds
them, ``layout.font_paths``) and written into the SVG as glyph outlines, so a chart looks the
same in every browser, in the PDF export and on paper, whatever fonts the machine has. Every
text also stays in the SVG as a ``<!-- 文字 -->`` comment beside its glyphs, and each chart
carries its title and description (``<title>``, ``<desc>``) for readers that do not see it.

Printed in black and white the three ratings stay apart: 优秀 a light grey, 达标 white with
diagonal hatching, 未达标 dark red (dark grey in print) with cross-hatching; every bar carries
its number.
"""

from __future__ import annotations

import functools
import io
import threading
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .model import Rating
from .stats import RATING_ORDER, Statistics

STYLE = {  # fill, hatch, the figure's text colour on it
    Rating.EXCELLENT: ("#c8c8c8", "", "#000000"),
    Rating.STANDARD: ("#ffffff", "///", "#000000"),
    Rating.FAILED: ("#a50000", "xx", "#ffffff"),
}
SELF_STYLE = ("#ffffff", "...", "#000000")
WIDTH_IN = 9.5  # fits the page's text column and an A4 landscape page
_LOCK = threading.Lock()  # matplotlib's font cache and text layout are shared by the process


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    svg: str  # the whole SVG document
    png: bytes | None = None


@functools.lru_cache(maxsize=None)
def _fonts() -> tuple[str, str]:
    """Register the Fandol faces with matplotlib; the family names of 黑体 and 宋体."""
    from matplotlib import font_manager

    from .layout import font_paths, load_layout

    paths = font_paths(load_layout())
    names = []
    for role in ("hei", "song"):
        font_manager.fontManager.addfont(str(paths[role]))
        names.append(font_manager.FontProperties(fname=str(paths[role])).get_name())
    return names[0], names[1]


def _figure(height_in: float):
    import matplotlib
    from matplotlib.figure import Figure

    hei, song = _fonts()
    matplotlib.rcParams.update({
        "font.family": [hei, song], "font.size": 10, "axes.unicode_minus": False,
        "svg.fonttype": "path", "svg.hashsalt": "pipeline-stats", "hatch.linewidth": 0.6,
        "axes.spines.top": False, "axes.spines.right": False,
    })
    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    return fig, fig.add_subplot()


def _finish(fig, key: str, title: str, description: str, png: bool) -> Chart:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Title": title,
                                                 "Description": description})
    svg = buffer.getvalue()
    # matplotlib writes the title as the first child of <svg>; the description follows it
    start = svg.index("</title>", svg.index("<svg")) + len("</title>")
    svg = svg[:start] + f"\n <desc>{escape(description)}</desc>" + svg[start:]
    data = None
    if png:
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=110, metadata={"Software": None})
        data = out.getvalue()
    return Chart(key, title, description, svg, data)


def _stacked(groups, title: str, key: str, png: bool, previous: bool) -> Chart:
    """Regions of each group by overall rating, one horizontal stacked bar per group (and last
    year's bar below it when known)."""
    labels, rows = [], []
    for g in groups:
        if g.regions:
            labels.append(g.name)
            rows.append(g.overall)
        if previous and g.previous is not None and g.previous_regions:
            labels.append(f"{g.name}（上年）")
            rows.append(g.previous)
    height = max(2.2, 0.42 * len(labels) + 1.2)
    fig, ax = _figure(height)
    y = list(range(len(labels)))[::-1]
    left = [0] * len(labels)
    for rating in RATING_ORDER:
        fill, hatch, ink = STYLE[rating]
        values = [c.get(rating) for c in rows]
        bars = ax.barh(y, values, left=left, color=fill, hatch=hatch, edgecolor="#000000", linewidth=0.6,
                       label=rating.value, height=0.68)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center", color=ink,
                     fontsize=9, bbox=dict(boxstyle="square,pad=0.1", fc=fill, ec="none") if hatch else None)
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(y, labels)
    ax.set_xlabel("地区数（个）")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(ncols=3, loc="lower right", bbox_to_anchor=(1, 1), frameon=False, fontsize=9)
    description = "；".join(f"{label}：" + "、".join(f"{r.value} {c.get(r)} 个" for r in RATING_ORDER)
                           for label, c in zip(labels, rows))
    return _finish(fig, key, title, description, png)


def _tasks(stats: Statistics, png: bool) -> Chart:
    """Tasks rated 未达标 by at least one region (final or self), most first: final beside self."""
    title = "各项考评内容被评为“未达标”的地区数"
    tasks = [t for t in stats.tasks_by_failures() if t.name and (t.final.failed or t.self.failed)]
    if not tasks:
        fig, ax = _figure(1.6)
        ax.set_axis_off()
        ax.text(0.0, 0.5, "没有被评为“未达标”的考评内容。", fontsize=11, transform=ax.transAxes)
        ax.set_title(title, loc="left", fontsize=11)
        return _finish(fig, "tasks", title, "没有被评为“未达标”的考评内容", png)
    labels = [f"{t.task_id} {_short(t.name)}" for t in tasks]
    fig, ax = _figure(max(2.4, 0.5 * len(tasks) + 1.2))
    y = list(range(len(tasks)))[::-1]
    fill, hatch, ink = STYLE[Rating.FAILED]
    final = ax.barh([v + 0.19 for v in y], [t.final.failed for t in tasks], height=0.36, color=fill, hatch=hatch,
                    edgecolor="#000000", linewidth=0.6, label="考评未达标")
    sfill, shatch, _ = SELF_STYLE
    own = ax.barh([v - 0.19 for v in y], [t.self.failed for t in tasks], height=0.36, color=sfill, hatch=shatch,
                  edgecolor="#000000", linewidth=0.6, label="自评未达标")
    ax.bar_label(final, padding=2, fontsize=9)
    ax.bar_label(own, padding=2, fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlabel("地区数（个）")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(ncols=2, loc="lower right", bbox_to_anchor=(1, 1), frameon=False, fontsize=9)
    description = "；".join(f"{t.task_id}：考评 {t.final.failed} 个、自评 {t.self.failed} 个" for t in tasks)
    return _finish(fig, "tasks", title, description, png)


def _adjustments(stats: Statistics, png: bool) -> Chart:
    """How often the final rating is below or above the self-rating, per 市（州）."""
    title = "考评等次与自评等次不同的项数（按市（州））"
    prefecture = {r.name: r.prefecture for r in stats.regions}
    names = [g.name for g in stats.prefectures if g.regions]
    down = {n: 0 for n in names}
    up = {n: 0 for n in names}
    for d in stats.differences:
        (down if d.direction == "调低" else up)[prefecture[d.region]] += 1
    fig, ax = _figure(max(2.4, 0.42 * len(names) + 1.2))
    y = list(range(len(names)))[::-1]
    lowered = ax.barh([v + 0.19 for v in y], [down[n] for n in names], height=0.36, color="#505050",
                      hatch="\\\\", edgecolor="#000000", linewidth=0.6, label="考评低于自评（调低）")
    raised = ax.barh([v - 0.19 for v in y], [up[n] for n in names], height=0.36, color="#ffffff",
                     hatch="", edgecolor="#000000", linewidth=0.6, label="考评高于自评（调高）")
    ax.bar_label(lowered, padding=2, fontsize=9)
    ax.bar_label(raised, padding=2, fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlabel("项数")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(ncols=2, loc="lower right", bbox_to_anchor=(1, 1), frameon=False, fontsize=9)
    description = "；".join(f"{n}：调低 {down[n]} 项、调高 {up[n]} 项" for n in names)
    return _finish(fig, "adjustments", title, description, png)


def _short(name: str, limit: int = 18) -> str:
    """A task's name cut for an axis label (the full name is in the tables)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def charts(stats: Statistics, png: bool = False) -> list[Chart]:
    """Every chart of the 统计 page, in the order shown."""
    with _LOCK:
        return [
            _stacked(stats.levels, "各考评层次总等次（地区数）", "levels", png, stats.has_previous),
            _stacked(stats.prefectures, "各市（州）总等次（地区数，含所辖县（市、区））", "prefectures", png,
                     stats.has_previous),
            _tasks(stats, png),
            _adjustments(stats, png),
        ]
