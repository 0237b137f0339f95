"""Results that reach the documents unchanged, and the rating rule under rules a department may
write (issue 22): a remark that starts with ' survives the CSV round trip; with a rules file that
allows one 未达标, the 优秀 share still counts every task. Expected values written out by hand."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from .conftest import ROOT, Cli
from .pdfcheck import docx_text
from .test_classes import COUNTY, DISTRICT
from .test_web import region_form

REMARKS = {
    "2.1": "'引用第3号文件",      # starts with ' but is no formula: kept as written
    "2.2": "=SUM(1,2)",           # formula-like: escaped in the CSV, whole again when read
    "2.3": "-3分（扣分）",
    "2.4": "''两个引号",
    "4.2": "'=不是公式",          # the clerk's own leading ' before a formula-like text
    "3.1": "@提醒",
    "3.2": "+1",
    "4.3": "普通备注",
}
# what `collect` writes for each: a protecting ' before the formula-like ones and before those
# that start with ' themselves (so that reading the CSV back keeps their own ')
IN_CSV = {
    "2.1": "''引用第3号文件", "2.2": "'=SUM(1,2)", "2.3": "'-3分（扣分）", "2.4": "'''两个引号",
    "4.2": "''=不是公式", "3.1": "'@提醒", "3.2": "'+1", "4.3": "普通备注",
}


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blank")
    Cli(ROOT)("checklist", "--region", "朝阳区", "--format", "xlsx", "--out", out)
    return out / "考评表" / "地区" / "朝阳区.xlsx"


def fill(blank: Path, target: Path, remarks: dict[str, str]) -> Path:
    wb = load_workbook(blank)
    ws = wb.active
    header = [c.value for c in ws[4]]
    columns = {h: header.index(h) for h in ("编号", "自评等次", "考评等次")}
    remark_column = next(i for i, h in enumerate(header) if h and h.startswith("备注"))
    for row in ws.iter_rows(min_row=5):
        task_id = row[columns["编号"]].value
        if task_id and re.fullmatch(r"\d+\.\d+", str(task_id)):
            row[columns["自评等次"]].value = "达标"
            row[columns["考评等次"]].value = "优秀"
            if task_id in remarks:
                row[remark_column].value = remarks[task_id]
                row[remark_column].data_type = "s"  # typed text, as a clerk would, not a formula
    wb.save(target)
    return target


def report_remarks(path: Path) -> dict[str, str]:
    table = Document(path).tables[0]
    header = [c.text for c in table.rows[1].cells]
    id_col = header.index("编号")
    remark_col = next(i for i, h in enumerate(header) if h.startswith("备注"))
    found = {}
    for row in table.rows[2:]:
        cells = [c.text for c in row.cells]
        if re.fullmatch(r"\d+\.\d+", cells[id_col]) and cells[remark_col]:
            found[cells[id_col]] = cells[remark_col]
    return found


def test_remarks_survive_collect_and_report_unchanged(blank, tmp_path):
    assert set(REMARKS) <= set(DISTRICT)
    workbook = fill(blank, tmp_path / "朝阳区.xlsx", REMARKS)
    Cli(ROOT)("collect", workbook, "--to", tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))))
    assert {r["编号"]: r["备注"] for r in rows if r["备注"]} == IN_CSV
    Cli(ROOT)("report", "--results", tmp_path / "r.csv", "--out", tmp_path / "o", "--format", "docx")
    assert report_remarks(tmp_path / "o" / "考评报告" / "朝阳区.docx") == REMARKS
    # the workbook itself as results: the same text
    Cli(ROOT)("report", "--results", workbook, "--out", tmp_path / "o2", "--format", "docx")
    assert report_remarks(tmp_path / "o2" / "考评报告" / "朝阳区.docx") == REMARKS


def test_hand_written_csv_with_a_leading_quote(tmp_path):
    rows = [{"地区": "朝阳区", "编号": t, "等次": "达标", "自评等次": "", "备注": ""} for t in DISTRICT]
    rows[0]["备注"] = "'引用"
    rows[1]["备注"] = "'-5"
    rows[2]["备注"] = "'"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "r.csv").write_text(out.getvalue(), encoding="utf-8")
    Cli(ROOT)("report", "--results", tmp_path / "r.csv", "--out", tmp_path / "o", "--format", "docx")
    got = report_remarks(tmp_path / "o" / "考评报告" / "朝阳区.docx")
    assert got == {DISTRICT[0]: "'引用", DISTRICT[1]: "-5", DISTRICT[2]: "'"}


# --- the overall rating under a rules file that allows one 未达标 ---------------------------------

LENIENT = """levels:
  - rating: 优秀
    max_failed: 1
    min_excellent_percent: 70
  - rating: 达标
    max_failed: 1
