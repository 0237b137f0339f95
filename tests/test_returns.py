"""Returns as a region's office fills them, read by the form's own structure, in bounded time
and memory: through ``pipeline collect``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import resource
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.content import load_content
from pipeline.errors import Cell

from .conftest import SOFFICE_CALC, ROOT, Cli, require

CONTENT = load_content()
REGIONS = ("九台区", "龙井市", "珲春市")
MiB = 1024 * 1024



def label(task_id: str) -> str:
    name = CONTENT.tasks.task(task_id).name
    return f"第 {task_id} 项“{name.replace('“', '‘').replace('”', '’')}”"  # quotes within quotes: single


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blank")
    args = ["checklist", "--format", "xlsx", "--out", out]
    for name in REGIONS:
        args += ["--region", name]
    Cli(ROOT)(*args)
    return out / "考评表" / "地区"


def columns(ws) -> dict[str, int]:
    header = [c.value for c in ws[4]]
    return {key: header.index(h) + 1 for key, h in (("id", "编号"), ("name", "考评内容"), ("self", "自评等次"),
                                                    ("final", "考评等次"), ("remarks", "备注/\n佐证材料"))}


def task_rows(ws) -> dict[str, int]:
    col = columns(ws)
    return {ws.cell(r, col["id"]).value: r for r in range(5, ws.max_row + 1)
            if ws.cell(r, col["id"]).value and CONTENT.tasks.task(str(ws.cell(r, col["id"]).value))}


def footer_row(ws) -> int:
    return next(r for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value == "填报单位（盖章）：")


RATINGS = ("优秀", "达标", "未达标")


def office_fill(src: Path, target: Path, unit="九台区民政局", person="王晓红", phone="0431-82345678",
                date=dt.date(2016, 12, 20), finals=True, edit=None) -> Path:
    """Every input cell the form offers, as an office fills it: self-ratings, the department's
    final ratings, remarks with a link, and the footer (the date typed as a date)."""
    wb = load_workbook(src)
    ws = wb.active
    col = columns(ws)
    for i, (task_id, row) in enumerate(task_rows(ws).items()):
        ws.cell(row, col["self"]).value = RATINGS[i % 2]
        if finals:
            ws.cell(row, col["final"]).value = RATINGS[(i + 1) % 3] if i % 7 else "优秀"
        if i % 5 == 0:
            ws.cell(row, col["remarks"]).value = f"见附件{i + 1}：工作台账（共 {i + 3} 页）"
    f = footer_row(ws)
    ws.cell(f, 3).value = unit
    ws.cell(f, 6).value = person
    ws.cell(f + 1, 3).value = phone
    ws.cell(f + 1, 6).value = date
    ws.cell(f + 1, 6).number_format = "yyyy\"年\"m\"月\"d\"日\""
    if edit:
        edit(ws)
    wb.save(target)
    return target


def read_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def expected_rows(book: Path) -> dict[str, tuple[str, str, str]]:
    ws = load_workbook(book).active
    col = columns(ws)
    return {task_id: (ws.cell(row, col["final"]).value or "", ws.cell(row, col["self"]).value or "",
                      ws.cell(row, col["remarks"]).value or "") for task_id, row in task_rows(ws).items()}


# --- a properly filled return --------------------------------------------------------------------


def test_return_filled_with_its_footer_is_collected(blank, tmp_path):
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx")
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    assert result.stderr == ""  # no problem, no warning
    line = next(l for l in result.output.splitlines() if l.startswith("九台区\t"))
    assert line.endswith("\t九台区民政局、王晓红、0431-82345678、2016年12月20日")
    got = {r["编号"]: (r["等次"], r["自评等次"], r["备注"]) for r in read_rows(tmp_path / "r.csv")}
    assert got == expected_rows(book)
    from pipeline.results import read_return
    found = read_return(book, CONTENT)
    assert found.accepted and found.region == "九台区" and not found.warnings
    assert found.footer.items() == [("填报单位（盖章）", "九台区民政局"), ("填报人", "王晓红"),
                                    ("联系电话", "0431-82345678"), ("填报日期", "2016年12月20日")]
    f = footer_row(load_workbook(book).active)
    assert found.footer.cells == {"填报单位（盖章）": Cell("考评表", f"C{f}"), "填报人": Cell("考评表", f"F{f}"),
                                  "联系电话": Cell("考评表", f"C{f + 1}"), "填报日期": Cell("考评表", f"F{f + 1}")}


def test_footer_typed_after_its_label_and_phone_as_a_number(blank, tmp_path):
    def edit(ws):
        f = footer_row(ws)
        ws.cell(f, 1).value = "填报单位（盖章）：九台区民政局（章）"
        ws.cell(f, 3).value = None
        ws.cell(f + 1, 3).value = 13943112345
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", edit=edit)
    from pipeline.results import read_return
    found = read_return(book, CONTENT)
    assert found.accepted, found.problems
    assert found.footer.unit == "九台区民政局（章）" and found.footer.phone == "13943112345"


def test_return_saved_again_by_libreoffice(blank, tmp_path):
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx")
    out = tmp_path / "lo"
    subprocess.run([require(SOFFICE_CALC), "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                    str(book)], check=True, capture_output=True, timeout=180)
    again = out / "九台区.xlsx"
    assert again.read_bytes() != book.read_bytes()
    result = Cli(ROOT)("collect", again, "--to", tmp_path / "lo.csv")
    assert result.stderr == ""
    assert "\t九台区民政局、王晓红、0431-82345678、2016年12月20日" in result.output
    Cli(ROOT)("collect", book, "--to", tmp_path / "plain.csv")
    assert (tmp_path / "lo.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


# --- bounded reading (#21) -----------------------------------------------------------------------


def far_values(ws):
    ws["XFD1048576"] = "远处的值"
    ws["J1048576"] = "另一个"


def test_values_far_outside_the_form_cost_little_and_are_named(blank, tmp_path):
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", edit=far_values)
    assert book.stat().st_size < 64 * 1024
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    used = resource.getrusage(resource.RUSAGE_SELF)
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    assert cpu <= 2.0, cpu
    assert (after.ru_maxrss - rss_before) * 1024 <= 200 * MiB
    tracemalloc.start()
    try:
        Cli(ROOT)("collect", book, "--to", tmp_path / "r2.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 200 * MiB, peak / MiB
    for cell in ("XFD1048576", "J1048576"):
        assert f"提醒：{book} 考评表 {cell} 单元格：此单元格不在考评表的填写位置" in result.stderr
    assert "其内容未读取" in result.stderr
    # accepted, ratings all there, nothing else changed
    got = {r["编号"]: (r["等次"], r["自评等次"], r["备注"]) for r in read_rows(tmp_path / "r.csv")}
    assert got == expected_rows(book)


def test_many_values_outside_are_counted(blank, tmp_path):
    def edit(ws):
        for r in range(1, 31):
            ws.cell(r, 12).value = f"x{r}"
        ws["G2"] = "旁注"
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", edit=edit)
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    assert f"{book} 考评表 G2 单元格：此单元格不在考评表的填写位置" in result.stderr
    assert "另有 26 个单元格在考评表的填写位置之外" in result.stderr


def test_declared_dimensions_alone_cost_nothing(blank, tmp_path):
    """A sheet whose dimension and rows claim the whole grid, with only empty styled cells."""
    import zipfile
    book = office_fill(blank / "九台区.xlsx", tmp_path / "src.xlsx")
    target = tmp_path / "九台区.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                start = text.index("<dimension ref=\"") + len("<dimension ref=\"")
                text = text[:start] + "A1:XFD1048576" + text[text.index("\"", start):]
                empty = "".join(f'<row r="{r}" spans="1:16384" ht="15"/>' for r in range(200, 200000, 7))
                text = text.replace("</sheetData>", empty + "</sheetData>")
                data = text.encode("utf-8")
            dst.writestr(info, data)
    used = resource.getrusage(resource.RUSAGE_SELF)
    result = Cli(ROOT)("collect", target, "--to", tmp_path / "r.csv")
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime) <= 2.0
    assert result.stderr == ""


# --- bounded text (#21) --------------------------------------------------------------------------


def test_form_states_the_remark_limit(blank):
    from pipeline.writers.xlsx import REMARKS_LIMIT
    ws = load_workbook(blank / "九台区.xlsx").active
    col = columns(ws)
    assert f"备注最多 {REMARKS_LIMIT} 字" in ws.cell(4, col["remarks"]).comment.text
    first = min(task_rows(ws).values())
    [rule] = [v for v in ws.data_validations.dataValidation if v.type == "textLength"]
    assert rule.operator == "lessThanOrEqual" and rule.formula1 == str(REMARKS_LIMIT)
    assert f"{ws.cell(first, col['remarks']).column_letter}{first}" in str(rule.sqref)
    assert rule.showErrorMessage and f"{REMARKS_LIMIT} 字" in rule.error


def test_remark_over_the_limit_is_an_error_at_its_cell(blank, tmp_path):
    def edit(ws):
        col = columns(ws)
        ws.cell(task_rows(ws)["3.1"], col["remarks"]).value = "很" * 32767
        ws.cell(task_rows(ws)["3.2"], col["remarks"]).value = "可" * 500  # exactly the limit
    book = office_fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", edit=edit)
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv", expect=1)
    ws = load_workbook(book).active
    cell = ws.cell(task_rows(ws)["3.1"], columns(ws)["remarks"]).coordinate
    assert f"{book} 考评表 {cell} 单元格：{label('3.1')}：备注有 32767 字，超过上限 500 字" in result.stderr
    assert "3.2" not in result.stderr
    assert "九台区\t—\t—\t有误，未汇总" in result.output


def test_long_remark_in_a_results_csv_is_refused_at_its_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("地区,编号,等次,自评等次,备注\n朝阳区,2.1,优秀,,正常\n朝阳区,2.2,优秀,," + "长" * 501 + "\n",
                    encoding="utf-8")
    result = Cli(ROOT)("validate", "--results", path, expect=1)
    assert f"r.csv:3: {label('2.2')}：备注有 501 字，超过上限 500 字" in result.stderr


# --- the form's own structure (#16) --------------------------------------------------------------


def unprotected(edit):
    def run(ws):
        ws.protection.sheet = False
        edit(ws)
    return run


def collect_refused(blank, tmp_path, edit, name="九台区") -> str:
    book = office_fill(blank / f"{name}.xlsx", tmp_path / f"{name}.xlsx", edit=unprotected(edit))
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv", expect=1)
    assert f"{name}\t—\t—\t有误，未汇总（{book}）" in result.output
    assert not (tmp_path / "r.csv").exists()
    return result.stderr.replace(str(book), "BOOK")


def row_of(ws, task_id: str) -> int:
    return task_rows(ws)[task_id]


def test_deleted_task_row(blank, tmp_path):
    ws = load_workbook(blank / "九台区.xlsx").active
    where = row_of(ws, "7.1")
    err = collect_refused(blank, tmp_path, lambda ws: ws.delete_rows(row_of(ws, "7.1")))
    assert f"BOOK 考评表 C{where} 单元格：{label('7.1')}这一行被删除了（应在第 {where} 行）" in err
    assert err.count("BOOK ") == 1
    # the reader the web page uses says it once too
    from pipeline.content import load_content
    from pipeline.results import read_return
    problems = read_return(tmp_path / "九台区.xlsx", load_content(need_rating_files=True)).problems
    assert [p.message for p in problems] == [f"{label('7.1')}这一行被删除了（应在第 {where} 行），请用本系统生成的考评表重新填写"]


def test_added_row(blank, tmp_path):
    ws = load_workbook(blank / "九台区.xlsx").active
    where = row_of(ws, "7.1") + 1

    def edit(ws):
        ws.insert_rows(where)
        ws.cell(where, 4).value = "补充：村务公开"
        ws.cell(where, 7).value = "优秀"
    err = collect_refused(blank, tmp_path, edit)
    assert (f"BOOK 考评表 D{where} 单元格：第 {where} 行不是考评表原有的任务行（位于{label('7.1')}之后），"
            "请删除此行") in err
    assert err.count("BOOK ") == 1  # the rows below it, moved down one, are still found


def test_task_name_or_criteria_changed(blank, tmp_path):
    ws = load_workbook(blank / "九台区.xlsx").active
    r1, r2 = row_of(ws, "3.1"), row_of(ws, "5.1")

    def edit(ws):
        ws.cell(r1, 4).value = "自拟的考评内容"
        ws.cell(r2, 6).value = ws.cell(r2, 6).value + "（已完成）"
    err = collect_refused(blank, tmp_path, edit)
    assert f"BOOK 考评表 D{r1} 单元格：{label('3.1')}的“考评内容”已被改动" in err
    assert f"BOOK 考评表 F{r2} 单元格：{label('5.1')}的“达标”已被改动" in err


def test_row_moved_elsewhere_in_the_table(blank, tmp_path):
    ws = load_workbook(blank / "九台区.xlsx").active
    source, after = row_of(ws, "6.1"), row_of(ws, "9.2")

    def edit(ws):
        values = [ws.cell(source, c).value for c in range(1, 10)]
        ws.insert_rows(after + 1)
        for c, v in enumerate(values, 1):
            ws.cell(after + 1, c).value = v
        ws.delete_rows(source)
    err = collect_refused(blank, tmp_path, edit)
    assert f"BOOK 考评表 C{after} 单元格：{label('6.1')}这一行被移动过（现在第 {after} 行，应在{label('5.1')}之后）" in err


def test_row_given_to_another_task(blank, tmp_path):
    """The 编号 of 2.1's row typed over as 2.2: the ratings of that row would go to the wrong task."""
    ws = load_workbook(blank / "九台区.xlsx").active
    row = row_of(ws, "2.1")
    err = collect_refused(blank, tmp_path, lambda ws: setattr(ws.cell(row, 3), "value", "2.2"))
    assert (f"BOOK 考评表 D{row} 单元格：编号为 2.2 的这一行，考评内容和标准却是{label('2.1')}的（应为{label('2.2')}）") in err


