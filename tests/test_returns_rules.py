"""The rules of a returned workbook (``pipeline/returns.py``), one at a time, each with the exact
message a clerk reads (task 编号 and name, the cell). The form is the one ``pipeline checklist``
writes for 九台区 (县（市）: 42 tasks on rows 5–46, the footer on rows 48–49); each case
changes its cells and packs them as a small XLSX of its own, so a case costs milliseconds (``make
mutate`` runs this file for every change it makes to returns.py). Real workbooks saved by Excel
and LibreOffice are read in ``test_returns.py``."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from openpyxl import load_workbook

from pipeline.content import load_content
from pipeline.errors import Cell, Problem
from pipeline.returns import (Footer, Return, _after, _check_file_name, _longest_ordered, read_return,
                              sheet_rows, task_label)

from .conftest import ROOT, Cli

CONTENT = load_content()
NAME = "九台区.xlsx"
FIX = "请用本系统生成的考评表重新填写"

# rows of 九台区's form, by task (县（市）'s 42 tasks in table order)
ROW = {"1.1": 5, "1.2": 6, "1.3": 7, "1.4": 8, "2.1": 9, "2.2": 10, "2.3": 11, "2.4": 12, "3.1": 13, "3.2": 14,
       "4.2": 15, "4.3": 16, "19.2": 45, "20.1": 46}
L11 = "第 1.1 项“实施‘脱贫攻坚最低生活保障支持计划’”"
L13 = "第 1.3 项“全面落实重特大疾病救助制度”"
L14 = "第 1.4 项“全面开展救急难工作”"
L21 = "第 2.1 项“受灾群众得到及时有效救助”"
L22 = "第 2.2 项“建立救灾物资紧急调运机制”"
L23 = "第 2.3 项“建立救灾物资（食品、水等）协议或合同储备机制”"
L31 = "第 3.1 项“福利中心室内厕所改造工作任务”"
L41 = "第 4.1 项“编制本地区社会养老服务体系建设规划”"
L192 = "第 19.2 项“残疾职工合法权益保障”"
L201 = "第 20.1 项“福利彩票销售指标稳步提升”"


# --- a small XLSX from a grid of cells -------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    formula: str  # without "="; "" for a shared formula's follower
    cached: str | None = None


@dataclass(frozen=True)
class Date:
    serial: int  # days since 1899-12-30


@dataclass(frozen=True)
class Empty:
    """A cell holding an empty text (as some programs write one)."""


@dataclass(frozen=True)
class Link:
    text: str
    target: str


def _cell(ref: str, value) -> str:
    if isinstance(value, Formula):
        f = f"<f>{escape(value.formula)}</f>" if value.formula else '<f t="shared" si="0"/>'
        v = f"<v>{escape(value.cached)}</v>" if value.cached is not None else ""
        return f'<c r="{ref}" t="str">{f}{v}</c>'
    if isinstance(value, Date):
        return f'<c r="{ref}" s="1"><v>{value.serial}</v></c>'
    if isinstance(value, Empty):
        return f'<c r="{ref}" t="inlineStr"><is><t></t></is></c>'
    if isinstance(value, Link):
        value = value.text
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def letter(column: int) -> str:
    name = ""
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


def pack(grid: dict, sheets=("考评表",), date1904: bool = False) -> bytes:
    """The grid ((row, column) → value) as the first sheet of a workbook whose sheets are ``sheets``
    (dates counted from 1904 with ``date1904``, as old Excel for Mac did)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rows: dict[int, list] = {}
    for (r, c), value in sorted(grid.items()):
        if value is not None and value != "":
            rows.setdefault(r, []).append(_cell(f"{letter(c)}{r}", value))
    links = [(f"{letter(c)}{r}", v.target) for (r, c), v in sorted(grid.items()) if isinstance(v, Link)]
    data = "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, cells in sorted(rows.items()))
    hyperlinks = "".join(f'<hyperlink ref="{ref}" r:id="rL{i}"/>' for i, (ref, _) in enumerate(links))
    parts = {
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}">'
        + ('<workbookPr date1904="1"/>' if date1904 else "") + "<sheets>" + "".join(
            f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(sheets))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships">' + "".join(f'<Relationship Id="rId{i + 1}" Type="{rel}/worksheet" '
                                    f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(sheets)))
        + "</Relationships>",
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/>'
                         "</cellXfs></styleSheet>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}" xmlns:r="{rel}"><sheetData>{data}</sheetData>'
                                    + (f"<hyperlinks>{hyperlinks}</hyperlinks>" if links else "") + "</worksheet>",
    }
    for i in range(1, len(sheets)):
        parts[f"xl/worksheets/sheet{i + 1}.xml"] = f'<worksheet xmlns="{main}"><sheetData/></worksheet>'
    if links:
        parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + "".join(
                f'<Relationship Id="rL{i}" Type="{rel}/hyperlink" Target="{escape(t)}" TargetMode="External"/>'
                for i, (_, t) in enumerate(links)) + "</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> dict:
    """九台区's blank form as written by ``pipeline checklist``: (row, column) → value."""
    out = tmp_path_factory.mktemp("blank")
    Cli(ROOT)("checklist", "--format", "xlsx", "--region", "九台区", "--out", out)
    ws = load_workbook(out / "考评表" / "地区" / "九台区.xlsx").active
    return {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}


