"""A checklist as a fillable workbook (openpyxl), from the same Table view as the PDF and DOCX.

Only the rating and remarks cells (and the region on a class checklist) are unlocked; the sheet
is protected without a password so criteria cannot be changed by accident. The task id has its
own column and the year, class and region sit in fixed cells, so ``pipeline collect`` can read
the file back.
"""

from __future__ import annotations

import datetime as dt
import io

from zipfile import ZIP_DEFLATED, ZIP_STORED, ZipFile

from ..model import Rating
from ..views import DocumentView, Table

SHEET = "考评表"
# Fixed cells read back by `pipeline collect`
YEAR_CELL, LEVEL_CELL, REGION_CELL = "B2", "D2", "F2"
HEADER_ROW = 4  # column labels; data starts on the row after
FILL_KEYS = ("self_rating", "final_rating", "remarks")
RATING_KEYS = ("self_rating", "final_rating")
# The longest remark a return may carry, in characters: a few sentences and a link fit; longer
# evidence goes in an attached file. The form says so (header comment, data validation) and
# reading a return refuses more (results.check_records), so no document is held up laying out
# pages of remarks.
REMARKS_LIMIT = 500
# The footer under the table: (label, row offset from its first row, label column, value column)
FOOTER_CELLS = (("填报单位（盖章）", 0, 1, 3), ("填报人", 0, 5, 6), ("联系电话", 1, 1, 3), ("填报日期", 1, 5, 6))
# Column widths in Excel character units per view column
WIDTHS = {"number": 5, "category": 10, "id": 7, "name": 24, "excellent": 46, "standard": 42,
          "self_rating": 10, "final_rating": 10, "remarks": 22}


def header_label(column) -> str:
    """The column's label in the sheet's one header row; read back by `pipeline collect`."""
    return f"{column.group}（{column.label}）" if column.group else column.label


# A region's workbook is its class's workbook (the same tasks) with the region and the title
# filled in: written once per process with these markers, then copied with them replaced.
REGION_MARK, TITLE_MARK = "⟦region⟧", "⟦doc-title⟧"
_FORMS: dict[str, bytes] = {}


def checklist_workbook(view: DocumentView, table: Table) -> bytes:
    """The workbook. A region's: its class's workbook of the same tasks, written once per
    process with markers for the region and the title, copied with them filled in."""
    region = view.extra.get("region")
    if region is None or region.name != region.name.strip() or view.title != view.title.strip():
        return _workbook(view, table, region.name if region else None, view.title)
    key = repr((view.extra["heading"], view.extra["year"], view.extra["level"], view.date, view.author, table))
    if key not in _FORMS:
        _FORMS[key] = _workbook(view, table, REGION_MARK, TITLE_MARK)
    filled = _fill(_FORMS[key], {"xl/worksheets/sheet1.xml": (REGION_MARK, region.name),
                                 "docProps/core.xml": (TITLE_MARK, view.title)})
    return filled if filled is not None else _workbook(view, table, region.name, view.title)


def _fill(package: bytes, changes: dict[str, tuple[str, str]]) -> bytes | None:
    """The package with each part's marker replaced by its text (escaped); None when a marker
    is not there exactly once."""
    from xml.sax.saxutils import escape

    source = ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with ZipFile(out, "w", ZIP_STORED) as target:  # compressed once, by normalize_zip
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in changes:
                mark, text = changes[info.filename]
                xml = data.decode("utf-8")
                # the sheet's text is written with character references, the properties' as is
                for form in (str.__str__, _references):
                    if xml.count(form(mark)) == 1:
                        data = xml.replace(form(mark), form(escape(text))).encode("utf-8")
                        break
                else:
                    return None
            info.compress_type = ZIP_STORED
            target.writestr(info, data)
    return out.getvalue()


def _references(text: str) -> str:
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in text)