def test_every_problem_names_task_and_cell(blank, tmp_path):
    ws = load_workbook(blank / "九台区.xlsx").active
    col = columns(ws)
    rows = task_rows(ws)

    def edit(ws):
        ws.cell(rows["1.2"], col["final"]).value = "很好"
        ws.cell(rows["1.3"], col["self"]).value = "良"
        ws.cell(rows["1.4"], col["remarks"]).value = "=1+"
    err = collect_refused(blank, tmp_path, edit)
    for task_id, column in (("1.2", "final"), ("1.3", "self"), ("1.4", "remarks")):
        cell = ws.cell(rows[task_id], col[column]).coordinate
        assert f"BOOK 考评表 {cell} 单元格：{label(task_id)}" in err, (task_id, err)


# --- file names --------------------------------------------------------------------------------


def test_form_of_one_region_under_another_regions_name(blank, tmp_path):
    book = office_fill(blank / "龙井市.xlsx", tmp_path / "珲春市.xlsx", unit="龙井市民政局")
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    assert (f"提醒：{book} 考评表 F2 单元格：文件名写的是珲春市，表内填写的地区是龙井市；已作为龙井市的考评表接收"
            in result.stderr)
    assert {r["地区"] for r in read_rows(tmp_path / "r.csv")} == {"龙井市"}
    assert "珲春市" in result.output.split("尚未交回")[1]
    from pipeline.results import collect
    outcome = collect([book], CONTENT)
    assert outcome.accepted == {str(book): "龙井市"}
    assert outcome.warnings[str(book)][0].message.startswith("文件名写的是珲春市")
    # the region's own name, or a name that is no region, says nothing
    plain = office_fill(blank / "龙井市.xlsx", tmp_path / "龙井市-考评表（定稿）.xlsx")
    other = office_fill(blank / "龙井市.xlsx", tmp_path / "return-3.xlsx")
    assert "提醒" not in Cli(ROOT)("collect", plain, "--to", tmp_path / "a.csv").stderr
    assert "提醒" not in Cli(ROOT)("collect", other, "--to", tmp_path / "b.csv").stderr


