"""Bad content is reported as FILE:LINE: message, exit 1, never a traceback."""

from __future__ import annotations

import pytest

from .conftest import edit

TASKS = "content/tasks_2016.yaml"
REGIONS = "content/regions_jilin_2016.yaml"
RULES = "content/rating_rules.yaml"


def problems(wcli) -> str:
    result = wcli("validate", expect=1)
    assert result.stdout == ""
    return result.stderr


def test_yaml_syntax_error(workdir, wcli):
    line = edit(workdir / TASKS, "  signature: 吉林省民政厅", "  signature: 吉林省: 民政厅")
    err = problems(wcli)
    assert f"{TASKS}:{line}: YAML 格式错误" in err


def test_tab_indentation(workdir, wcli):
    line = edit(workdir / TASKS, "  signature: 吉林省民政厅", "\tsignature: 吉林省民政厅")
    assert f"{TASKS}:{line}: YAML 格式错误：不能用制表符" in problems(wcli)


def test_empty_file(workdir, wcli):
    (workdir / TASKS).write_text("", encoding="utf-8")
    assert f"{TASKS}: 文件为空" in problems(wcli)


def test_comments_only(workdir, wcli):
    (workdir / RULES).write_text("# nothing\n", encoding="utf-8")
    assert f"{RULES}: 文件中只有注释" in problems(wcli)


def test_not_utf8(workdir, wcli):
    path = workdir / TASKS
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.encode("gb18030"))
    err = problems(wcli)
    assert f"{TASKS}:1: 文件不是 UTF-8 编码" in err


def test_unknown_target_level(workdir, wcli):
    line = edit(workdir / TASKS, "          targets: [县（市、区）]\n        - id: \"2.2\"",
                "          targets: [县级]\n        - id: \"2.2\"")
    err = problems(wcli)
    assert f"{TASKS}:{line}: 考评对象“县级”无法识别" in err


def test_half_width_target_accepted(workdir, wcli):
    edit(workdir / TASKS, "          targets: [县（市、区）]\n        - id: \"2.2\"",
         "          targets: [县(市、区)]\n        - id: \"2.2\"")
    wcli("validate")


def test_task_without_criteria(workdir, wcli):
    path = workdir / TASKS
    text = path.read_text(encoding="utf-8")
    old = ("          standard:\n            - \"年底前倒损房屋恢复重建率达到100%，入住率达到80%。\"\n")
    assert old in text
    line = text[:text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, "          standard: []\n"), encoding="utf-8")
    err = problems(wcli)
    assert f"{TASKS}:{line}: “达标标准”不能为空" in err


def test_missing_criteria_key(workdir, wcli):
    path = workdir / TASKS
    text = path.read_text(encoding="utf-8")
    old = ("          standard:\n            - \"年底前倒损房屋恢复重建率达到100%，入住率达到80%。\"\n")
    task_line = text[:text.index('- id: "2.1"')].count("\n") + 1
    path.write_text(text.replace(old, ""), encoding="utf-8")
    err = problems(wcli)
    assert f"{TASKS}:{task_line}: 缺少“达标标准”" in err


def test_duplicate_task_id(workdir, wcli):
    line = edit(workdir / TASKS, '- id: "2.2"', '- id: "2.1"')
    err = problems(wcli)
    assert f"{TASKS}:{line}: 编号 2.1 重复" in err


def test_every_problem_reported_not_just_the_first(workdir, wcli):
    l1 = edit(workdir / TASKS, '- id: "2.2"', '- id: "2.1"')
    l2 = edit(workdir / REGIONS, "type: district, parent: 长春市}", "type: district, parent: 长春}")
    err = problems(wcli)
    assert f"{TASKS}:{l1}:" in err and f"{REGIONS}:{l2}:" in err


def test_region_unknown_parent(workdir, wcli):
    line = edit(workdir / REGIONS, "name: 南关区, code: \"220102\", type: district, parent: 长春市",
                "name: 南关区, code: \"220102\", type: district, parent: 长春")
    assert f"{REGIONS}:{line}: 上级“长春”不在地区名单中" in problems(wcli)


def test_region_unknown_type(workdir, wcli):
    line = edit(workdir / REGIONS, "name: 南关区, code: \"220102\", type: district",
                "name: 南关区, code: \"220102\", type: town")
    assert f"{REGIONS}:{line}: 类型“town”无法识别" in problems(wcli)


def test_duplicate_region_name(workdir, wcli):
    first = edit(workdir / REGIONS, "name: 南关区,", "name: 南关区,")
    line = edit(workdir / REGIONS, "name: 宽城区,", "name: 南关区,")
    err = problems(wcli)
    assert f"{REGIONS}:{line}: 地区名称“南关区”重复（第 {first} 行已有）" in err


def test_unknown_region_class(workdir, wcli):
    line = edit(workdir / REGIONS, "parent: 长春市, class: 县（市）}", "parent: 长春市, class: 乡镇}")
    assert f"{REGIONS}:{line}: 考评层次“乡镇”无法识别" in problems(wcli)


def test_region_class_alias_accepted(workdir, wcli):
    edit(workdir / REGIONS, "parent: 长春市, class: 县（市）}", "parent: 长春市, class: county}")
    wcli("validate")


def test_unknown_field(workdir, wcli):
    line = edit(workdir / TASKS, "          pilot_excluded: true", "          pilot_exclude: true")
    assert f"{TASKS}:{line}: 无法识别的字段“pilot_exclude”" in problems(wcli)


def test_duplicate_key(workdir, wcli):
    line = edit(workdir / TASKS, "  signature: 吉林省民政厅\n",
                "  signature: 吉林省民政厅\n  signature: 吉林省民政厅\n") + 1
    assert f"{TASKS}:{line}: 字段“signature”重复出现" in problems(wcli)


def test_bad_date(workdir, wcli):
    line = edit(workdir / TASKS, "  date: 2016-03-29", "  date: 2016年3月29日")
    assert f"{TASKS}:{line}: “日期”应为日期" in problems(wcli)


def test_rules_unknown_veto_task(workdir, wcli):
    line = edit(workdir / RULES, "veto_tasks: []", "veto_tasks: [\"99.1\"]")
    assert f"{RULES}:{line}: 一票否决项编号 99.1 不在任务表中" in problems(wcli)


def test_rules_bad_rating(workdir, wcli):
    line = edit(workdir / RULES, "otherwise: 未达标", "otherwise: 不合格")
    assert f"{RULES}:{line}: 其余等次“不合格”无法识别，应为 优秀、达标、未达标 之一" in problems(wcli)


def test_missing_file(workdir, wcli):
    (workdir / REGIONS).unlink()
    result = wcli("validate", "--regions", "content/nope.yaml", expect=1)
    assert "content/nope.yaml: 文件不存在" in result.stderr


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters(workdir, wcli, char):
    line = edit(workdir / TASKS, "  signature: 吉林省民政厅", f"  signature: 吉林省{char}民政厅")
    err = problems(wcli)
    if char == "\x00":
        assert f"{TASKS}: 这不是文本文件" in err
    else:
        assert f"{TASKS}:{line}: 含有不可见的控制字符 U+{ord(char):04X}" in err
