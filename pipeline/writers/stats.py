"""The statistics as files: one XLSX (a sheet per table, the charts on a sheet of their own) and
a PDF on A4 landscape (Jinja2 HTML + WeasyPrint, the Fandol fonts embedded, the charts as SVG).
"""

from __future__ import annotations

import io
import math

from ..layout import TEMPLATES, text_width_em
from ..stats import Statistics, Table, overview

FAILED_RED = "A50000"
MAX_WIDTH = 60  # characters of Excel's default font: a longer text wraps
SHEET_NAMES = {"levels": "按考评层次", "prefectures": "按市（州）", "tasks": "按考评内容", "regions": "按地区",
               "differences": "考评与自评不同"}


def title(stats: Statistics) -> str:
    return f"{stats.year}年度民政工作目标责任制考评结果统计"


def _width(text: str) -> float:
    """Excel's column width for a text: a Chinese character takes about two widths of “0”."""
    return 2 * text_width_em(text) + 2


def to_text(table: Table) -> str:
    """A table for the terminal: columns aligned by display width (a Chinese character is two)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    rows = [[c.label for c in table.columns]] + [[cell.text for cell in row] for row in table.rows]
    if table.total:
        rows.append([cell.text for cell in table.total])
    widths = [max(width(row[i]) for row in rows) for i in range(len(table.columns))]
    lines = [table.title]
    for row in rows:
        cells = []
        for i, (text, column) in enumerate(zip(row, table.columns)):
            pad = " " * (widths[i] - width(text))
            cells.append(pad + text if column.numeric else text + pad)
        lines.append("  ".join(cells).rstrip())
    if not table.rows:
        lines.append("（无）")
    lines += [("注：" if i == 0 else "　　") + note for i, note in enumerate(table.notes)]
    return "\n".join(lines)


ABOUT_WIDTH = 110
LINE_PT = 15  # one line of Excel's default 11-point font


def _lines(text: str, width: float) -> int:
    """Lines a text wraps to in a column ``width`` units wide."""
    return max(1, math.ceil((_width(text) - 2) / max(1.0, width - 1)))


def _height(lines: int) -> float:
    return LINE_PT * lines + 3


def _landscape(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def to_xlsx(stats: Statistics, tables: list[Table], charts=()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    about = wb.active
    about.title = "说明"
    about["A1"] = title(stats) + ("（样例数据）" if stats.sample else "")
    about["A1"].font = Font(bold=True, size=14)
    lines = [f"考评结果：{stats.source}"] + ([f"上年结果：{stats.previous_source}"] if stats.has_previous else [])
    lines += overview(stats)
    for i, line in enumerate(lines, start=3):
        cell = about.cell(row=i, column=1, value=line)
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        about.row_dimensions[i].height = _height(_lines(line, ABOUT_WIDTH))
    about.column_dimensions["A"].width = ABOUT_WIDTH
    _landscape(about)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="EEEEEE")
    for table in tables:
        ws = wb.create_sheet(SHEET_NAMES.get(table.key, table.key)[:31])
        ws.cell(row=1, column=1, value=table.title).font = Font(bold=True, size=12)
        header = 2
        for c, column in enumerate(table.columns, start=1):
            cell = ws.cell(row=header, column=c, value=column.label)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        rows = table.rows + ([table.total] if table.total else [])
        for r, row in enumerate(rows, start=header + 1):
            for c, (column, value) in enumerate(zip(table.columns, row), start=1):
                number = isinstance(value.value, (int, float)) and column.numeric and not value.text.endswith("%")
                if value.text.endswith("%") and isinstance(value.value, (int, float)):
                    cell = ws.cell(row=r, column=c, value=value.value / 100)
                    cell.number_format = "0.0%"
                elif number:
                    cell = ws.cell(row=r, column=c, value=value.value)
                    if value.text.startswith("+"):
                        cell.number_format = "+0;-0;0" if isinstance(value.value, int) else "+0.0;-0.0;0"
                else:
                    cell = ws.cell(row=r, column=c, value=value.text)
                    cell.data_type = "s"  # text, even “=…” from last year's file: never a formula
                cell.border = border
                cell.alignment = Alignment(vertical="top", wrap_text=True,
                                           horizontal="right" if column.numeric else "left")
                if value.mark == "failed":
                    cell.font = Font(bold=True, color=FAILED_RED)
                elif table.total is not None and r == header + len(rows):  # the 全省 row
                    cell.font = Font(bold=True)
        widths = []
        for c, column in enumerate(table.columns, start=1):
            longest = max([_width(column.label) / 1.6] + [_width(row[c - 1].text) for row in rows])
            if column.width:
                longest = min(longest, 2 * column.width + 2)
            widths.append(round(min(MAX_WIDTH, max(6.0, longest)), 1))
            ws.column_dimensions[get_column_letter(c)].width = widths[-1]
        # row heights written out: LibreOffice and WPS do not grow a row for wrapped text on opening
        ws.row_dimensions[header].height = _height(max(_lines(c.label, w) for c, w in zip(table.columns, widths)))
        for r, row in enumerate(rows, start=header + 1):
            lines = max(_lines(cell.text, w) for cell, w in zip(row, widths))
            if lines > 1:
                ws.row_dimensions[r].height = _height(lines)
        ws.freeze_panes = ws.cell(row=header + 1, column=2)
        last = header + len(table.rows)
        if table.rows:
            ws.auto_filter.ref = f"A{header}:{get_column_letter(len(table.columns))}{last}"
        # notes in a cell as wide as the table, wrapped: they never widen the printed page
        note_row = header + len(rows) + 2
        for i, note in enumerate(table.notes):
            r = note_row + i
            ws.cell(row=r, column=1, value=f"注：{note}" if i == 0 else f"　　{note}").alignment = \
                Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(table.columns))
            ws.row_dimensions[r].height = _height(_lines(note, sum(widths)) + 0)
        ws.print_title_rows = f"{header}:{header}"
        _landscape(ws)
    if charts:
        ws = wb.create_sheet("图表")
        ws.cell(row=1, column=1, value="图表").font = Font(bold=True, size=12)
        row = 3
        for chart in charts:
            if chart.png is None:
                continue
            image = Image(io.BytesIO(chart.png))
            ws.add_image(image, f"A{row}")
            row += int(image.height / 20) + 2  # rows of 20 px
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def to_pdf(stats: Statistics, tables: list[Table], charts=()) -> bytes:
    """A4 landscape: the overview, the charts, every table (header repeated on each page)."""
    import jinja2
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from ..layout import font_paths, load_layout
    from .pdf import check_harfbuzz_subset

    check_harfbuzz_subset()
    fonts = font_paths(load_layout())
    svgs = {f"{CHART_SCHEME}{c.key}.svg": c.svg.encode("utf-8") for c in charts}
    fetcher = _ChartsAndFonts({p.resolve().as_uri(): p for p in fonts.values()}, svgs)
    # its own folder: a change here must not touch the fingerprint of every document (templates/html)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "stats"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["zip"] = zip
    html = env.get_template("stats.html.j2").render(
        stats=stats, title=title(stats), overview=overview(stats), tables=tables,
        charts=[(c, f"{CHART_SCHEME}{c.key}.svg") for c in charts],
        font_urls={role: p.resolve().as_uri() for role, p in fonts.items()})
    config = FontConfiguration()
    document = HTML(string=html, url_fetcher=fetcher, base_url=(TEMPLATES / "stats").as_uri() + "/")
    return document.write_pdf(font_config=config, stylesheets=[CSS(string="", font_config=config)])


CHART_SCHEME = "chart:"  # the charts reach WeasyPrint as images under this made-up scheme


class _ChartsAndFonts:
    """The layout's font files and this export's charts, nothing else: no file://, no network."""

    def __init__(self, fonts: dict, charts: dict[str, bytes]):
        self.fonts = fonts
        self.charts = charts

    def __call__(self, url: str):
        from weasyprint.urls import URLFetcherResponse

        if url in self.charts:
            return URLFetcherResponse(url, body=self.charts[url], headers={"Content-Type": "image/svg+xml"})
        path = self.fonts.get(url)
        if path is None:
            raise ValueError(f"blocked URL: {url}")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": "font/otf"})

    fetch = __call__