def test_two_returns_for_one_region_refused_together(blank, tmp_path):
    a = office_fill(blank / "龙井市.xlsx", tmp_path / "龙井市.xlsx")
    b = office_fill(blank / "龙井市.xlsx", tmp_path / "珲春市.xlsx")
    result = Cli(ROOT)("collect", a, b, "--to", tmp_path / "r.csv", expect=1)
    assert f"{a}、{b}: 龙井市有 2 份考评表" in result.stderr
    assert not (tmp_path / "r.csv").exists()


# --- a document over its time limit (#21) ---------------------------------------------------------


@pytest.mark.parametrize("workers", ["2", "1"])
def test_document_over_its_time_limit_is_stopped_and_named(tmp_path, monkeypatch, workers):
    """One document that would never finish (as 42 remarks of 32,767 characters did) is stopped
    in its worker at the limit and named; every other document is done."""
    import time

    from pipeline import build
    from pipeline.render import Renderer

    done = tmp_path / "done"
    done.mkdir()

    def run(self, job, out, formats=()):
        if job.kind == "report" and job.name == "九台区":
            time.sleep(600)
        (done / f"{job.kind}-{job.name or '-'}").write_text("", encoding="utf-8")
        return []

    monkeypatch.setattr(Renderer, "run", run)
    monkeypatch.setattr(build, "DOCUMENT_TIME_LIMIT", 2)
    started = time.monotonic()
    result = Cli(ROOT)("build", "--format", "docx", "--jobs", workers, "--force", "--out", tmp_path / "o", expect=1)
    assert time.monotonic() - started < 300
    assert "未能生成 考评报告：九台区：排版用时超过 2 秒，已停止（其余文档照常生成）" in result.stderr
    assert result.stderr.count("未能生成") == 1
    finished, total = map(int, result.output.split("完成：")[1].split(" ")[0].split("/"))
    assert finished == total - 1 and len(list(done.iterdir())) >= total - 1
    assert not (done / "report-九台区").exists()
    assert (done / "letter-九台区").exists() and (done / "report-朝阳区").exists()