def filled(blank: dict, **changes) -> dict:
    """Every task rated (自评 优秀, 考评 达标) and the footer filled, then ``changes`` ("G5": value)."""
    grid = dict(blank)
    for row in range(5, 47):
        grid[(row, 7)], grid[(row, 8)] = "优秀", "达标"
    grid.update({(48, 3): "九台区民政局", (48, 6): "王晓红", (49, 3): "0431-82345678", (49, 6): Date(42724)})
    for ref, value in changes.items():
        grid[ref_of(ref)] = value
    return grid


def ref_of(ref: str) -> tuple[int, int]:
    letters = "".join(ch for ch in ref if ch.isalpha())
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    return int(ref[len(letters):]), column


def read(grid: dict, name: str = NAME, **options) -> Return:
    return read_return(None, CONTENT, data=pack(grid), name=name, **options)


def said(found: Return) -> list[str]:
    return [str(p) for p in found.problems]


def warned(found: Return) -> list[str]:
    return [str(p) for p in found.warnings]


def move_rows(grid: dict, mapping: dict[int, int | None]) -> dict:
    """Rows moved (old → new; None: deleted); the others stay where they are."""
    out = {k: v for k, v in grid.items() if k[0] not in mapping}
    for (r, c), v in grid.items():
        if mapping.get(r) is not None:
            out[(mapping[r], c)] = v
    return out


def shift(grid: dict, at: int, by: int) -> dict:
    """Rows from ``at`` on moved down ``by`` (up when negative), as inserting or deleting rows does."""
    return {((r + by) if r >= at else r, c): v for (r, c), v in grid.items()}


# --- a good return ------------------------------------------------------------------------------------------


def test_a_filled_return_is_accepted_with_its_records_and_footer(blank):
    found = read(filled(blank, I5="见附件1：工作台账（共 3 页）"))
    assert found.accepted and found.problems == [] and found.warnings == []
    assert (found.name, found.region, found.level) == (NAME, "九台区", "县（市）")
    assert len(found.records) == 42
    first, last = found.records[0], found.records[-1]
    assert (first.region, first.task, first.rating, first.self_rating, first.remarks) == \
        ("九台区", "1.1", "达标", "优秀", "见附件1：工作台账（共 3 页）")
    assert first.cells == {"region": Cell("考评表", "F2"), "rating": Cell("考评表", "H5"), "self_rating": Cell("考评表", "G5"),
                           "remarks": Cell("考评表", "I5"), "task": Cell("考评表", "C5")}
    assert str(first.where) == "九台区.xlsx 考评表 C5 单元格："
    assert (last.task, last.cells["task"], last.remarks) == ("20.1", Cell("考评表", "C46"), "")
    assert [r.task for r in found.records][:5] == ["1.1", "1.2", "1.3", "1.4", "2.1"]
    final = found.results.final(CONTENT.region("九台区"))
    assert len(final) == 42 and final["1.1"].rating.value == "达标"
    assert found.footer == Footer("九台区民政局", "王晓红", "0431-82345678", "2016年12月20日",
                                  {"填报单位（盖章）": Cell("考评表", "C48"), "填报人": Cell("考评表", "F48"),
                                   "联系电话": Cell("考评表", "C49"), "填报日期": Cell("考评表", "F49")})
    assert found.footer.filled is True
    assert (found.results.source, found.results.encoding) == (NAME, "XLSX")


def test_dates_of_a_1904_workbook(blank):
    grid = filled(blank, F49=Date(41262))
    found = read_return(None, CONTENT, data=pack(grid, date1904=True), name=NAME)
    assert found.accepted and found.footer.date == "2016年12月20日"
    assert read(grid).footer.date == "2012年12月19日"  # the same number counted from 1900


def test_self_ratings_alone_are_a_return_too(blank):
    grid = filled(blank)
    for row in range(5, 47):
        grid[(row, 8)] = None
    found = read(grid)
    assert found.accepted and found.records[0].rating == "" and found.records[0].self_rating == "优秀"