otherwise: 未达标
veto_tasks: []
"""


def ratings_csv(path: Path, plan: dict[str, tuple[list[str], int, int, int]]) -> Path:
    """Each region: its tasks, and how many are 优秀, 达标, 未达标 (in task order)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["地区", "编号", "等次"])
    for region, (tasks, excellent, standard, failed) in plan.items():
        assert excellent + standard + failed == len(tasks)
        values = ["优秀"] * excellent + ["达标"] * standard + ["未达标"] * failed
        writer.writerows([region, t, v] for t, v in zip(tasks, values))
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_rules_allowing_one_failed_task_count_it_in_the_share(workdir):
    (workdir / "content" / "rating_rules.yaml").write_text(LENIENT, encoding="utf-8")
    assert (len(DISTRICT), len(COUNTY)) == (32, 42)
    results = ratings_csv(workdir / "r.csv", {
        "朝阳区": (DISTRICT, 22, 9, 1),   # 22 / 32 = 68.75 % < 70 %  → 达标 (22 / 31 would be 71 %)
        "九台区": (COUNTY, 30, 11, 1),    # 30 / 42 = 71.4 % ≥ 70 %, one 未达标 allowed → 优秀
        "南关区": (DISTRICT, 30, 0, 2),   # two 未达标 → 未达标, whatever the share
        "宽城区": (DISTRICT, 23, 9, 0),   # 23 / 32 = 71.9 % → 优秀
    })
    Cli(workdir)("report", "--results", results, "--out", workdir / "o", "--format", "docx")
    docs = json.loads((workdir / "o" / "manifest.json").read_text(encoding="utf-8"))["documents"]
    got = {d["region"]: d["rating"] for d in docs if d["kind"] == "letter"}
    assert got == {"朝阳区": "达标", "九台区": "优秀", "南关区": "未达标", "宽城区": "优秀"}
    letter = docx_text(workdir / "o" / "等次函" / "朝阳区.docx")
    assert "共32项，其中考评等次为优秀的22项、达标的9项、未达标的1项，总体考评等次为“达标”" in letter
    letter = docx_text(workdir / "o" / "等次函" / "九台区.docx")
    assert "共42项，其中考评等次为优秀的30项、达标的11项、未达标的1项，总体考评等次为“优秀”" in letter


def test_web_page_spells_out_the_lenient_rule(workdir, tmp_path):
    from pipeline.content import load_content
    from pipeline.web import create_app

    (workdir / "content" / "rating_rules.yaml").write_text(LENIENT, encoding="utf-8")
    content = load_content(workdir / "content" / "tasks_2016.yaml", workdir / "content" / "regions_jilin_2016.yaml",
                           workdir / "content" / "rating_rules.yaml", need_rating_files=True)
    client = create_app(content, tmp_path / "work").test_client()
    values = ["优秀"] * 22 + ["达标"] * 9 + ["未达标"]
    form = {**region_form(client, "朝阳区"), **{f"final:{t}": v for t, v in zip(DISTRICT, values)}}
    assert client.post("/region/朝阳区/ratings", data=form).status_code in (302, 303)
    page = client.get("/region/朝阳区").get_data(as_text=True)
    assert "未达标不超过 1 项（优秀 22 项 / 32 项 = 68.8%）→ 达标" in page