# --- damaged files never crash the reader --------------------------------------------------------


@pytest.fixture(scope="module")
def filled_parts(blank, tmp_path_factory) -> dict[str, bytes]:
    import zipfile
    book = office_fill(blank / "九台区.xlsx", tmp_path_factory.mktemp("fuzz") / "九台区.xlsx")
    with zipfile.ZipFile(book) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part=st.sampled_from(["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml",
                             "xl/_rels/workbook.xml.rels"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=12)), min_size=1, max_size=4))
def test_damaged_parts_are_problems_not_crashes(filled_parts, part, edits):
    from pipeline.results import read_return
    parts = dict(filled_parts)
    data = parts[part]
    for where, new in edits:
        i = int(where * len(data))
        data = data[:i] + new + data[i + len(new):]
    parts[part] = data
    found = read_return(None, CONTENT, data=rezip(parts), name="x.xlsx")
    assert found.accepted or found.problems


@pytest.mark.parametrize("cells", ['<c r="A0"><v>1</v></c>', '<c r="ZZZZ1"><v>1</v></c>',
                                   '<c r="A99999999"><v>1</v></c>' , '<c><v>1</v></c>' * 20000,
                                   '<c r="B3" t="s"><v>999999</v></c>', '<c r="B3" t="s"><v>x</v></c>',
                                   '<c r="B3" s="999"><v>1e400</v></c>', '<c r="B3" t="d"><v>then</v></c>',
                                   '<c r="XFD3"><v>1</v></c><c><v>2</v></c>'])