def test_a_blank_form_is_refused_as_unfilled(blank):
    found = read(blank)
    assert not found.accepted and found.results.by_region == {} and len(found.records) == 42
    assert said(found) == ["九台区.xlsx: 工作簿中没有填写任何等次"]
    assert found.footer.filled is False and found.footer.items() == [
        ("填报单位（盖章）", ""), ("填报人", ""), ("联系电话", ""), ("填报日期", "")]


def test_a_return_read_from_its_file_is_named_by_its_path(blank, tmp_path):
    path = tmp_path / "珲春市.xlsx"
    path.write_bytes(pack(filled(blank)))
    found = read_return(path, CONTENT)
    assert found.name == str(path) and found.accepted
    assert warned(found) == [f"{path} 考评表 F2 单元格：文件名写的是珲春市，表内填写的地区是九台区；"
                             "已作为九台区的考评表接收，请核对是否交错了文件"]


def test_a_large_workbook_from_a_file(blank, tmp_path):
    """Up to 20 MiB (a workbook with photos of the evidence), read from its file too."""
    path = tmp_path / "九台区.xlsx"
    buffer = io.BytesIO(pack(filled(blank)))
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr("xl/media/image1.png", bytes(range(256)) * (5 * 4096))  # 5 MiB, stored
    path.write_bytes(buffer.getvalue())
    assert read_return(path, CONTENT).accepted
    big = tmp_path / "大.xlsx"
    with big.open("wb") as handle:
        handle.truncate(25 * 1024 * 1024)
    assert said(read_return(big, CONTENT)) == [f"{big}: 文件过大（25600 KiB），超过上限 20480 KiB，请检查是否选错文件"]


def test_a_rating_that_is_not_one_is_named_at_its_cell(blank):
    found = read(filled(blank, H6="很好", G7="良"))
    assert not found.accepted and found.results is None and len(found.records) == 42
    assert said(found) == [
        "九台区.xlsx 考评表 H6 单元格：第 1.2 项“分别按不低于上年度城镇和农村居民人均可支配收入的20%和30%确定城乡低保标准，"
        "15个贫困县农村低保标准在此基础上适度提高”：考评等次“很好”无效，应为 优秀、达标、未达标 之一",
        f"九台区.xlsx 考评表 G7 单元格：{L13}：自评等次“良”无效，应为 优秀、达标、未达标 之一"]


# --- the file's name ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename, warning", [
    ("九台区.xlsx", None), ("九台区-考评表（定稿）.xlsx", None), ("return-3.xlsx", None),
    ("珲春市.xlsx", "文件名写的是珲春市，表内填写的地区是九台区"),
    ("C:\\交回\\珲春市.xlsx", "文件名写的是珲春市，表内填写的地区是九台区"),
    ("珲春市、龙井市.xlsx", "文件名写的是珲春市、龙井市，表内填写的地区是九台区"),
    ("九台区/珲春市.xlsx", "文件名写的是珲春市，表内填写的地区是九台区"),
    ("D:\\九台区\\珲春市.xlsx", "文件名写的是珲春市，表内填写的地区是九台区"),
])
def test_a_file_named_after_another_region_is_taken_for_the_forms_region(blank, filename, warning):
    found = read(filled(blank), name="上传-1.xlsx", filename=filename)
    assert found.accepted and found.region == "九台区"
    expected = [] if warning is None else [
        f"上传-1.xlsx 考评表 F2 单元格：{warning}；已作为九台区的考评表接收，请核对是否交错了文件"]
    assert warned(found) == expected


def test_without_a_filename_the_name_is_checked(blank):
    assert warned(read(filled(blank), name="珲春市.xlsx")) == [
        "珲春市.xlsx 考评表 F2 单元格：文件名写的是珲春市，表内填写的地区是九台区；已作为九台区的考评表接收，请核对是否交错了文件"]


def test_a_region_named_inside_a_longer_name_is_not_named_twice():
    found = Return("x.xlsx", region="九台区")
    _check_file_name("长春市朝阳区-考评表.xlsx", found, ["长春市", "长春市朝阳区", "朝阳区", "九台区"])
    assert warned(found) == ["x.xlsx 考评表 F2 单元格：文件名写的是长春市朝阳区，表内填写的地区是九台区；"
                             "已作为九台区的考评表接收，请核对是否交错了文件"]
    found = Return("x.xlsx", region="九台区", warnings=[Problem("x.xlsx", None, "先有的提醒")])
    _check_file_name("朝阳区.xlsx", found, ["长春市", "长春市朝阳区", "朝阳区", "九台区"])
    assert [w.message for w in found.warnings] == [
        "文件名写的是朝阳区，表内填写的地区是九台区；已作为九台区的考评表接收，请核对是否交错了文件", "先有的提醒"]


