"""Blank checklists: exactly the tasks of a class or region, in DOCX, PDF and a fillable XLSX."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from pipeline.content import load_content
from pipeline.model import AssessmentClass

from .conftest import ROOT, Cli, edit
from pipeline.documents import CHECKLIST_COLUMNS

from .pdfcheck import assert_in_order, docx_text, mm, pdf_text, squash, table_columns
from .test_classes import COUNTY, DISTRICT, PREFECTURE

BOOK = load_content().tasks
EXPECTED = {"市（州）": PREFECTURE, "县（市）": COUNTY, "区": DISTRICT}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checklists")
    Cli(ROOT)("checklist", "--out", out)
    Cli(ROOT)("checklist", "--out", out, "--region", "九台区", "--region", "长白山管委会")
    return out


def xlsx_ids(path: Path) -> list[str]:
    ws = load_workbook(path).active
    header = [c.value for c in ws[4]]
    col = header.index("编号") + 1
    return [ws.cell(row=r, column=col).value for r in range(5, ws.max_row + 1)
            if re.fullmatch(r"\d+\.\d+", str(ws.cell(row=r, column=col).value or ""))]


def units(ids: list[str]) -> list[str]:
    result = []
    for task_id in ids:
        task = BOOK.task(task_id)
        result += [task.id, task.name, *task.excellent_lines, *task.standard_lines]
    return result


@pytest.mark.parametrize("level", list(EXPECTED))
def test_class_checklist_holds_exactly_its_tasks(out, level):
    ids = EXPECTED[level]
    base = out / "考评表" / level
    assert xlsx_ids(base.with_suffix(".xlsx")) == ids
    pdf, docx = pdf_text(base.with_suffix(".pdf")), docx_text(base.with_suffix(".docx"))
    assert_in_order(docx, units(ids))
    # rows break across pages: each column, read down the pages, holds its cells whole
    columns = dict(zip([c.key for c in CHECKLIST_COLUMNS],
                       table_columns(base.with_suffix(".pdf"), [c.width for c in CHECKLIST_COLUMNS])))
    assert squash(columns["id"]) == "".join(ids)
    assert_in_order(columns["name"], [BOOK.task(i).name for i in ids])
    assert squash(columns["name"]) == "".join(squash(BOOK.task(i).name) for i in ids)
    for key, lines in (("excellent", "excellent_lines"), ("standard", "standard_lines")):
        assert squash(columns[key]) == "".join(squash("".join(getattr(BOOK.task(i), lines)))
                                               for i in ids), key
    for text in (pdf, docx):
        others = [t for t in BOOK.tasks() if t.id not in ids]
        for task in others:
            assert task.name not in text, task.id


def test_manifest_levels_and_regions(out):
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    kinds = {(d["level"], d["region"], d["format"]) for d in docs if d["kind"] == "checklist"}
    for level in EXPECTED:
        for fmt in ("docx", "pdf", "xlsx"):
            assert (level, None, fmt) in kinds
    assert ("县（市）", "九台区", "xlsx") in kinds and ("市（州）", "长白山管委会", "pdf") in kinds


def test_region_checklist_equals_class_but_for_name(out):
    region = out / "考评表" / "地区" / "九台区"
    cls = out / "考评表" / "县（市）"
    assert xlsx_ids(region.with_suffix(".xlsx")) == xlsx_ids(cls.with_suffix(".xlsx"))
    a = docx_text(region.with_suffix(".docx"))
    b = docx_text(cls.with_suffix(".docx"))
    assert a.replace("地区：九台区", "地区：") == b.replace("地区：" + "\u3000" * 8, "地区：")
    assert load_workbook(region.with_suffix(".xlsx")).active["F2"].value == "九台区"
    assert load_workbook(cls.with_suffix(".xlsx")).active["F2"].value is None


def test_pilot_region_lacks_census_tasks(workdir, tmp_path):
    regions = workdir / "content" / "regions_jilin_2016.yaml"
    edit(regions, "name: 农安县, code: \"220122\", type: county, parent: 长春市",
         "name: 农安县, code: \"220122\", type: county, parent: 长春市, pilot: true")
    Cli(workdir)("checklist", "--region", "农安县", "--format", "xlsx", "--out", tmp_path)
    ids = xlsx_ids(tmp_path / "考评表" / "地区" / "农安县.xlsx")
    assert ids == [i for i in COUNTY if i not in ("12.1", "12.2")]


def test_xlsx_fillable_and_protected(out):
    ws = load_workbook(out / "考评表" / "区.xlsx").active
    assert ws.protection.sheet
    header = [c.value for c in ws[4]]
    self_col, final_col = header.index("自评等次") + 1, header.index("考评等次") + 1
    crit_col = header.index("考评标准（优秀）") + 1
    validations = [v for v in ws.data_validations.dataValidation if v.type == "list"]  # and the remarks' length
    assert len(validations) == 1 and validations[0].formula1 == '"优秀,达标,未达标"'
    ranges = str(validations[0].sqref)
    rows = range(5, 5 + len(DISTRICT))
    for r in rows:
        for c in (self_col, final_col):
            cell = ws.cell(row=r, column=c)
            assert cell.protection.locked is False
            assert cell.coordinate in validations[0].sqref, (cell.coordinate, ranges)
        assert ws.cell(row=r, column=crit_col).protection.locked is True
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows.replace("$", "") == "1:4"


def test_xlsx_round_trip(out, tmp_path):
    path = out / "考评表" / "地区" / "九台区.xlsx"
    wb = load_workbook(path)
    ws = wb.active
    ws.cell(row=5, column=7, value="优秀")
    copy = tmp_path / "filled.xlsx"
    wb.save(copy)
    again = load_workbook(copy).active
    assert again.cell(row=5, column=7).value == "优秀"
    assert xlsx_ids(copy) == COUNTY


def test_pdf_layout_landscape_and_numbers(out):
    import pdfplumber
    with pdfplumber.open(out / "考评表" / "区.pdf") as pdf:
        for index, page in enumerate(pdf.pages[:3]):
            assert page.width > page.height
            text = "".join(c["text"] for c in page.chars)
            assert "序号" in text and "自评等次" in text                 # header repeats
            xs = [r["x0"] for r in page.edges] + [r["x1"] for r in page.edges]
            assert mm(min(xs)) > 36.5 and mm(max(xs)) < 262.5
            numbers = [c for c in page.chars if round(c["size"]) == 14 and c["text"].strip()]
            assert "".join(c["text"] for c in sorted(numbers, key=lambda c: c["x0"])) == f"—{index + 1}—"
        first = pdf.pages[0]
        title = [c for c in first.chars if round(c["size"]) == 22]
        assert "".join(c["text"] for c in title) == "2016年全省民政工作目标责任制考评表"
        assert all("GW-title" in c["fontname"] for c in title)
        cells = [c for c in first.chars if round(c["size"]) == 12 and "GW-fang" in c["fontname"]]
        assert cells


def test_unknown_region_is_usage_error(cli):
    result = cli("checklist", "--region", "火星区", "--out", "/tmp/never", expect=2)
    assert "火星区" in result.stderr


def test_reproducible_all_formats(out, tmp_path):
    import time
    time.sleep(1.1)  # a clock-stamped field would now differ
    Cli(ROOT)("checklist", "--level", "区", "--out", tmp_path)
    for fmt in ("docx", "pdf", "xlsx"):
        a = (out / "考评表" / f"区.{fmt}").read_bytes()
        b = (tmp_path / "考评表" / f"区.{fmt}").read_bytes()
        assert a == b, fmt


@pytest.mark.parametrize("name,pilot,rename", [("九台区", False, None), ("长白山管委会", False, None),
                                               ("前郭尔罗斯蒙古族自治县", True, "A&B<县>")])
def test_region_workbook_from_its_class_form_is_the_workbook_written_whole(name, pilot, rename):
    """A region's XLSX is copied from its class's workbook with the region and title filled in:
    the same bytes as written whole (a pilot's tasks, a name needing escaping)."""
    from pipeline import documents
    from pipeline.output import normalize_zip
    from pipeline.writers import xlsx

    content = load_content()
    region = content.region(name).model_copy(update={"pilot": pilot, **({"name": rename} if rename else {})})
    view = documents.checklist(content.tasks, region.assessment_class, region)
    filled = normalize_zip(xlsx.checklist_workbook(view, view.extra["table"]))
    form = xlsx._workbook(view, view.extra["table"], xlsx.REGION_MARK, xlsx.TITLE_MARK)
    assert xlsx._fill(form, {"xl/worksheets/sheet1.xml": (xlsx.REGION_MARK, region.name),
                             "docProps/core.xml": (xlsx.TITLE_MARK, view.title)}) is not None  # not written whole
    whole = normalize_zip(xlsx._workbook(view, view.extra["table"], region.name, view.title))
    assert filled == whole
    import io
    sheet = load_workbook(io.BytesIO(filled))[xlsx.SHEET]
    assert sheet[xlsx.REGION_CELL].value == region.name