def test_odd_cells_are_read_or_named(filled_parts, cells):
    from pipeline.results import read_return
    parts = dict(filled_parts)
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("<sheetData>", f'<sheetData><row r="3">{cells}</row>').encode()
    found = read_return(None, CONTENT, data=rezip(parts), name="x.xlsx")
    assert found.accepted or found.problems


def test_dtd_refused(filled_parts):
    from pipeline.results import read_return
    parts = dict(filled_parts)
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + sheet
    found = read_return(None, CONTENT, data=rezip(parts), name="x.xlsx")
    assert [str(p) for p in found.problems] == ["x.xlsx: XLSX 文件无法读取（XML 中含有文档类型定义（DTD），拒绝读取），"
                                                "请用本系统生成的考评表填写"]


def test_footer_date_in_a_chinese_excels_own_format(filled_parts):
    """Excel on Chinese Windows writes 2016年12月20日 as style numFmtId 31, with no format code."""
    import re as regex
    from pipeline.results import read_return
    parts = dict(filled_parts)
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    date_cell = regex.search(r'<c r="F\d+" s="(\d+)"[^>]*><v>42724</v></c>', sheet)
    assert date_cell, "the footer date is stored as a number"
    styles = parts["xl/styles.xml"].decode("utf-8")
    xfs = regex.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, regex.S).group(1)
    entries = regex.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs, regex.S)
    entry = entries[int(date_cell.group(1))]
    patched = regex.sub(r'numFmtId="\d+"', 'numFmtId="31"', entry, count=1)
    parts["xl/styles.xml"] = styles.replace(entry, patched).encode("utf-8")
    found = read_return(None, CONTENT, data=rezip(parts), name="x.xlsx")
    assert found.footer.date == "2016年12月20日"