def test_the_file_name_is_not_checked_when_the_form_is_refused(blank):
    found = read(filled(blank, C9="2.9"), name="珲春市.xlsx")
    assert found.warnings == [] and len(found.problems) == 1
    found = read(filled(blank, H6="很好"), name="珲春市.xlsx")  # a cell's own problem: the form held
    assert [w.message[:9] for w in found.warnings] == ["文件名写的是珲春市"] and len(found.problems) == 1


# --- not a workbook, not the form --------------------------------------------------------------------------------


def test_not_a_workbook(blank):
    found = read_return(None, CONTENT, data=b"PK\x03\x04 not a zip at all", name=NAME)
    assert said(found) == ["九台区.xlsx: 这不是 XLSX 工作簿（不是 zip 格式），请用本系统生成的考评表填写"]
    assert found.region is None and found.records == [] and not found.accepted


def test_a_workbook_without_its_parts(blank):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "x")
    found = read_return(None, CONTENT, data=out.getvalue(), name=NAME)
    assert said(found) == ["九台区.xlsx: XLSX 文件无法读取（缺少 xl/workbook.xml），请用本系统生成的考评表填写"]


def test_a_workbook_over_the_size_limit_is_not_opened(blank):
    found = read_return(None, CONTENT, data=b"x" * (25 * 1024 * 1024), name=NAME)
    assert said(found) == ["九台区.xlsx: XLSX 文件无法读取（文件过大（25600 KiB），超过上限 20480 KiB），请用本系统生成的考评表填写"]


@pytest.mark.parametrize("sheets, message", [
    (("Sheet1", "说明"), "找不到工作表“考评表”（工作簿中只有：Sheet1、说明），请用本系统生成的考评表填写"),
    ((), "找不到工作表“考评表”，请用本系统生成的考评表填写"),
])
def test_a_workbook_without_the_forms_sheet(blank, sheets, message):
    data = pack(filled(blank), sheets=sheets) if sheets else pack({}, sheets=())
    found = read_return(None, CONTENT, data=data, name=NAME)
    assert said(found) == [f"九台区.xlsx: {message}"]


def test_the_fixed_cells_and_the_header(blank):
    found = read(filled(blank, B2=2015, D2="市（州）", A4="序", I4="备注"))
    assert said(found) == ["九台区.xlsx 考评表 B2 单元格：年度应为 2016，现在是“2015”",
                           "九台区.xlsx 考评表 D2 单元格：这是“市（州）”的考评表，九台区属于“县（市）”，请用九台区的考评表填写",
                           "九台区.xlsx 考评表 A4 单元格：表头已被改动，请用本系统生成的考评表重新填写"]
    assert found.region == "九台区" and found.level == "市（州）" and found.records == []


def test_spaces_and_line_breaks_in_the_level_and_header_are_no_change(blank):
    found = read(filled(blank, D2=" 县 （市）\n", D4="考评\n内容", I4="备注 / 佐证材料"))
    assert found.accepted and found.level == "县（市）", said(found)


def test_an_empty_level(blank):
    found = read(filled(blank, D2=None))
    assert said(found) == ["九台区.xlsx 考评表 D2 单元格：这是“”的考评表，九台区属于“县（市）”，请用九台区的考评表填写"]
    assert found.level == ""


@pytest.mark.parametrize("value, message", [
    (None, "未填写地区名称"), ("", "未填写地区名称"),
    ("九台", "地区“九台”不在地区名单中，请填写地区全称，您是不是要找：九台区"),
    ("火星市", "地区“火星市”不在地区名单中，请填写地区全称"),
])
def test_the_region_cell(blank, value, message):
    found = read(filled(blank, F2=value, B2=2015))
    assert said(found) == ["九台区.xlsx 考评表 B2 单元格：年度应为 2016，现在是“2015”", f"九台区.xlsx 考评表 F2 单元格：{message}"]
    assert found.region is None


def test_the_region_as_a_formula(blank):
    assert read(filled(blank, F2=Formula('"九台"&"区"', "九台区"))).accepted
    found = read(filled(blank, F2=Formula('"九台"&"区"')))
    assert said(found) == [
        "九台区.xlsx 考评表 F2 单元格：单元格是公式（=\"九台\"&\"区\"），但文件中没有它的计算结果；"
        "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字",
        "九台区.xlsx 考评表 F2 单元格：未填写地区名称"]


def test_another_classes_form(blank):
    grid = filled(blank, F2="长春市")
    found = read(grid)
    assert said(found) == ["九台区.xlsx 考评表 D2 单元格：这是“县（市）”的考评表，长春市属于“市（州）”，请用长春市的考评表填写"]


# --- task rows ---------------------------------------------------------------------------------------------------


