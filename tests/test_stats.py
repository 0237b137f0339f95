"""`pipeline stats`: figures checked against counts made here by simple code of their own from the
sample results (never with pipeline.stats), year on year with a region and a task of one year
only, the charts parsed as XML, the XLSX and PDF exports read back."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.content import load_content

from .conftest import ROOT

CONTENT = load_content(need_rating_files=True)
SAMPLE = ROOT / "content" / "results_2016_sample.csv"
LEAGUE_WORDS = ("排名", "名次", "倒数", "末位", "第一名", "排行")


def sheet(wb, name: str) -> dict[str, dict[str, object]]:
    """A table sheet as {first cell: {header: value}} (header on row 2, data below, notes after a gap)."""
    ws = wb[name]
    header = [c.value for c in ws[2]]
    rows = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None or str(row[0]).startswith(("注：", "　")):
            continue
        rows.setdefault(str(row[0]), dict(zip(header, row)))
    return rows


def sheet_list(wb, name: str) -> list[dict[str, object]]:
    ws = wb[name]
    header = [c.value for c in ws[2]]
    return [dict(zip(header, row)) for row in ws.iter_rows(min_row=3, values_only=True)
            if row[0] is not None and not str(row[0]).startswith(("注：", "　"))]


# --- independent counts from the sample CSV ------------------------------------------------------------


def expected_from_sample():
    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8-sig")))
    by_region = defaultdict(list)
    for row in rows:
        by_region[row["地区"]].append(row)
    overall = {}
    for name, items in by_region.items():
        finals = [r["等次"] for r in items]
        assert all(finals)  # the sample is complete: every region is counted on final ratings
        if "未达标" in finals:
            overall[name] = "未达标"
        elif finals.count("优秀") * 100 >= 70 * len(finals):
            overall[name] = "优秀"
        else:
            overall[name] = "达标"
    level = {r.name: r.assessment_class.value for r in CONTENT.regions.regions}
    prefecture = {r.name: r.parent or r.name for r in CONTENT.regions.regions}
    by_level = defaultdict(Counter)
    by_prefecture = defaultdict(Counter)
    for name, rating in overall.items():
        by_level[level[name]][rating] += 1
        by_prefecture[prefecture[name]][rating] += 1
    per_task_final = defaultdict(Counter)
    per_task_self = defaultdict(Counter)
    lowered = Counter()
    order = {"优秀": 2, "达标": 1, "未达标": 0}
    differences = []
    for row in rows:
        per_task_final[row["编号"]][row["等次"]] += 1
        per_task_self[row["编号"]][row["自评等次"]] += 1
        if row["等次"] != row["自评等次"]:
            differences.append(row)
            if order[row["等次"]] < order[row["自评等次"]]:
                lowered[row["编号"]] += 1
    return dict(rows=rows, by_region=by_region, overall=overall, by_level=by_level, by_prefecture=by_prefecture,
                per_task_final=per_task_final, per_task_self=per_task_self, lowered=lowered,
                differences=differences)


@pytest.fixture(scope="module")
def sample_exports(tmp_path_factory):
    from .conftest import Cli

    out = tmp_path_factory.mktemp("stats")
    result = Cli(ROOT)("stats", "--results", SAMPLE, "--xlsx", out / "统计.xlsx", "--pdf", out / "统计.pdf")
    return result.output, out / "统计.xlsx", out / "统计.pdf"


def test_figures_match_counts_made_independently(sample_exports):
    output, xlsx, _ = sample_exports
    exp = expected_from_sample()
    wb = load_workbook(xlsx)

    levels = sheet(wb, "按考评层次")
    for cls in ("市（州）", "县（市）", "区"):
        got = levels[cls]
        assert (got["优秀"], got["达标"], got["未达标"]) == tuple(exp["by_level"][cls][r] for r in ("优秀", "达标", "未达标"))
        assert got["地区数"] == sum(exp["by_level"][cls].values())
        assert got["尚未评齐"] == 0 and got["其中按自评"] == 0
    total = Counter(exp["overall"].values())
    assert (levels["全省"]["优秀"], levels["全省"]["达标"], levels["全省"]["未达标"]) == \
        (total["优秀"], total["达标"], total["未达标"])
    assert levels["全省"]["地区数"] == 70
    assert abs(levels["全省"]["未达标占比"] - total["未达标"] / 70) < 0.0006

    prefectures = sheet(wb, "按市（州）")
    assert set(prefectures) - {"全省"} == set(exp["by_prefecture"])
    for name, counts in exp["by_prefecture"].items():
        got = prefectures[name]
        assert (got["优秀"], got["达标"], got["未达标"]) == (counts["优秀"], counts["达标"], counts["未达标"]), name

    tasks = sheet_list(wb, "按考评内容")
    assert len(tasks) == len(exp["per_task_final"]) == 44
    for got in tasks:
        task = str(got["编号"])
        final, own = exp["per_task_final"][task], exp["per_task_self"][task]
        assert (got["考评优秀"], got["考评达标"], got["考评未达标"]) == (final["优秀"], final["达标"], final["未达标"]), task
        assert (got["自评优秀"], got["自评达标"], got["自评未达标"]) == (own["优秀"], own["达标"], own["未达标"]), task
        assert got["考评低于自评"] == exp["lowered"][task]
        assert got["适用地区数"] == sum(final.values())  # the sample rates every task of every region
    failed = [t["考评未达标"] for t in tasks]
    assert failed == sorted(failed, reverse=True)  # the tasks that pull regions down come first

    regions = sheet(wb, "按地区")
    assert len(regions) == 70
    for name, items in exp["by_region"].items():
        got = regions[name]
        finals = Counter(r["等次"] for r in items)
        assert (got["优秀项"], got["达标项"], got["未达标项"], got["项数"]) == \
            (finals["优秀"], finals["达标"], finals["未达标"], len(items)), name
        assert got["总等次"] == exp["overall"][name]
        assert abs(got["优秀项占比"] - finals["优秀"] / len(items)) < 0.0006

    differences = sheet_list(wb, "考评与自评不同")
    assert len(differences) == len(exp["differences"])
    assert Counter(d["调整"] for d in differences)["调低"] == sum(exp["lowered"].values())
    assert {(d["地区"], str(d["编号"])) for d in differences} == {(r["地区"], r["编号"]) for r in exp["differences"]}

    # the terminal shows the same tables
    line = next(l for l in output.splitlines() if re.match(r"全省\s+\d+\s+\d+\s", l))
    assert line.split()[1:4] == ["70", str(total["优秀"]), f"{100 * total['优秀'] / 70:.1f}%"]
    assert f"优秀 {total['优秀']} 个、达标 {total['达标']} 个、未达标 {total['未达标']} 个" in output
    assert not any(word in output for word in LEAGUE_WORDS)


def test_xlsx_sheets_have_frozen_headers_and_widths_for_chinese(sample_exports):
    _, xlsx, _ = sample_exports
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["说明", "按考评层次", "按市（州）", "按考评内容", "按地区", "考评与自评不同", "图表"]
    for name in wb.sheetnames[1:-1]:
        ws = wb[name]
        assert ws.freeze_panes == "B3", name
        assert ws.print_title_rows == "$2:$2"
        assert ws.page_setup.orientation == "landscape"
    ws = wb["按市（州）"]
    # 延边朝鲜族自治州: 8 Chinese characters need about 16 widths of "0"
    assert ws.column_dimensions["A"].width >= 16
    assert len(wb["图表"]._images) == 4
    texts = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert not any(word in t for t in texts for word in LEAGUE_WORDS)


def test_pdf_is_a4_landscape_with_the_fonts_embedded(sample_exports):
    _, _, pdf = sample_exports
    reader = PdfReader(pdf)
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 841.89) < 1 and abs(height - 595.28) < 1
    text = "".join(p.extract_text() for p in reader.pages).replace(" ", "")
    for title in ("2016年度民政工作目标责任制考评结果统计", "一、各考评层次总等次", "三、各项考评内容的等次分布",
                  "五、考评等次与自评等次不同的项", "延边朝鲜族自治州", "样例"):
        assert title in text
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            names.add(str(font["/BaseFont"]).split("+")[-1])
    assert names == {"GW-Title", "GW-Hei", "GW-Fang", "GW-Song"}  # the Fandol faces, nothing else
    assert not any(word in text for word in LEAGUE_WORDS)


# --- the charts ----------------------------------------------------------------------------------------------


def test_charts_are_well_formed_svg_carrying_their_labels():
    from pipeline.charts import charts
    from pipeline.results import load_results
    from pipeline.stats import compute

    stats = compute(CONTENT, load_results(SAMPLE, CONTENT))
    drawn = charts(stats)
    assert [c.key for c in drawn] == ["levels", "prefectures", "tasks", "adjustments"]
    exp = expected_from_sample()
    for chart in drawn:
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
        root = ET.fromstring(chart.svg.encode("utf-8"), parser=parser)
        ns = "{http://www.w3.org/2000/svg}"
        assert root.tag == ns + "svg"
        assert root.find(ns + "title").text == chart.title
        assert root.find(ns + "desc").text == chart.description
        assert not list(root.iter(ns + "text"))  # glyphs of the embedded fonts, drawn as paths
        labels = {c.text.strip() for c in root.iter(ET.Comment)}
        if chart.key == "levels":
            assert {"市（州）", "县（市）", "区", "优秀", "达标", "未达标", "地区数（个）"} <= labels
            for cls, counts in exp["by_level"].items():
                assert f"{cls}：优秀 {counts['优秀']} 个、达标 {counts['达标']} 个、未达标 {counts['未达标']} 个" \
                    in chart.description
        if chart.key == "prefectures":
            assert set(exp["by_prefecture"]) <= labels
        if chart.key == "tasks":
            failing = {t for t, c in exp["per_task_final"].items() if c["未达标"]}
            assert {re.match(r"[\d.]+", label).group() for label in labels if re.match(r"\d+\.\d+ ", label)} == \
                failing | {t for t, c in exp["per_task_self"].items() if c["未达标"]}
    # drawn the same way twice: byte-identical (no dates, fixed ids)
    assert [c.svg for c in charts(stats)] == [c.svg for c in drawn]


# --- year on year --------------------------------------------------------------------------------------------


def _tasks_of(name: str) -> list[str]:
    return [t.id for t in CONTENT.tasks.tasks_for_region(CONTENT.region(name))]


def write_year_on_year(tmp_path: Path) -> tuple[Path, Path]:
    """This year: 长春市 all 优秀; 九台区 20 优秀 and the rest 达标; 朝阳区 self-rated only, one 未达标;
    南关区 five final ratings only. Last year: 长春市 达标, 九台区 未达标 (with a task 21.1 that this
    year's table has not), and 德惠县, a region not on this year's list, 优秀."""
    rows = ["地区,编号,等次,自评等次,备注"]
    rows += [f"长春市,{t},优秀,优秀," for t in _tasks_of("长春市")]
    rows += [f"九台区,{t},{'优秀' if i < 20 else '达标'},优秀," for i, t in enumerate(_tasks_of("九台区"))]
    rows += [f"朝阳区,{t},,{'未达标' if i == 0 else '优秀'}," for i, t in enumerate(_tasks_of("朝阳区"))]
    rows += [f"南关区,{t},达标,," for t in _tasks_of("南关区")[:5]]
    current = tmp_path / "results_2016.csv"
    current.write_text("\n".join(rows) + "\n", encoding="utf-8")
    previous = tmp_path / "results_2015.csv"
    previous.write_text("地区,编号,等次,自评等次,备注\n"
                        "长春市,1.1,达标,优秀,\n长春市,1.2,达标,达标,\n"
                        "九台区,1.1,未达标,达标,\n九台区,21.1,优秀,优秀,\n"
                        "德惠县,1.1,优秀,优秀,\n", encoding="utf-8")
    return current, previous


def test_year_on_year_lists_regions_and_tasks_of_one_year_only(cli, tmp_path):
    current, previous = write_year_on_year(tmp_path)
    result = cli("stats", "--results", current, "--previous", previous, "--xlsx", tmp_path / "s.xlsx")
    wb = load_workbook(tmp_path / "s.xlsx")

    levels = sheet(wb, "按考评层次")
    assert [levels["市（州）"][k] for k in ("地区数", "优秀", "达标", "未达标", "其中按自评", "尚未评齐")] == [10, 1, 0, 0, 0, 9]
    assert [levels["县（市）"][k] for k in ("地区数", "优秀", "达标", "未达标", "其中按自评", "尚未评齐")] == [42, 0, 1, 0, 0, 41]
    assert [levels["区"][k] for k in ("地区数", "优秀", "达标", "未达标", "其中按自评", "尚未评齐")] == [18, 0, 0, 1, 1, 17]
    assert [levels["市（州）"][k] for k in ("上年优秀", "上年达标", "上年未达标", "优秀增减", "达标增减")] == [0, 1, 0, 1, -1]
    assert [levels["县（市）"][k] for k in ("上年未达标", "未达标增减", "达标增减")] == [1, -1, 1]
    assert levels["区"]["上年未达标"] == "—"  # no 区 had results last year
    only = levels["今年名单中没有的地区"]
    assert (only["上年优秀"], only["上年达标"], only["上年未达标"], only["地区数"]) == (1, 0, 0, "—")
    assert [levels["全省"][k] for k in ("优秀", "达标", "未达标", "上年优秀", "上年达标", "上年未达标")] == [1, 1, 1, 1, 1, 1]

    regions = sheet(wb, "按地区")
    assert regions["德惠县"]["备注"] == "仅上年" and regions["德惠县"]["上年总等次"] == "优秀"
    assert regions["德惠县"]["总等次"] == "—"
    assert regions["朝阳区"]["依据"] == "自评" and regions["朝阳区"]["总等次"] == "未达标（自评）"
    assert regions["朝阳区"]["备注"] == "仅本年"
    assert regions["九台区"]["总等次"] == "达标" and regions["九台区"]["上年总等次"] == "未达标"
    assert regions["九台区"]["优秀项"] == 20 and regions["九台区"]["达标项"] == 22
    assert regions["南关区"]["依据"] == "尚未评齐（考评 5/32）"
    assert regions["长春市"]["上年优秀项占比"] == 0 and regions["长春市"]["占比增减"] == 100

    tasks = {str(t["编号"]): t for t in sheet_list(wb, "按考评内容")}
    assert tasks["21.1"]["考评内容"] == "（仅上年有此编号）" and tasks["21.1"]["上年考评未达标"] == 0
    assert tasks["1.1"]["上年考评未达标"] == 1 and tasks["1.1"]["未达标增减"] == -1
    assert len(tasks) == 45

    text = result.output
    # last year 长春市 1.1 and 九台区 1.1 were lowered; this year 九台区's 22 达标 against self 优秀
    assert "上年：自评等次和考评等次都已填写的共 5 项，其中一致 3 项，调低 2 项，调高 0 项（本年调低增加 20 项，调高持平）" in text
    assert "仅上年有结果的地区 1 个：德惠县" in text
    assert "今年名单中没有的地区" in text and "（仅上年有此编号）" in text
    assert "九台区" in text and "仅本年" in text


def test_bad_previous_file_is_reported_by_line_and_nothing_written(cli, tmp_path):
    current, previous = write_year_on_year(tmp_path)
    previous.write_text("地区,编号,等次\n长春市,1.1,很好\n长春市,一.二,优秀\n长春市,1.1,达标\n", encoding="utf-8")
    result = cli("stats", "--results", current, "--previous", previous, "--xlsx", tmp_path / "s.xlsx", expect=1)
    assert f"{previous}:2: 等次“很好”无效" in result.stderr
    assert f"{previous}:3: 编号“一.二”格式不对" in result.stderr
    assert not (tmp_path / "s.xlsx").exists()
    result = cli("stats", "--results", current, "--xlsx", tmp_path / "s.pdf", expect=2)
    assert "应以 .xlsx 结尾" in result.stderr


def test_results_without_any_rating_is_nothing_to_count(cli, tmp_path):
    empty = tmp_path / "results.csv"
    empty.write_text("地区,编号,等次\n", encoding="utf-8")
    result = cli("stats", "--results", empty, expect=1)
    assert "没有任何等次" in result.stderr


def test_xlsx_opens_and_saves_again_in_libreoffice(sample_exports, tmp_path):
    """The meeting copy in a real office suite: LibreOffice Calc opens it and saves it again with
    every sheet and every figure kept (headless Calc has no view, so it writes no frozen panes)."""
    import shutil
    import subprocess

    _, xlsx, _ = sample_exports
    assert shutil.which("soffice"), "没有找到 LibreOffice：请运行 make setup-test"
    source = tmp_path / "in" / "统计.xlsx"
    source.parent.mkdir()
    shutil.copy(xlsx, source)
    subprocess.run(["soffice", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path / "lo"), str(source)], check=True, capture_output=True, timeout=180)
    again = load_workbook(tmp_path / "lo" / "统计.xlsx")
    original = load_workbook(xlsx)
    assert again.sheetnames == original.sheetnames
    for name in ("按考评层次", "按市（州）", "按考评内容", "按地区"):
        def plain(rows):  # Calc writes 0.056 for the 0.055999… that 5.6 / 100 is
            return {k: {h: round(v, 9) if isinstance(v, float) else v for h, v in row.items()}
                    for k, row in rows.items()}
        assert plain(sheet(again, name)) == plain(sheet(original, name))


def test_formula_like_names_from_last_year_stay_text(cli, tmp_path):
    """Last year's names are not checked against this year's list: one written like a formula
    reaches the XLSX as text (OWASP CSV/formula injection), and the page escapes it."""
    current, previous = write_year_on_year(tmp_path)
    previous.write_text('地区,编号,等次\n"=HYPERLINK(""http://example.org"",""x"")",1.1,优秀\n<b>旧区</b>,1.1,达标\n',
                        encoding="utf-8")
    cli("stats", "--results", current, "--previous", previous, "--xlsx", tmp_path / "s.xlsx")
    ws = load_workbook(tmp_path / "s.xlsx")["按地区"]
    cells = [row[0] for row in ws.iter_rows(min_row=3) if row[0].value and "HYPERLINK" in str(row[0].value)]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert cells[0].value == '=HYPERLINK("http://example.org","x")'
