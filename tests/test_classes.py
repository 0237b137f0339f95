"""Which tasks apply to whom: the classes of CONTRACT.md, the 注 overrides and pilots."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT, edit

# From the table: tasks whose 考评对象 names 市（州）; 县（市） or 县（市、区）; 县（市、区）.
PREFECTURE = ["1.1", "1.2", "1.3", "1.4", "2.2", "2.3", "4.1", "7.2", "8.1", "9.1", "9.2",
              "10.1", "12.1", "12.2", "13.1", "13.2", "14.1", "14.2", "14.3", "14.4", "14.5",
              "15.1", "15.2", "15.3", "16.1", "16.2", "16.3", "16.4", "17.1", "18.1", "19.1",
              "19.2", "20.1"]
COUNTY_ONLY = ["1.1", "1.2", "1.3", "1.4", "10.1", "13.1", "13.2", "14.4", "15.2", "20.1"]
DISTRICT = ["2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "4.2", "4.3", "5.1", "6.1", "6.2", "7.1",
            "7.2", "8.1", "9.1", "9.2", "11.1", "12.1", "12.2", "14.1", "14.2", "14.3", "14.5",
            "15.1", "16.1", "16.2", "16.3", "16.4", "17.1", "18.1", "19.1", "19.2"]
COUNTY = sorted(set(COUNTY_ONLY) | set(DISTRICT), key=lambda i: tuple(map(int, i.split("."))))


def ids(cli, *args) -> list[str]:
    return [item["id"] for item in json.loads(cli("tasks", *args, "--json").output)]


def test_class_lists(cli):
    assert ids(cli, "--level", "市（州）") == PREFECTURE
    assert ids(cli, "--level", "县（市）") == COUNTY
    assert ids(cli, "--level", "区") == DISTRICT


def test_level_spellings(cli):
    assert ids(cli, "--level", "县(市)") == COUNTY
    assert ids(cli, "--level", "county") == COUNTY
    assert ids(cli, "--level", "prefecture") == PREFECTURE
    assert ids(cli, "--level", "district") == DISTRICT
    assert ids(cli, "--level", "市(州)") == PREFECTURE


def test_note_2_districts_assessed_as_counties(cli):
    for name in ("九台区", "双阳区", "江源区"):
        assert ids(cli, "--region", name) == COUNTY, name


def test_plain_district(cli):
    assert ids(cli, "--region", "朝阳区") == DISTRICT
    assert not set(ids(cli, "--region", "朝阳区")) & set(COUNTY_ONLY)


def test_note_1_changbaishan(cli):
    assert ids(cli, "--region", "长白山管委会") == PREFECTURE


def test_json_shape(cli):
    items = json.loads(cli("tasks", "--region", "九台区", "--json").output)
    assert items[0] == {"id": "1.1", "category": "社会救助",
                        "name": "实施“脱贫攻坚最低生活保障支持计划”"}


def test_pilot_loses_place_name_census_tasks(workdir, wcli):
    regions = workdir / "content" / "regions_jilin_2016.yaml"
    edit(regions, "name: 农安县, code: \"220122\", type: county, parent: 长春市",
         "name: 农安县, code: \"220122\", type: county, parent: 长春市, pilot: true")
    got = ids(wcli, "--region", "农安县")
    assert got == [i for i in COUNTY if i not in ("12.1", "12.2")]
    assert ids(wcli, "--region", "榆树市") == COUNTY


def test_class_counts(cli):
    from pipeline.content import load_content
    from pipeline.model import AssessmentClass
    regions = load_content().regions
    counts = {c: len(regions.in_class(c)) for c in AssessmentClass}
    assert counts == {AssessmentClass.PREFECTURE: 10, AssessmentClass.COUNTY: 42,
                      AssessmentClass.DISTRICT: 18}
    assert len({r.name for r in regions.regions}) == 70


def test_usage_errors(cli):
    assert cli("tasks", expect=2).exit_code == 2
    assert cli("tasks", "--level", "区", "--region", "朝阳区", expect=2)
    result = cli("tasks", "--region", "不存在区", expect=2)
    assert "不存在区" in result.stderr
    result = cli("tasks", "--level", "乡", expect=2)
    assert "乡" in result.stderr


def test_python_dash_m_is_the_same_program():
    out = subprocess.run([sys.executable, "-m", "pipeline", "tasks", "--region", "九台区", "--json"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [i["id"] for i in json.loads(out)] == COUNTY


def test_validate_ok(cli):
    result = cli("validate")
    assert "44" in result.output and "70" in result.output



def test_validate_results(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("地区,编号,等次\n朝阳区,2.1,很好\n", encoding="utf-8")
    result = cli("validate", "--results", bad, expect=1)
    assert "bad.csv:2: 第 2.1 项“" in result.stderr and "”：考评等次“很好”无效" in result.stderr
    ok = cli("validate", "--results", "content/results_2016_sample.csv")
    assert "70 个地区已全部考评" in ok.output