def test_a_deleted_task_row(blank):
    grid = shift(move_rows(filled(blank), {13: None}), 14, -1)
    found = read(grid)
    assert said(found) == [f"九台区.xlsx 考评表 C13 单元格：{L31}这一行被删除了（应在第 13 行），{FIX}"]
    assert found.records == [] and found.results is None


def test_the_first_and_last_rows_deleted(blank):
    grid = shift(move_rows(filled(blank), {5: None, 46: None}), 6, -1)
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C5 单元格：{L11}这一行被删除了（应在第 5 行），{FIX}",
                                f"九台区.xlsx 考评表 C45 单元格：{L201}这一行被删除了（应在第 45 行），{FIX}"]


def test_an_added_row(blank):
    grid = shift(filled(blank), 10, 1)
    grid.update({(10, 4): "补充：村务公开", (10, 7): "优秀"})
    assert said(read(grid)) == [f"九台区.xlsx 考评表 D10 单元格：第 10 行不是考评表原有的任务行（位于{L21}之后），"
                                "请删除此行；考评表的行不能增删"]


def test_an_added_row_under_the_header_and_rows_holding_only_a_formula(blank):
    grid = shift(filled(blank), 5, 1)
    grid[(5, 9)] = Formula("1+1", "2")
    grid = shift(grid, 12, 1)
    grid[(12, 1)] = Formula("", None)
    grid = shift(grid, 20, 1)
    grid[(20, 9)] = Formula("", None)
    found = read(grid)
    assert said(found) == [
        "九台区.xlsx 考评表 I5 单元格：第 5 行不是考评表原有的任务行（位于表头之下），请删除此行；考评表的行不能增删",
        f"九台区.xlsx 考评表 A12 单元格：第 12 行不是考评表原有的任务行（位于{L22}之后），请删除此行；考评表的行不能增删",
        "九台区.xlsx 考评表 I20 单元格：第 20 行不是考评表原有的任务行（位于第 5.1 项“建立困难残疾人生活补贴和重度残疾人护理补贴制度”之后），"
        "请删除此行；考评表的行不能增删"]


def test_a_row_twice(blank):
    grid = shift(filled(blank), 10, 1)
    grid.update({(10, c): grid.get((9, c)) for c in range(1, 10)})
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C10 单元格：{L21}有两行（第 9 行和第 10 行），请删除多出的一行"]


@pytest.mark.parametrize("column, label", [(1, "序号"), (2, "考评项目"), (4, "考评内容"), (5, "优秀"), (6, "达标")])
def test_a_changed_cell_of_a_task_row(blank, column, label):
    grid = filled(blank)
    grid[(9, column)] = str(grid[(9, column)]) + "（改）"
    assert said(read(grid)) == [f"九台区.xlsx 考评表 {'ABCDEF'[column - 1]}9 单元格：{L21}的“{label}”已被改动，{FIX}"]


def test_a_row_whose_number_was_typed_over(blank):
    grid = filled(blank, C9="2.2")  # 2.1's row now says 2.2: its ratings would go to the wrong task
    assert said(read(grid)) == [f"九台区.xlsx 考评表 D9 单元格：编号为 2.2 的这一行，考评内容和标准却是{L21}的"
                                f"（应为{L22}），行或单元格被挪动过；{FIX}"]


def test_two_rows_whose_numbers_were_swapped(blank):
    grid = filled(blank, C9="2.2", C10="2.1")
    assert said(read(grid)) == [
        f"九台区.xlsx 考评表 D9 单元格：编号为 2.2 的这一行，考评内容和标准却是{L21}的（应为{L22}），行或单元格被挪动过；{FIX}",
        f"九台区.xlsx 考评表 D10 单元格：编号为 2.1 的这一行，考评内容和标准却是{L22}的（应为{L21}），行或单元格被挪动过；{FIX}"]


def test_an_altered_row_and_its_copy(blank):
    grid = shift(filled(blank), 10, 1)
    grid.update({(10, c): grid.get((9, c)) for c in range(1, 10)})
    grid[(9, 4)] = "自拟的考评内容"
    assert said(read(grid)) == [f"九台区.xlsx 考评表 D9 单元格：{L21}的“考评内容”已被改动，{FIX}",
                                f"九台区.xlsx 考评表 C10 单元格：{L21}有两行（第 9 行和第 10 行），请删除多出的一行"]


def test_a_row_whose_number_was_typed_over_and_that_tasks_row_deleted(blank):
    grid = shift(move_rows(filled(blank, C9="2.2"), {10: None}), 11, -1)
    assert said(read(grid)) == [f"九台区.xlsx 考评表 D9 单元格：编号为 2.2 的这一行，考评内容和标准却是{L21}的"
                                f"（应为{L22}），行或单元格被挪动过；{FIX}"]