def _workbook(view: DocumentView, table: Table, region_name: str | None, title: str) -> bytes:
    # openpyxl (and the numpy it loads) imported here, not with the module: reading results
    # needs only the constants above, and a build with nothing to write imports none of it
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, Protection, Side
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    centre = Alignment(wrap_text=True, vertical="center", horizontal="center")
    body_font = Font(name="仿宋_GB2312", size=11)
    head_font = Font(name="黑体", size=11)
    unlocked = Protection(locked=False)

    columns = table.columns
    last_col = len(columns)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    ws["A1"] = view.extra["heading"]
    ws["A1"].font = Font(name="方正小标宋简体", size=16)
    ws["A1"].alignment = centre
    ws.row_dimensions[1].height = 30
    level = view.extra["level"]
    for label_cell, label, cell, value in (("A2", "年度", YEAR_CELL, view.extra["year"]),
                                           ("C2", "考评层次", LEVEL_CELL, level.value),
                                           ("E2", "地区", REGION_CELL, region_name)):
        ws[label_cell] = label
        ws[label_cell].font = head_font
        ws[cell] = value
        ws[cell].font = body_font
    if region_name is None:
        ws[REGION_CELL].protection = unlocked  # a class checklist: the region writes its name
        ws[REGION_CELL].border = Border(bottom=thin)

    for c, col in enumerate(columns, 1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=header_label(col))
        if col.key == "remarks":
            cell.comment = Comment(f"备注最多 {REMARKS_LIMIT} 字；详细材料请另附文件，此处写明文件名或链接。",
                                   view.author or "")
        cell.font = head_font
        cell.alignment = centre
        cell.border = border
        ws.column_dimensions[cell.column_letter].width = WIDTHS.get(col.key, 12)

    ratings = DataValidation(type="list", formula1='"' + ",".join(r.value for r in Rating) + '"',
                             allow_blank=True, showErrorMessage=True,
                             errorTitle="等次有误", error="请从下拉列表中选择：优秀、达标或未达标")
    ws.add_data_validation(ratings)
    remarks = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(REMARKS_LIMIT),
                             allow_blank=True, showErrorMessage=True, showInputMessage=True,
                             errorTitle="备注过长", error=f"备注最多 {REMARKS_LIMIT} 字，详细材料请另附文件",
                             promptTitle="备注", prompt=f"最多 {REMARKS_LIMIT} 字")
    ws.add_data_validation(remarks)
    row = HEADER_ROW + 1
    first_data = row
    for group in table.groups:
        for cells in group.rows:
            for c, col in enumerate(columns, 1):
                if col.key in group.spanned:
                    value = group.spanned[col.key]
                else:
                    value = "\n".join(cells.get(col.key, [])) or None
                cell = ws.cell(row=row, column=c, value=value)
                cell.font = body_font
                cell.border = border
                cell.alignment = centre if col.center else wrap
                if col.key in FILL_KEYS:
                    cell.protection = unlocked
                if col.key in RATING_KEYS:
                    ratings.add(cell.coordinate)
                if col.key == "remarks":
                    remarks.add(cell.coordinate)
            longest = max(len("\n".join(cells.get(k, []))) / (WIDTHS[k] * 0.55) +
                          len(cells.get(k, [])) for k in ("excellent", "standard", "name"))
            ws.row_dimensions[row].height = max(30, 15 * round(longest + 0.5))
            row += 1
    footer = row + 1
    for label, offset, label_column, value_column in FOOTER_CELLS:
        ws.cell(row=footer + offset, column=label_column, value=f"{label}：")
        ws.cell(row=footer + offset, column=value_column).protection = unlocked
        ws.cell(row=footer + offset, column=value_column).border = Border(bottom=thin)

    ws.freeze_panes = ws.cell(row=first_data, column=1)
    ws.print_title_rows = f"1:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = f"A1:{ws.cell(row=footer + 1, column=last_col).coordinate}"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.protection.sheet = True  # no password: filling needs none, editing criteria does
    ws.protection.formatRows = False
    ws.protection.formatColumns = False

    props = wb.properties
    fixed = dt.datetime.combine(view.date, dt.time())
    props.created = fixed
    props.modified = fixed
    props.creator = view.author
    props.lastModifiedBy = view.author
    props.title = title
    # openpyxl's save_workbook stamps `modified` with the current time; its ExcelWriter does not,
    # so the same inputs give the same bytes.
    out = io.BytesIO()
    ExcelWriter(wb, ZipFile(out, "w", ZIP_DEFLATED)).save()
    return out.getvalue()
