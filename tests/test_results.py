"""From collected ratings to reports, letters and the 通报; every bad input stopped."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from openpyxl import load_workbook

from pipeline.content import load_content
from pipeline.model import Rating, RatingLevel, RatingRules
from pipeline.rating import overall

from .conftest import ROOT, Cli
from .pdfcheck import mm, pdf_text
from .test_classes import COUNTY, DISTRICT, PREFECTURE

SAMPLE = ROOT / "content" / "results_2016_sample.csv"
CONTENT = load_content(need_rating_files=True)


def sample_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8-sig"))))


def write_csv(path: Path, rows: list[dict], encoding="utf-8") -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["地区", "编号", "等次", "自评等次", "备注"])
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def region_rows(name: str, ids: list[str], rating="优秀", **changes) -> list[dict]:
    rows = [{"地区": name, "编号": i, "等次": rating, "自评等次": "", "备注": ""} for i in ids]
    for task_id, value in changes.items():
        next(r for r in rows if r["编号"] == task_id.replace("_", "."))["等次"] = value
    return rows


# --- the rules, at their boundaries ---------------------------------------------------------

RULES = CONTENT.rules


def ratings(excellent: int, standard: int, failed: int) -> dict:
    values = [Rating.EXCELLENT] * excellent + [Rating.STANDARD] * standard + [Rating.FAILED] * failed
    return {f"1.{i}": v for i, v in enumerate(values, 1)}


def test_exactly_70_percent_is_excellent():
    assert overall(RULES, ratings(7, 3, 0)) is Rating.EXCELLENT
    assert overall(RULES, ratings(70, 30, 0)) is Rating.EXCELLENT


def test_just_under_70_percent_is_standard():
    assert overall(RULES, ratings(69, 31, 0)) is Rating.STANDARD
    assert overall(RULES, ratings(23, 10, 0)) is Rating.STANDARD  # 69.7 %


def test_any_failed_task_fails():
    assert overall(RULES, ratings(32, 0, 1)) is Rating.FAILED
    assert overall(RULES, ratings(0, 33, 0)) is Rating.STANDARD


def test_veto_task_fails_whatever_else():
    lenient = RatingRules(levels=[RatingLevel(rating=Rating.EXCELLENT, max_failed=1,
                                              min_excellent_percent=70)],
                          otherwise=Rating.STANDARD, veto_tasks=["1.10"])
    assert overall(lenient, ratings(9, 0, 1)) is Rating.FAILED        # 1.10 is the failed one
    assert overall(lenient, ratings(10, 0, 1)) is Rating.EXCELLENT    # 1.11 failed, no veto


# --- reports, letters, 通报 from the sample -------------------------------------------------


# The overall rating of every region in the sample results, counted by hand from the CSV (优秀
# share of all the region's tasks, 未达标 tasks included): not computed by the code under test.
SAMPLE_OVERALL = {
    **dict.fromkeys("""南关区 双阳区 九台区 榆树市 龙潭区 永吉县 蛟河市 桦甸市 磐石市 四平市 铁西区 铁东区
        伊通满族自治县 双辽市 辽源市 龙山区 东丰县 通化市 东昌区 通化县 抚松县 长白朝鲜族自治县 临江市 宁江区
        前郭尔罗斯蒙古族自治县 长岭县 乾安县 扶余市 大安市 延边朝鲜族自治州 珲春市 龙井市 和龙市""".split(), "优秀"),
    **dict.fromkeys("""长春市 宽城区 朝阳区 绿园区 德惠市 昌邑区 船营区 丰满区 梨树县 公主岭市 西安区 东辽县
        二道江区 柳河县 梅河口市 集安市 白山市 浑江区 江源区 松原市 白城市 洮北区 镇赉县 通榆县 图们市 敦化市
        汪清县 安图县""".split(), "达标"),
    **dict.fromkeys("二道区 农安县 吉林市 舒兰市 辉南县 靖宇县 洮南市 延吉市 长白山管委会".split(), "未达标"),
}


def test_hand_counted_table_covers_every_region():
    assert sorted(SAMPLE_OVERALL) == sorted(r.name for r in CONTENT.regions.regions)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    failed_region = next(r["地区"] for r in sample_rows() if r["等次"] == "未达标")
    Cli(ROOT)("report", "--results", SAMPLE, "--region", "长白山管委会", "--region", failed_region,
              "--region", "九台区", "--region", "长春市", "--out", out)
    Cli(ROOT)("summary", "--results", SAMPLE, "--out", out)
    out.joinpath("failed_region").write_text(failed_region, encoding="utf-8")
    return out


def test_manifest_carries_ratings(out):
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    rows = sample_rows()
    del rows
    seen = set()
    for d in docs:
        if d["kind"] in ("report", "letter"):
            assert d["rating"] == SAMPLE_OVERALL[d["region"]], d["region"]
            assert d["level"] == CONTENT.region(d["region"]).assessment_class.value
            seen.add(d["rating"])
    assert seen == {"优秀", "达标", "未达标"}
    assert {d["kind"] for d in docs} == {"report", "letter", "summary"}


def test_report_ratings_equal_input(out):
    name = "长白山管委会"
    doc = Document(out / "考评报告" / f"{name}.docx")
    table = doc.tables[0]
    header = [c.text for c in table.rows[1].cells]
    got = {}
    for row in table.rows[2:]:
        cells = [c.text for c in row.cells]
        got[cells[2]] = (cells[6], cells[7])
    expected = {r["编号"]: (r["自评等次"], r["等次"]) for r in sample_rows() if r["地区"] == name}
    assert got == expected
    assert list(got) == PREFECTURE
    assert "自评等次" in " ".join(c.text for c in table.rows[0].cells) and header


def test_letter_names_failed_tasks(out):
    name = (out / "failed_region").read_text(encoding="utf-8")
    failed = [r["编号"] for r in sample_rows() if r["地区"] == name and r["等次"] == "未达标"]
    text = pdf_text(out / "等次函" / f"{name}.pdf")
    assert "总体考评等次为“未达标”" in text
    for task_id in failed:
        task = CONTENT.tasks.task(task_id)
        assert re.sub(r"\s", "", f"{task.id}“{task.name}”") in text
    assert "《吉林省民政厅关于印发〈2016年全省民政工作目标责任制重点任务〉的通知》" in text
    assert "吉民发〔2016〕13号" in text
    assert CONTENT.region(name).addressee + "：" in text


def test_letter_numbers_stable(out):
    text = pdf_text(out / "等次函" / "长白山管委会.pdf")
    index = [r.name for r in CONTENT.regions.regions].index("长白山管委会")
    assert f"吉民函〔2017〕{index + 1}号" in text
    assert "长白山管委会社会办：" in text


def test_letter_layout_gbt9704_letter_format(out):
    with pdfplumber.open(out / "等次函" / "长白山管委会.pdf") as pdf:
        page = pdf.pages[0]
        mark = [c for c in page.chars if round(c["size"]) == 36]
        assert "".join(c["text"] for c in mark) == "吉林省民政厅"
        assert all(tuple(c["non_stroking_color"])[:3] == (1, 0, 0) for c in mark)
        assert abs(mm(min(c["top"] for c in mark)) - 30) < 1                  # 30 mm from the top
        red = [r for r in page.rects + page.lines
               if tuple(r["non_stroking_color"] or r["stroking_color"] or (0,))[:3] == (1, 0, 0)
               and mm(r["x1"] - r["x0"]) > 100]  # not the 样例 box
        assert all(abs(mm(r["x1"] - r["x0"]) - 170) < 0.5 for r in red)        # 170 mm
        assert all(abs(mm((r["x0"] + r["x1"]) / 2) - 106) < 0.5 for r in red)  # centred
        tops = sorted(mm(r["top"]) for r in red)
        assert abs(tops[0] - mm(max(c["bottom"] for c in mark)) - 4) < 1.5       # 4 mm below
        assert abs(mm(max(r["bottom"] for r in red)) - 277) < 1                 # 20 mm from bottom
        assert len(red) >= 4                                                   # two double rules
        number = [c for c in page.chars if round(c["size"]) == 16 and "〔" in "".join(
            x["text"] for x in page.chars if abs(x["top"] - c["top"]) < 1)]
        assert abs(mm(max(c["x1"] for c in number)) - 184) < 0.6                # flush right
        assert "—" not in "".join(c["text"] for c in page.chars)               # no page number
        body = [c for c in page.chars if round(c["size"]) == 16]
        assert all("GW-fang" in c["fontname"] for c in body)
        assert abs(mm(min(c["x0"] for c in body)) - 28) < 0.5


def test_summary_groups(out):
    text = pdf_text(next((out / "通报").glob("*.pdf")))
    # the 样例 mark and the 标志 are drawn as layers of their pages, between the lines
    text = text.replace("样例", "").replace("吉林省民政厅文件", "")
    for cls in ("市（州）", "县（市）", "区"):
        members = [r for r in CONTENT.regions.regions if r.assessment_class.value == cls]
        assert f"{cls}（共{len(members)}个）" in text
        for rating in Rating:
            names = [r.name for r in members if SAMPLE_OVERALL[r.name] == rating.value]
            if names:
                assert f"{rating.value}（{len(names)}个）：{'、'.join(names)}。" in text


def test_sample_mark(out):
    assert "样例" in pdf_text(out / "考评报告" / "长白山管委会.pdf")


# --- bad results ------------------------------------------------------------------------------


def report(tmp_path, rows, encoding="utf-8", expect=1, region=None):
    path = write_csv(tmp_path / "r.csv", rows, encoding)
    args = ["report", "--results", path, "--out", tmp_path / "out", "--format", "docx"]
    if region:
        args += ["--region", region]
    return Cli(ROOT)(*args, expect=expect)


def test_unknown_region(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    rows[3]["地区"] = "朝阳"
    err = report(tmp_path, rows).stderr
    assert "r.csv:5: 地区“朝阳”不在地区名单中" in err


def test_unknown_task(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    rows[0]["编号"] = "99.9"
    assert "r.csv:2: 编号“99.9”不在任务表中" in report(tmp_path, rows).stderr


def test_task_not_applicable(tmp_path):
    rows = region_rows("朝阳区", DISTRICT) + [{"地区": "朝阳区", "编号": "1.1", "等次": "优秀", "自评等次": "", "备注": ""}]
    assert f"r.csv:{len(rows) + 1}: 第 1.1 项“实施‘脱贫攻坚最低生活保障支持计划’”不适用于朝阳区（区）" in report(tmp_path, rows).stderr


def test_rating_outside_set(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    rows[1]["等次"] = "良好"
    assert f"r.csv:3: 第 2.2 项“{CONTENT.tasks.task('2.2').name}”：考评等次“良好”无效，应为 优秀、达标、未达标 之一" in report(tmp_path, rows).stderr


def test_duplicate_row(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    rows.append(dict(rows[0]))
    err = report(tmp_path, rows).stderr
    assert f"r.csv:{len(rows) + 1}: 朝阳区第 2.1 项“{CONTENT.tasks.task('2.1').name}”重复（与第 2 行重复）" in err


def test_ragged_row(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("地区,编号,等次\n朝阳区,2.1,优秀,多余\n", encoding="utf-8")
    result = Cli(ROOT)("report", "--results", path, "--out", tmp_path / "o", expect=1)
    assert "r.csv:2: 此行有 4 列，表头有 3 列" in result.stderr


def test_missing_header_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("地区,编号\n朝阳区,2.1\n", encoding="utf-8")
    result = Cli(ROOT)("report", "--results", path, "--out", tmp_path / "o", expect=1)
    assert "r.csv:1: 表头缺少“等次”列" in result.stderr


def test_gb18030_and_bom_accepted(tmp_path):
    rows = region_rows("朝阳区", DISTRICT)
    report(tmp_path, rows, encoding="gb18030", expect=0)
    report(tmp_path, rows, encoding="utf-8-sig", expect=0)
    result = Cli(ROOT)("validate", "--results", tmp_path / "r.csv")
    assert "UTF-8" in result.output


def test_missing_ratings_skip_region_others_render(tmp_path):
    rows = region_rows("朝阳区", DISTRICT) + region_rows("九台区", COUNTY)
    rows = [r for r in rows if not (r["地区"] == "九台区" and r["编号"] in ("1.2", "16.4"))]
    result = report(tmp_path, rows, expect=1)
    assert "九台区：以下任务还没有考评等次，未生成其报告和函：1.2、16.4" in result.stderr
    assert (tmp_path / "out" / "等次函" / "朝阳区.docx").exists()
    assert not (tmp_path / "out" / "等次函" / "九台区.docx").exists()


# --- collect: returned XLSX checklists --------------------------------------------------------


def fill(path: Path, target: Path, rating="优秀", overrides=None, region=None) -> Path:
    wb = load_workbook(path)
    ws = wb.active
    if region:
        ws["F2"] = region
    header = [c.value for c in ws[4]]
    id_col, self_col, final_col = (header.index(h) for h in ("编号", "自评等次", "考评等次"))
    for row in ws.iter_rows(min_row=5):
        task_id = row[id_col].value
        if task_id and re.fullmatch(r"\d+\.\d+", str(task_id)):
            row[self_col].value = "优秀"
            row[final_col].value = (overrides or {}).get(task_id, rating)
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blank")
    Cli(ROOT)("checklist", "--region", "九台区", "--level", "区", "--format", "xlsx", "--out", out)
    return out


def test_collect_round_trip(blank, tmp_path):
    a = fill(blank / "考评表" / "地区" / "九台区.xlsx", tmp_path / "a.xlsx", overrides={"6.2": "未达标"})
    b = fill(blank / "考评表" / "区.xlsx", tmp_path / "b.xlsx", region="朝阳区", rating="达标")
    Cli(ROOT)("collect", a, b, "--to", tmp_path / "all.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "all.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(COUNTY) + len(DISTRICT)
    Cli(ROOT)("report", "--results", tmp_path / "all.csv", "--out", tmp_path / "o", "--format", "pdf")
    docs = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))["documents"]
    ratings = {(d["kind"], d["region"]): d["rating"] for d in docs}
    assert ratings[("letter", "九台区")] == "未达标" and ratings[("letter", "朝阳区")] == "达标"
    assert "6.2“城乡社区协商全面推进”" in pdf_text(tmp_path / "o" / "等次函" / "九台区.pdf")
    # the filled workbook itself is accepted as results too
    Cli(ROOT)("report", "--results", a, "--out", tmp_path / "o2", "--format", "docx")


def test_collect_refuses_altered_criteria(blank, tmp_path):
    path = fill(blank / "考评表" / "区.xlsx", tmp_path / "x.xlsx", region="朝阳区")
    wb = load_workbook(path)
    wb.active["E5"] = "随便改的标准"
    wb.save(path)
    result = Cli(ROOT)("collect", path, "--to", tmp_path / "all.csv", expect=1)
    assert f"x.xlsx 考评表 E5 单元格：第 2.1 项“{CONTENT.tasks.task('2.1').name}”的“优秀”已被改动" in result.stderr
    assert not (tmp_path / "all.csv").exists()


def test_collect_refuses_unknown_region(blank, tmp_path):
    path = fill(blank / "考评表" / "区.xlsx", tmp_path / "x.xlsx", region="火星区")
    result = Cli(ROOT)("collect", path, "--to", tmp_path / "all.csv", expect=1)
    assert "x.xlsx 考评表 F2 单元格：地区“火星区”不在地区名单中" in result.stderr


def test_collect_refuses_non_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("地区,编号\n", encoding="utf-8")
    result = Cli(ROOT)("collect", path, "--to", tmp_path / "all.csv", expect=1)
    assert "fake.xlsx: 这不是 XLSX 工作簿" in result.stderr