def test_a_row_whose_number_was_typed_over_with_no_task(blank):
    grid = filled(blank, C9="2.9")
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C9 单元格：{L21}的编号被改成了“2.9”，应为 2.1；{FIX}"]


def test_a_row_whose_number_and_criteria_were_both_changed(blank):
    grid = filled(blank, C9="2.9")
    grid[(9, 5)] = "自拟标准"
    assert said(read(grid)) == [
        f"九台区.xlsx 考评表 A9 单元格：第 9 行不是考评表原有的任务行（位于{L14}之后），请删除此行；考评表的行不能增删",
        f"九台区.xlsx 考评表 C9 单元格：{L21}这一行被删除了（应在第 9 行），{FIX}"]


def test_a_row_with_its_number_and_its_own_name_but_other_criteria(blank):
    grid = filled(blank)
    grid[(9, 5)] = grid[(10, 5)]
    assert said(read(grid)) == [f"九台区.xlsx 考评表 E9 单元格：{L21}的“优秀”已被改动，{FIX}"]


def test_a_row_of_another_classes_task(blank):
    grid = filled(blank, C9="4.1")
    grid[(9, 4)] = "编制本地区社会养老服务体系建设规划"
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C9 单元格：{L41}不在县（市）的考评表中，请删除此行",
                                f"九台区.xlsx 考评表 C9 单元格：{L21}这一行被删除了（应在第 9 行），{FIX}"]


def test_a_row_moved_down(blank):
    grid = move_rows(filled(blank), {9: 11, 10: 9, 11: 10})  # 2.1 below 2.3
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C11 单元格：{L21}这一行被移动过（现在第 11 行，应在{L14}之后），请按原顺序放回"]


def test_a_row_moved_to_the_top(blank):
    grid = move_rows(filled(blank), {5: 6, 6: 7, 7: 8, 8: 5})  # 1.4 first
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C5 单元格：{L14}这一行被移动过（现在第 5 行，应在{L13}之后），请按原顺序放回"]


def test_the_first_row_moved_down(blank):
    grid = move_rows(filled(blank), {5: 7, 6: 5, 7: 6})  # 1.1 below 1.3
    assert said(read(grid)) == [f"九台区.xlsx 考评表 C7 单元格：{L11}这一行被移动过（现在第 7 行，应在表头之下），请按原顺序放回"]


def test_a_deleted_row_placed_after_the_rows_in_order(blank):
    grid = move_rows(filled(blank), {11: 9, 9: 10, 10: 11})  # 2.3 above 2.1 and 2.2
    grid = shift(move_rows(grid, {12: None}), 13, -1)  # 2.4 deleted
    assert said(read(grid)) == [
        f"九台区.xlsx 考评表 C9 单元格：{L23}这一行被移动过（现在第 9 行，应在{L22}之后），请按原顺序放回",
        f"九台区.xlsx 考评表 C12 单元格：第 2.4 项“开展农房保险工作”这一行被删除了（应在第 12 行），{FIX}"]


def test_a_value_just_above_the_footer_is_a_row_added(blank):
    assert said(read(filled(blank, A47="补充说明"))) == [
        f"九台区.xlsx 考评表 A47 单元格：第 47 行不是考评表原有的任务行（位于{L201}之后），请删除此行；考评表的行不能增删"]


def test_a_moved_row_and_a_deleted_one(blank):
    grid = move_rows(filled(blank), {9: 11, 10: 9, 11: 10})
    grid = shift(move_rows(grid, {45: None}), 46, -1)
    assert said(read(grid)) == [
        f"九台区.xlsx 考评表 C11 单元格：{L21}这一行被移动过（现在第 11 行，应在{L14}之后），请按原顺序放回",
        f"九台区.xlsx 考评表 C45 单元格：{L192}这一行被删除了（应在第 45 行），{FIX}"]


def test_longest_run_in_order():
    assert _longest_ordered([]) == set()
    assert _longest_ordered([0, 1, 2]) == {0, 1, 2}
    assert _longest_ordered([2, 0, 1]) == {1, 2}
    assert _longest_ordered([1, 0]) == {0}  # of equal runs, the first
    assert _longest_ordered([0, 2, 1, 3]) == {0, 1, 3}
    assert _longest_ordered([3, 0, 1, 2, 4, 5]) == {1, 2, 3, 4, 5}
    assert _longest_ordered([0, 0, 1]) == {0, 2}  # strictly increasing
    assert _longest_ordered([5, 1, 2, 6, 3, 4]) == {1, 2, 4, 5}


def test_text_after_a_label():
    assert _after("填报人：王晓红", 3) == "：王晓红"
    assert _after(" 填 报 人 ： 王 晓红", 3) == " ： 王 晓红"
    assert _after("填报人", 3) == "" and _after("", 0) == "" and _after("王", 0) == "王"


