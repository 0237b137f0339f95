"""Clerk-proof: the two-step year, nothing lost or made up in silence, every word in Chinese."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from openpyxl import load_workbook

from .conftest import ROOT, SOFFICE_CALC, Cli, require
from .pdfcheck import docx_text
from .test_classes import COUNTY, DISTRICT
from .test_results import region_rows, sample_rows, write_csv



@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blank")
    Cli(ROOT)("checklist", "--region", "九台区", "--region", "朝阳区", "--format", "xlsx", "--out", out)
    return out / "考评表" / "地区"


def fill(src: Path, target: Path, self_rating="优秀", final=None, overrides=None, remarks=None) -> Path:
    """A returned checklist: self-ratings as a region fills them; final ratings when given."""
    wb = load_workbook(src)
    ws = wb.active
    header = [c.value for c in ws[4]]
    id_col, self_col, final_col, remarks_col = (header.index(h) for h in ("编号", "自评等次", "考评等次", "备注/\n佐证材料"))
    for row in ws.iter_rows(min_row=5):
        task_id = row[id_col].value
        if task_id and re.fullmatch(r"\d+\.\d+", str(task_id)):
            row[self_col].value = self_rating
            row[final_col].value = (overrides or {}).get(task_id, final)
            if remarks and task_id in remarks:
                row[remarks_col].value = remarks[task_id]
                if not remarks[task_id].upper().startswith("=HYPERLINK"):
                    row[remarks_col].data_type = "s"  # typed as text, as '=1+1 in Excel
    wb.save(target)
    return target


def cell_of(path: Path, task_id: str, column: str) -> str:
    ws = load_workbook(path).active
    header = [c.value for c in ws[4]]
    for row in ws.iter_rows(min_row=5):
        if row[header.index("编号")].value == task_id:
            return row[header.index(column)].coordinate
    raise AssertionError(task_id)


def label(task_id: str) -> str:
    """How messages name a task: 编号 and name."""
    from pipeline.content import load_content
    name = load_content().tasks.task(task_id).name
    return f"第 {task_id} 项“{name.replace('“', '‘').replace('”', '’')}”"  # quotes within quotes: single


def read_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# --- the two steps --------------------------------------------------------------------------------


def test_self_ratings_alone_are_collected(blank, tmp_path):
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx")
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    rows = read_rows(tmp_path / "r.csv")
    assert len(rows) == len(COUNTY)
    assert all(r["自评等次"] == "优秀" and r["等次"] == "" for r in rows)
    assert f"九台区\t{len(COUNTY)}/{len(COUNTY)}\t0/{len(COUNTY)}" in result.output
    assert "尚未交回（69 个）" in result.output and "长春市" in result.output
    # reports need the final ratings, and say which, with the workbook cell
    report = Cli(ROOT)("report", "--results", book, "--out", tmp_path / "o", expect=1)
    assert "九台区：以下任务还没有考评等次" in report.stderr
    assert f"1.1（{book} 考评表 {cell_of(book, '1.1', '考评等次')} 单元格）" in report.stderr
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_one_blank_final_rating_is_named(blank, tmp_path):
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", final="达标", overrides={"6.2": None})
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    assert f"九台区\t{len(COUNTY)}/{len(COUNTY)}\t{len(COUNTY) - 1}/{len(COUNTY)}" in result.output
    report = Cli(ROOT)("report", "--results", tmp_path / "r.csv", "--out", tmp_path / "o", expect=1)
    assert "九台区：以下任务还没有考评等次，未生成其报告和函：6.2（第" in report.stderr
    check = Cli(ROOT)("validate", "--results", tmp_path / "r.csv")
    assert "6.2" in check.output and "未生成" not in check.output + check.stderr
    assert "1 个地区尚缺考评等次" in check.output


def test_rating_error_points_at_its_cell_and_whitespace_is_ignored(blank, tmp_path):
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", final="达标",
                overrides={"1.2": "很好", "1.3": "优　秀", "1.4": " 达标 "})
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv", expect=1)
    cell = cell_of(book, "1.2", "考评等次")
    assert f"{book} 考评表 {cell} 单元格：{label('1.2')}：考评等次“很好”无效" in result.stderr
    assert cell.startswith("H")
    fill(blank / "九台区.xlsx", book, final="达标", overrides={"1.3": "优　秀", "1.4": " 达标 "})
    Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    rows = {r["编号"]: r for r in read_rows(tmp_path / "r.csv")}
    assert rows["1.3"]["等次"] == "优秀" and rows["1.4"]["等次"] == "达标"


def test_two_copies_of_one_region_in_one_line(blank, tmp_path):
    a = fill(blank / "九台区.xlsx", tmp_path / "a.xlsx")
    b = fill(blank / "九台区.xlsx", tmp_path / "b.xlsx")
    result = Cli(ROOT)("collect", a, b, "--to", tmp_path / "r.csv", expect=1)
    lines = [l for l in result.stderr.splitlines() if "九台区有 2 份考评表" in l]
    assert len(lines) == 1 and str(a) in lines[0] and str(b) in lines[0]
    assert "重复" not in result.stderr


def test_folder_of_returns(blank, tmp_path):
    folder = tmp_path / "returned"
    folder.mkdir()
    fill(blank / "九台区.xlsx", folder / "b-九台区.xlsx")
    fill(blank / "朝阳区.xlsx", folder / "a-朝阳区.xlsx", final="达标")
    (folder / "说明.txt").write_text("随信附上", encoding="utf-8")
    result = Cli(ROOT)("collect", folder, "--to", tmp_path / "r.csv")
    assert f"{folder / '说明.txt'}：不是 .xlsx 工作簿，已跳过" in result.stderr
    rows = read_rows(tmp_path / "r.csv")
    assert {r["地区"] for r in rows} == {"九台区", "朝阳区"}
    assert "已汇总 2 个工作簿、2 个地区" in result.output


def test_existing_results_kept_unless_force(blank, tmp_path):
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx")
    target = tmp_path / "r.csv"
    target.write_text("地区,编号,等次\n朝阳区,2.1,优秀\n", encoding="utf-8")
    before = target.read_bytes()
    result = Cli(ROOT)("collect", book, "--to", target, expect=1)
    assert "已存在" in result.stderr and "--force" in result.stderr
    assert target.read_bytes() == before
    Cli(ROOT)("collect", book, "--to", target, "--force")
    backups = list(tmp_path.glob("r.备份-*.csv"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert len(read_rows(target)) == len(COUNTY)


# --- nothing lost ---------------------------------------------------------------------------------


def test_formula_without_saved_value_is_reported_and_links_keep_their_target(blank, tmp_path):
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx",
                remarks={"1.1": '=HYPERLINK("http://example.org/a.pdf","点击")'})
    wb = load_workbook(book)
    ws = wb.active
    cell = cell_of(book, "1.2", "备注/\n佐证材料")
    ws[cell] = "佐证材料"
    ws[cell].hyperlink = "http://example.org/b.pdf"
    wb.save(book)
    result = Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv", expect=1)
    formula_cell = cell_of(book, "1.1", "备注/\n佐证材料")
    assert f"{book} 考评表 {formula_cell} 单元格：{label('1.1')}的备注是公式" in result.stderr
    # the same workbook once Excel or WPS has calculated it: the value and its target kept
    wb = load_workbook(book)
    wb.active[formula_cell] = "点击"
    wb.active[formula_cell].hyperlink = "http://example.org/a.pdf"
    wb.save(book)
    Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    rows = {r["编号"]: r for r in read_rows(tmp_path / "r.csv")}
    assert rows["1.1"]["备注"] == "点击（http://example.org/a.pdf）"
    assert rows["1.2"]["备注"] == "佐证材料（http://example.org/b.pdf）"


def test_workbook_saved_again_by_libreoffice(blank, tmp_path):
    """A region fills the checklist in LibreOffice (its HYPERLINK formula calculated, the file
    saved again in Calc's own way): it collects to the same CSV."""
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", final="达标",
                overrides={"6.2": "未达标"}, remarks={"1.1": '=HYPERLINK("http://example.org/a.pdf","点击")'})
    resaved = tmp_path / "lo"
    subprocess.run([require(SOFFICE_CALC), "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(resaved), str(book)], check=True, capture_output=True, timeout=180)
    again = resaved / "九台区.xlsx"
    Cli(ROOT)("collect", again, "--to", tmp_path / "lo.csv")
    rows = {r["编号"]: r for r in read_rows(tmp_path / "lo.csv")}
    assert rows["1.1"]["备注"] == "点击（http://example.org/a.pdf）"
    assert rows["6.2"]["等次"] == "未达标" and rows["6.2"]["自评等次"] == "优秀"
    assert len(rows) == len(COUNTY)
    # the same as what the openpyxl-written original gives, formula aside
    plain = fill(blank / "九台区.xlsx", tmp_path / "plain.xlsx", final="达标", overrides={"6.2": "未达标"},
                 remarks={"1.1": "点击（http://example.org/a.pdf）"})
    Cli(ROOT)("collect", plain, "--to", tmp_path / "plain.csv")
    assert (tmp_path / "plain.csv").read_bytes() == (tmp_path / "lo.csv").read_bytes()


# --- CSV injection (OWASP) -------------------------------------------------------------------------


def test_formula_like_remarks_escaped_and_read_back(blank, tmp_path):
    texts = {"1.1": "@SUM(1+1)", "1.2": "=1+1", "1.3": "+86 431", "1.4": "-3 项", "2.1": "正常文字"}
    book = fill(blank / "九台区.xlsx", tmp_path / "九台区.xlsx", final="达标", remarks=texts)
    Cli(ROOT)("collect", book, "--to", tmp_path / "r.csv")
    raw = {r["编号"]: r["备注"] for r in read_rows(tmp_path / "r.csv")}
    for task_id, text in texts.items():
        assert raw[task_id] == (text if task_id == "2.1" else "'" + text)
    # read back, the quote is gone: the report shows what the region wrote
    Cli(ROOT)("report", "--results", tmp_path / "r.csv", "--out", tmp_path / "o", "--format", "docx")
    text = docx_text(tmp_path / "o" / "考评报告" / "九台区.docx")
    for value in texts.values():
        assert value.replace(" ", "") in text and "'" + value.replace(" ", "") not in text


# --- nothing issued from partial data; nothing done is said ---------------------------------------


def test_summary_refuses_partial_results_and_drafts_are_marked(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("地区,编号,等次,自评等次,备注\n", encoding="utf-8")
    result = Cli(ROOT)("summary", "--results", header_only, "--out", tmp_path / "o", expect=1)
    assert "以下 70 个地区还没有考评结果" in result.stderr and "--draft" in result.stderr
    one = write_csv(tmp_path / "one.csv", region_rows("九台区", COUNTY))
    result = Cli(ROOT)("summary", "--results", one, "--out", tmp_path / "o", expect=1)
    assert "以下 69 个地区还没有考评结果" in result.stderr
    rows = [r for r in sample_rows() if not (r["地区"] == "长春市" and r["编号"] == "1.1")]
    partial = write_csv(tmp_path / "partial.csv", rows)
    result = Cli(ROOT)("summary", "--results", partial, "--out", tmp_path / "o", expect=1)
    assert "长春市：以下任务还没有考评等次：1.1" in result.stderr
    assert not (tmp_path / "o").exists()
    Cli(ROOT)("summary", "--results", partial, "--out", tmp_path / "o", "--draft", "--format", "pdf")
    [pdf] = (tmp_path / "o" / "通报").glob("*.pdf")
    assert "征求意见稿" in pdf.name
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:  # the draft mark on every page, the official number never alone
            assert "征求意见稿" in "".join(c["text"] for c in page.chars)
        text = "".join(c["text"] for p in doc.pages if p.width < p.height for c in p.chars)
    assert "尚未考评完毕" in text and "长春市" in text


def test_commands_that_would_do_nothing(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("地区,编号,等次\n", encoding="utf-8")
    result = Cli(ROOT)("report", "--results", header_only, "--out", tmp_path / "o", expect=1)
    assert "没有任何等次" in result.stderr
    result = Cli(ROOT)("notice", "--format", "xlsx", "--out", tmp_path / "o", expect=2)
    assert "“xlsx”无效" in result.stderr
    Cli(ROOT)("report", "--results", header_only, "--format", "xlsx", "--out", tmp_path / "o", expect=2)
    result = Cli(ROOT)("notice", "--out", "", expect=2)
    assert "输出目录不能为空" in result.stderr
    assert not (tmp_path / "o").exists() and not (ROOT / "通知").exists()


# --- input a clerk has ----------------------------------------------------------------------------


def test_utf16_tab_separated_csv(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    rows[0]["等次"] = "优　秀"
    text = "地区\t编号\t等次\t自评等次\t备注\n" + "".join(
        f"{r['地区']}\t{r['编号']}\t{r['等次']}\t\t\n" for r in rows)
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))  # with BOM, as Excel's “Unicode 文本” writes
    result = Cli(ROOT)("validate", "--results", path)
    assert "UTF-16" in result.output and "1 个地区已全部考评" in result.output


# --- messages ---------------------------------------------------------------------------------------

ENGLISH = re.compile(r"\b(Usage|Error|Missing|Try|Show this|default|required|is not|does not|"
                     r"Invalid|Options|OPTIONS|COMMAND|ARGS|Commands|Got unexpected|No such|exist|directory|range)\b")


@pytest.mark.parametrize("args", [
    ["tasks"], ["tasks", "--level", "区", "--region", "九台区"], ["tasks", "--region", "九台"],
    ["tasks", "--level", "乡"], ["build", "--jobs", "0"], ["collect"], ["collect", "x.xlsx"],
    ["report"], ["notice", "--format", "xlsx"], ["notice", "--bogus"], ["nosuchcommand"],
    ["checklist", "--out", "pyproject.toml"], ["validate", "--results", "/no/such/结果.csv"],
    ["--help"], ["collect", "--help"], ["report", "--help"], ["build", "--help"], ["summary", "--help"],
    ["users", "--help"], ["users", "add", "--help"], ["serve", "--help"],
])
def test_every_message_in_chinese(args):
    result = Cli(ROOT)(*args, expect=None)
    text = result.output + result.stderr
    assert not ENGLISH.search(text), text
    assert result.exit_code in (0, 1, 2)


def test_specific_messages():
    cli = Cli(ROOT)
    both = cli("tasks", "--level", "区", "--region", "九台区", expect=2)
    assert "不能同时使用" in both.stderr
    near = cli("tasks", "--region", "九台", expect=2)
    assert "您是不是要找：九台区" in near.stderr
    typed = cli("validate", "--results", "/no/such/结果.csv", expect=1)
    assert "/no/such/结果.csv: 文件不存在" in typed.stderr  # the path as typed
    help_text = cli("build", "--help").output
    assert "默认：output" in help_text and "显示本帮助并退出" in help_text


def test_catalogue_compiled_from_its_source():
    from pipeline.i18n import CATALOGUE, compiled_catalogue
    assert CATALOGUE.with_suffix(".mo").read_bytes() == compiled_catalogue()


# --- wording ------------------------------------------------------------------------------------------


def test_no_title_nested_in_the_same_marks(tmp_path):
    Cli(ROOT)("build", "--format", "docx", "--jobs", "1", "--out", tmp_path)
    nested = re.compile(r"《[^》]*《")
    texts = 0
    for path in tmp_path.rglob("*.docx"):
        assert not nested.search(docx_text(path)), path
        texts += 1
    assert texts > 200
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert any(d["kind"] == "summary" for d in manifest["documents"])