def test_sheet_rows():
    assert sheet_rows([]) == 0 and sheet_rows([3, 7, 49]) == 49


def test_task_label():
    assert task_label(CONTENT.tasks.task("2.1")) == L21


# --- the footer ----------------------------------------------------------------------------------------------------


def test_footer_values_after_their_labels_and_across_cells(blank):
    grid = filled(blank)
    grid.update({(48, 1): "填报单位（盖章）：九台区民政局", (48, 3): None, (48, 4): "（章）",
                 (48, 6): None, (48, 7): "王", (48, 8): "晓红", (49, 1): "联系电话:", (49, 3): 13943112345,
                 (49, 5): "填报日期：2016年12月20日", (49, 6): None})
    footer = read(grid).footer
    assert footer.items() == [("填报单位（盖章）", "九台区民政局 （章）"), ("填报人", "王 晓红"),
                              ("联系电话", "13943112345"), ("填报日期", "2016年12月20日")]
    assert footer.cells == {"填报单位（盖章）": Cell("考评表", "C48"), "填报人": Cell("考评表", "G48"), "联系电话": Cell("考评表", "C49"),
                            "填报日期": Cell("考评表", "F49")}


def test_footer_values_up_to_the_last_column_and_in_letters(blank):
    """A value typed after its label keeps its spaces (they were dropped with the label's)."""
    grid = filled(blank)
    grid.update({(48, 5): "填报人：Xu Li", (48, 6): None, (48, 9): "（签字）", (49, 1): " 联系 电话 ： X-1234 转 5 "})
    footer = read(grid).footer
    assert (footer.person, footer.phone) == ("Xu Li （签字）", "X-1234 转 5 0431-82345678")
    assert footer.cells["填报人"] == Cell("考评表", "F48")


def test_the_footer_label_above_the_header_is_not_the_footer(blank):
    found = read(filled(blank, A3="填报单位（盖章）：别处"))
    assert found.accepted and found.footer.unit == "九台区民政局"
    assert warned(found) == [outside("A3")]


def test_a_footer_label_changed_is_read_from_its_cells_only(blank):
    grid = filled(blank)
    grid.update({(48, 5): "经办人：张三", (49, 6): "2016-12-20"})
    footer = read(grid).footer
    assert footer.person == "王晓红" and footer.date == "2016-12-20"


def test_a_footer_pushed_down_is_found(blank):
    grid = shift(filled(blank), 48, 2)
    found = read(grid)
    assert found.accepted and found.footer.unit == "九台区民政局"
    assert found.footer.cells["填报日期"] == Cell("考评表", "F51")


def test_a_form_without_its_footer(blank):
    grid = {k: v for k, v in filled(blank).items() if k[0] < 48}
    found = read(grid)
    assert found.accepted and found.footer == Footer() and found.warnings == []


def test_a_footer_formula_without_its_value(blank):
    found = read(filled(blank, F48=Formula("A1")))
    assert said(found) == ["九台区.xlsx 考评表 F48 单元格：表尾的“填报人”是公式（=A1），但文件中没有它的计算结果；"
                           "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字"]


# --- cell values ------------------------------------------------------------------------------------------------------


def test_formulas_in_rating_and_remark_cells(blank):
    found = read(filled(blank, H5=Formula('"优"&"秀"', "优秀"), G6=Formula("", None), I7=Formula("1+"),
                        H8=Formula("B8")))
    assert said(found) == [
        f"九台区.xlsx 考评表 G6 单元格：第 1.2 项“分别按不低于上年度城镇和农村居民人均可支配收入的20%和30%确定城乡低保标准，"
        "15个贫困县农村低保标准在此基础上适度提高”的自评等次是公式，但文件中没有它的计算结果；"
        "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字",
        f"九台区.xlsx 考评表 I7 单元格：{L13}的备注是公式（=1+），但文件中没有它的计算结果；"
        "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字",
        f"九台区.xlsx 考评表 H8 单元格：{L14}的考评等次是公式（=B8），但文件中没有它的计算结果；"
        "请在 Excel 或 WPS 中打开并保存后重试，或改为直接填写文字"]
    assert found.records[0].rating == "优秀" and found.results is None


@pytest.mark.parametrize("value, remark", [
    (Link("台账", "https://mzt.jl.gov.cn/台账.pdf"), "台账（https://mzt.jl.gov.cn/台账.pdf）"),
    (Link("", "https://mzt.jl.gov.cn/a.pdf"), "https://mzt.jl.gov.cn/a.pdf"),
    (Link("https://mzt.jl.gov.cn/a.pdf", "https://mzt.jl.gov.cn/a.pdf"), "https://mzt.jl.gov.cn/a.pdf"),
    (Formula('HYPERLINK("https://mzt.jl.gov.cn/b.pdf","附件二")', "附件二"), "附件二（https://mzt.jl.gov.cn/b.pdf）"),
    (Formula('=hyperlink( "https://mzt.jl.gov.cn/b.pdf")', "https://mzt.jl.gov.cn/b.pdf"), "https://mzt.jl.gov.cn/b.pdf"),
    (Formula('"见"&"附件"', "见附件"), "见附件"),
])
def test_a_links_target_is_kept_beside_its_text(blank, value, remark):
    found = read(filled(blank, I5=value))
    assert found.accepted, said(found)
    assert found.records[0].remarks == remark


# --- values outside the form --------------------------------------------------------------------------------------------


def outside(place: str) -> str:
    return f"九台区.xlsx 考评表 {place} 单元格：此单元格不在考评表的填写位置（A1:I49）中，其内容未读取"


def test_values_outside_the_form_are_named_and_ignored(blank):
    grid = filled(blank, G2="旁注", A3="说明", J5="x", A50="表外", A150="最后一行", A151="框外", I49="也在表内")
    grid[(3, 2)] = Formula("", None)
    found = read(grid)
    assert found.accepted
    assert warned(found) == [outside("G2"), outside("A3"), outside("B3"), outside("A50"), outside("A150"),
                             "九台区.xlsx: 另有 2 个单元格在考评表的填写位置之外，其内容也未读取"]


def test_the_rows_read_end_150_rows_down(blank):
    """4 header rows, the book's 44 tasks, 2 more, 100 spare: values past row 150 are named after
    the others (the reader keeps their addresses as it meets them)."""
    found = read(filled(blank, J5="x", A150="y", A151="z"))
    assert warned(found) == [outside("A150"), outside("J5"), outside("A151")]


def test_many_outside_are_counted(blank):
    changes = {f"J{r}": f"x{r}" for r in range(1, 31)}
    found = read(filled(blank, G2="旁注", **changes))
    assert warned(found) == [outside("G2"), outside("J1"), outside("J2"), outside("J3"), outside("J4"),
                             "九台区.xlsx: 另有 26 个单元格在考评表的填写位置之外，其内容也未读取"]


def test_five_outside_are_named_and_no_count(blank):
    found = read(filled(blank, G2="1", H2="2", I2="3", A3="4", J1="5"))
    assert warned(found) == [outside("G2"), outside("H2"), outside("I2"), outside("A3"), outside("J1")]


def test_the_forms_own_cells_are_not_outside(blank):
    found = read(filled(blank, A1="标题改了", A2="年", C2="层次", E2="地", B3=None))
    assert found.accepted and found.warnings == []


def test_empty_texts_are_no_values(blank):
    found = read(filled(blank, B1=Empty(), G2="旁注", A60=Empty(), I49=Empty()))
    assert warned(found) == [outside("G2")]
    grid = {k: v for k, v in filled(blank).items() if k[0] < 47}
    grid.update({(40, 10): "旁注", (60, 1): Empty()})
    assert warned(read(grid)) == [  # the form ends with its last task
        "九台区.xlsx 考评表 J40 单元格：此单元格不在考评表的填写位置（A1:I46）中，其内容未读取"]


def test_without_a_footer_a_formula_further_down_is_a_row_added(blank):
    grid = {k: v for k, v in filled(blank).items() if k[0] < 47}
    grid[(60, 1)] = Formula("", None)
    assert said(read(grid)) == [
        f"九台区.xlsx 考评表 A60 单元格：第 60 行不是考评表原有的任务行（位于{L201}之后），请删除此行；考评表的行不能增删"]


def test_outside_the_form_without_a_footer(blank):
    grid = {k: v for k, v in filled(blank).items() if k[0] < 47}
    grid[(40, 10)] = "旁注"
    found = read(grid)
    assert warned(found) == ["九台区.xlsx 考评表 J40 单元格：此单元格不在考评表的填写位置（A1:I46）中，其内容未读取"]


def test_outside_warnings_come_after_the_file_name_warning(blank):
    found = read(filled(blank, G2="旁注"), name="珲春市.xlsx")
    assert [w.message[:10] for w in found.warnings] == ["文件名写的是珲春市，", "此单元格不在考评表的"]


def test_values_outside_do_not_hide_problems(blank):
    found = read(filled(blank, C9="2.9", G2="旁注"))
    assert said(found) == [f"九台区.xlsx 考评表 C9 单元格：{L21}的编号被改成了“2.9”，应为 2.1；{FIX}"]
    assert warned(found) == [outside("G2")]
