"""The rules of pipeline/results.py one function at a time, fast (issue 22: its mutation score).

Each test calls the module's public functions directly and compares the exact result or the
exact problems (file, line or cell, and the Chinese message the clerk reads); expected values are
written out by hand. The slower end-to-end checks of the same rules are in test_results.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import documents
from pipeline.content import load_content
from pipeline.errors import Cell, DataError, Problem
from pipeline.model import Rating
from pipeline.results import (Collected, Record, Results, TaskResult, check_records, check_workbook, clean_rating,
                              collect, decode_csv, escape_cell, expand, load_results, parse_rating,
                              read_csv_records, read_xlsx_records, results_csv, suggest, unescape_cell,
                              workbook_region)
from pipeline.writers import xlsx


def at(ref: str) -> Cell:
    """A cell of the returned checklist's sheet."""
    return Cell("考评表", ref)


CONTENT = load_content()
CHAOYANG = CONTENT.region("朝阳区")  # class 区
JIUTAI = CONTENT.region("九台区")  # class 县（市）
CHANGCHUN = CONTENT.region("长春市")  # class 市（州）

# the tasks of class 区, in table order (32)
DISTRICT = ["2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "4.2", "4.3", "5.1", "6.1", "6.2", "7.1", "7.2", "8.1",
            "9.1", "9.2", "11.1", "12.1", "12.2", "14.1", "14.2", "14.3", "14.5", "15.1", "16.1", "16.2",
            "16.3", "16.4", "17.1", "18.1", "19.1", "19.2"]
# the tasks of class 县（市）, in table order (42)
COUNTY = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "4.2", "4.3", "5.1", "6.1", "6.2",
          "7.1", "7.2", "8.1", "9.1", "9.2", "10.1", "11.1", "12.1", "12.2", "13.1", "13.2", "14.1", "14.2", "14.3",
          "14.4", "14.5", "15.1", "15.2", "16.1", "16.2", "16.3", "16.4", "17.1", "18.1", "19.1", "19.2", "20.1"]
T21 = "第 2.1 项“受灾群众得到及时有效救助”"
T22 = "第 2.2 项“建立救灾物资紧急调运机制”"
T11 = "第 1.1 项“实施‘脱贫攻坚最低生活保障支持计划’”"
RATINGS_HINT = "应为 优秀、达标、未达标 之一"
HEADER_HINT = "地区,编号,等次[,自评等次,备注]"

E, S, F = Rating.EXCELLENT, Rating.STANDARD, Rating.FAILED


def problems(call, *args, **kwargs) -> list[Problem]:
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    return caught.value.problems


def rec(line, region="朝阳区", task="2.1", rating="优秀", self_rating="", remarks="", file="r.csv", cells=None):
    return Record(Problem(file, line, ""), region, task, rating, self_rating, remarks, cells or {})


# --- ratings as typed -----------------------------------------------------------------------


def test_clean_rating_drops_every_kind_of_space():
    assert clean_rating("优　秀") == "优秀"
    assert clean_rating(" 达\n标 \t") == "达标"
    assert clean_rating("") == ""
    assert clean_rating(None) == ""


def test_parse_rating():
    assert parse_rating("优 秀") is E
    assert parse_rating("达标\n") is S
    assert parse_rating("未达标") is F
    assert parse_rating("") is None
    assert parse_rating(" \u3000") is None
    assert parse_rating(None) is None
    with pytest.raises(ValueError):
        parse_rating("良好")


# --- check_records: every rule of a row, every problem collected ---------------------------


def test_good_rows_become_results_with_their_place():
    results = check_records([rec(2, task=" 2.1 ", rating=" 优 秀", self_rating="达标", remarks="  附件一  "),
                             rec(3, task="2.2", rating="", self_rating="未达标"),
                             rec(4, region="九台区", task="1.1", rating="达标", file="r.csv")],
                            CONTENT, "结果.csv", "GB18030")
    assert results.source == "结果.csv" and results.encoding == "GB18030"
    assert results.by_region == {
        "朝阳区": {"2.1": TaskResult(E, S, "附件一", "第 2 行"), "2.2": TaskResult(None, F, "", "第 3 行")},
        "九台区": {"1.1": TaskResult(S, None, "", "第 4 行")},
    }
    assert results.files == {"朝阳区": ["r.csv"], "九台区": ["r.csv"]}


def test_a_workbook_row_points_at_its_cells():
    cells = {"region": at("F2"), "task": at("C5"), "rating": at("H5"), "self_rating": at("G5"),
             "remarks": at("I5")}
    results = check_records([rec(at("C5"), file="a.xlsx", cells=cells),
                             rec(at("C6"), task="2.2", file="b.xlsx", cells={**cells, "rating": at("H6")})],
                            CONTENT, "（汇总）", "XLSX")
    assert results.by_region == {"朝阳区": {"2.1": TaskResult(E, None, "", "a.xlsx 考评表 H5 单元格"),
                                            "2.2": TaskResult(E, None, "", "b.xlsx 考评表 H6 单元格")}}
    assert results.files == {"朝阳区": ["a.xlsx", "b.xlsx"]}
    bad = [rec(at("C5"), region="朝阳", file="a.xlsx", cells=cells),
           rec(at("C6"), task="99.9", file="a.xlsx", cells={**cells, "task": at("C6")}),
           rec(at("C7"), rating="好", file="a.xlsx", cells=cells),
           rec(at("C8"), self_rating="好", file="a.xlsx", cells=cells),
           rec(at("C9"), remarks="字" * 501, file="a.xlsx", cells=cells)]
    assert problems(check_records, bad, CONTENT, "a.xlsx", "XLSX") == [
        Problem("a.xlsx", at("F2"), "地区“朝阳”不在地区名单中，请按名单填写全称，您是不是要找：朝阳区"),
        Problem("a.xlsx", at("C6"), "编号“99.9”不在任务表中（应如 14.4）"),
        Problem("a.xlsx", at("H5"), f"{T21}：考评等次“好”无效，{RATINGS_HINT}"),
        Problem("a.xlsx", at("G5"), f"{T21}：自评等次“好”无效，{RATINGS_HINT}"),
        Problem("a.xlsx", at("I5"), f"{T21}：备注有 501 字，超过上限 500 字；"
                                       "请精简，详细材料另附文件并在备注中写明文件名或链接"),
    ]


def test_every_bad_row_is_named_with_what_to_fix():
    rows = [rec(2, region="朝阳"),
            rec(3, region="  "),
            rec(4, task=" 99.9 "),
            rec(5, task="1.1"),
            rec(6, task="2.2", rating="良好"),
            rec(7, task="2.3", self_rating="好"),
            rec(8, task="2.4", remarks="备" * 501),
            rec(9, task="3.1"),
            rec(10, task="3.1", rating="", self_rating="达标"),
            rec(11, region="长春市", task="2.1", rating="达标")]
    assert problems(check_records, rows, CONTENT, "r.csv", "UTF-8") == [
        Problem("r.csv", 2, "地区“朝阳”不在地区名单中，请按名单填写全称，您是不是要找：朝阳区"),
        Problem("r.csv", 3, "地区“  ”不在地区名单中，请按名单填写全称"),
        Problem("r.csv", 4, "编号“ 99.9 ”不在任务表中（应如 14.4）"),
        Problem("r.csv", 5, f"{T11}不适用于朝阳区（区），请删除此行"),
        Problem("r.csv", 6, f"{T22}：考评等次“良好”无效，{RATINGS_HINT}"),
        Problem("r.csv", 7, f"第 2.3 项“建立救灾物资（食品、水等）协议或合同储备机制”：自评等次“好”无效，{RATINGS_HINT}"),
        Problem("r.csv", 8, "第 2.4 项“开展农房保险工作”：备注有 501 字，超过上限 500 字；"
                            "请精简，详细材料另附文件并在备注中写明文件名或链接"),
        Problem("r.csv", 10, "朝阳区第 3.1 项“福利中心室内厕所改造工作任务”重复（与第 9 行重复），请只保留一处"),
        Problem("r.csv", 11, f"{T21}不适用于长春市（市（州）），请删除此行"),
    ]


def test_a_record_points_at_its_own_cells():
    cells = {"task": at("C5"), "rating": at("H5")}
    row = Record(Problem("a.xlsx", at("C5"), ""), "朝阳区", "2.1", "好", cells=cells)
    assert row.at("rating") == Problem("a.xlsx", at("H5"), "")
    assert row.at("remarks") == Problem("a.xlsx", at("C5"), "")  # no cell of its own: the row's
    assert rec(7).at("rating") == Problem("r.csv", 7, "")


def test_a_bad_final_rating_is_reported_before_the_self_rating():
    assert problems(check_records, [rec(2, rating="好", self_rating="坏")], CONTENT, "r.csv", "UTF-8") == [
        Problem("r.csv", 2, f"{T21}：考评等次“好”无效，{RATINGS_HINT}")]
    assert problems(check_records, [rec(2, self_rating="坏", remarks="字" * 501)], CONTENT, "r.csv", "UTF-8") == [
        Problem("r.csv", 2, f"{T21}：自评等次“坏”无效，{RATINGS_HINT}")]


def test_a_web_row_names_its_task_once():
    """On the web page the place already names the task (第 2.1 项“…”): the message does not repeat it."""
    rows = [Record(Problem("（网页）", T21, ""), "朝阳区", "2.1", "好"),
            Record(Problem("（网页）", T22, ""), "朝阳区", "2.2", "", "坏"),
            Record(Problem("（网页）", "第 2.3 项“建立救灾物资（食品、水等）协议或合同储备机制”", ""), "朝阳区", "2.3", "",
                   "", "备" * 501)]
    assert problems(check_records, rows, CONTENT, "（网页）", "网页") == [
        Problem("（网页）", T21, f"考评等次“好”无效，{RATINGS_HINT}"),
        Problem("（网页）", T22, f"自评等次“坏”无效，{RATINGS_HINT}"),
        Problem("（网页）", "第 2.3 项“建立救灾物资（食品、水等）协议或合同储备机制”",
                "备注有 501 字，超过上限 500 字；请精简，详细材料另附文件并在备注中写明文件名或链接"),
    ]


def test_remarks_limit_counts_the_text_without_surrounding_spaces():
    results = check_records([rec(2, remarks="  " + "字" * 500 + "\n")], CONTENT, "r.csv", "UTF-8")
    assert results.by_region["朝阳区"]["2.1"].remarks == "字" * 500


def test_empty_rows_are_ignored_and_not_duplicates():
    results = check_records([rec(2, rating=" ", self_rating="", remarks="  "),
                             rec(3, task="2.2", rating="", self_rating="", remarks=""),
                             rec(4, rating="达标"),
                             rec(5, task="2.3", rating="", remarks="只有备注")],
                            CONTENT, "r.csv", "UTF-8")
    assert results.by_region == {"朝阳区": {"2.1": TaskResult(S, None, "", "第 4 行"),
                                            "2.3": TaskResult(None, None, "只有备注", "第 5 行")}}
    assert results.files == {"朝阳区": ["r.csv"]}
    nothing = check_records([rec(2, rating="")], CONTENT, "r.csv", "UTF-8")
    assert nothing.by_region == {} and nothing.files == {}


def test_a_duplicate_in_a_workbook_names_the_first_cell():
    cells = {"task": at("C5")}
    rows = [rec(at("C5"), file="a.xlsx", cells=cells), rec(at("C9"), file="a.xlsx", cells={"task": at("C9")})]
    assert problems(check_records, rows, CONTENT, "a.xlsx", "XLSX") == [
        Problem("a.xlsx", at("C9"), f"朝阳区{T21}重复（与考评表 C5 单元格重复），请只保留一处")]


# --- suggest ---------------------------------------------------------------------------------


def test_suggest():
    assert suggest("九台", CONTENT) == "，您是不是要找：九台区"
    assert suggest(" 九台 ", CONTENT) == "，您是不是要找：九台区"
    assert suggest("前郭", CONTENT) == "，您是不是要找：前郭尔罗斯蒙古族自治县"  # a unique prefix, however short
    assert suggest("朝阳县", CONTENT) == "，您是不是要找：朝阳区"  # a close name
    assert suggest("二道", CONTENT) == "，您是不是要找：二道区、二道江区"  # two prefixes, both close
    assert suggest("江区", CONTENT) == "，您是不是要找：浑江区、江源区、宁江区"  # at most three
    assert suggest("长白", CONTENT) == ""  # two prefixes, neither close
    assert suggest("火星区", CONTENT) == ""
    assert suggest("", CONTENT) == ""
    assert suggest("  ", CONTENT) == ""


# --- the Results a report reads ------------------------------------------------------------


def chaoyang(*, without_final=(), without_self=(), skip=()) -> dict[str, TaskResult]:
    return {t: TaskResult(None if t in without_final else E, None if t in without_self else S, "", f"第 {n} 行")
            for n, t in enumerate(DISTRICT, 2) if t not in skip}


def test_sample_is_told_by_the_file_name_only():
    assert Results("content/results_2016_sample.csv", "UTF-8").sample
    assert Results("SAMPLE.CSV", "UTF-8").sample
    assert Results("结果样例.xlsx", "XLSX").sample
    assert not Results("sample/结果.csv", "UTF-8").sample
    assert not Results("样例/结果.csv", "UTF-8").sample
    assert not Results("结果.csv", "UTF-8").sample


def test_regions_in_the_order_of_the_regions_file():
    results = Results("r.csv", "UTF-8", {"九台区": {}, "长春市": {"1.1": TaskResult(E)}, "朝阳区": {}})
    assert [r.name for r in results.regions(CONTENT)] == ["长春市", "朝阳区", "九台区"]


def test_missing_final_and_self_ratings():
    results = Results("r.csv", "UTF-8", {"朝阳区": chaoyang(without_final=("2.2", "19.2"), without_self=("2.1",),
                                                            skip=("3.1",))})
    assert results.missing(CONTENT, CHAOYANG) == ["2.2", "3.1", "19.2"]
    assert results.missing(CONTENT, CHAOYANG, "self_rating") == ["2.1", "3.1"]
    assert results.missing(CONTENT, JIUTAI) == COUNTY
    assert results.counts(CONTENT, CHAOYANG) == (30, 29, 32)
    assert results.counts(CONTENT, JIUTAI) == (0, 0, 42)


def test_where_and_final():
    results = Results("r.csv", "UTF-8", {"朝阳区": {"2.1": TaskResult(E, None, "", "第 2 行"),
                                                    "2.2": TaskResult(None, S, "", "第 3 行")}})
    assert results.where(CHAOYANG, "2.1") == "第 2 行"
    assert results.where(CHAOYANG, "2.2") == "第 3 行"
    assert results.where(CHAOYANG, "2.3") == ""
    assert results.where(JIUTAI, "2.1") == ""
    assert results.final(CHAOYANG) == {"2.1": TaskResult(E, None, "", "第 2 行")}
    assert results.final(JIUTAI) == {}


def test_status():
    results = Results("r.csv", "UTF-8", {"朝阳区": chaoyang(), "九台区": {"1.1": TaskResult(None, E)},
                                         "长春市": {}})
    assert results.status(CONTENT, CHAOYANG) == "已考评"
    assert results.status(CONTENT, JIUTAI) == "已自评"
    assert results.status(CONTENT, CHANGCHUN) == "已自评"
    assert results.status(CONTENT, CONTENT.region("南关区")) == "未交"
    assert results.status(CONTENT, CHAOYANG, {"朝阳区"}) == "有误"
    assert results.status(CONTENT, CONTENT.region("南关区"), {"南关区"}) == "有误"
    assert results.status(CONTENT, JIUTAI, {"朝阳区"}) == "已自评"
    partial = Results("r.csv", "UTF-8", {"朝阳区": chaoyang(without_final=("19.2",))})
    assert partial.status(CONTENT, CHAOYANG) == "已自评"


# --- CSV: decoding ---------------------------------------------------------------------------


def test_decode_utf8_with_and_without_bom():
    assert decode_csv("地区,编号\n".encode(), "r.csv") == ("地区,编号\n", "UTF-8")
    assert decode_csv(b"\xef\xbb\xbf" + "地区".encode(), "r.csv") == ("地区", "UTF-8")
    assert decode_csv(b"", "r.csv") == ("", "UTF-8")


def test_decode_utf16_either_byte_order():
    assert decode_csv("地区\t编号\n".encode("utf-16"), "r.csv") == ("地区\t编号\n", "UTF-16")
    assert decode_csv(b"\xff\xfe" + "地区\n".encode("utf-16-le"), "r.csv") == ("地区\n", "UTF-16")
    assert decode_csv(b"\xfe\xff" + "地区\n".encode("utf-16-be"), "r.csv") == ("地区\n", "UTF-16")


def test_decode_utf16_with_a_broken_character_names_its_line():
    data = b"\xff\xfe" + "地区\n朝阳区\n".encode("utf-16-le") + b"\x00\xd8" + "a".encode("utf-16-le")
    assert problems(decode_csv, data, "u.csv") == [
        Problem("u.csv", 3, "UTF-16 文件中有无法识别的字节，请用“CSV UTF-8”另存")]
    # 上 (U+4E0A) holds the byte of a line feed: only whole UTF-16 units count
    data = "上\n下".encode("utf-16") + b"\x00\xdc"
    assert problems(decode_csv, data, "u.csv") == [
        Problem("u.csv", 2, "UTF-16 文件中有无法识别的字节，请用“CSV UTF-8”另存")]
    assert problems(decode_csv, b"\xfe\xff\xd8\x00\x00a", "u.csv") == [
        Problem("u.csv", 1, "UTF-16 文件中有无法识别的字节，请用“CSV UTF-8”另存")]


def test_decode_refuses_a_binary_file():
    assert problems(decode_csv, b"PK\x03\x04\x00\x00", "a.csv") == [
        Problem("a.csv", None, "这不是文本文件（含二进制内容），请另存为 CSV 后重试")]
    assert problems(decode_csv, b"a" * 8191 + b"\x00", "a.csv") == [
        Problem("a.csv", None, "这不是文本文件（含二进制内容），请另存为 CSV 后重试")]
    # only the first 8 KiB are looked at: a NUL further on is a control character for later
    assert decode_csv(b"a" * 8192 + b"\x00", "a.csv") == ("a" * 8192 + "\x00", "UTF-8")


def test_decode_gb18030_as_excel_writes_it():
    text = "地区,编号,等次\n朝阳区,2.1,优秀\n"
    assert decode_csv(text.encode("gb18030"), "r.csv") == (text, "GB18030")
    # a DEL (0x7F) is plain ASCII, not a UTF-8 line among GB18030 ones
    assert decode_csv(b"a\x7f\n" + "朝阳区".encode("gb18030"), "r.csv") == ("a\x7f\n朝阳区", "GB18030")


def test_decode_refuses_utf8_and_gb18030_mixed():
    utf8, gbk = "地区,编号,等次\n".encode(), "朝阳区,2.1,优秀\n".encode("gb18030")
    message = "文件混用了多种编码（有的行是 UTF-8，此行不是），请整体另存为“CSV UTF-8”"
    assert problems(decode_csv, b"a,b\n" + utf8 + gbk, "m.csv") == [Problem("m.csv", 3, message)]
    assert problems(decode_csv, gbk + b"x\n" + utf8, "m.csv") == [Problem("m.csv", 1, message)]


def test_decode_refuses_an_unknown_encoding():
    message = "无法识别文件编码（既不是 UTF-8 也不是 GB18030），请用“CSV UTF-8”另存"
    assert problems(decode_csv, b"a,b\nc,d\ne\x80\n", "x.csv") == [Problem("x.csv", 3, message)]
    assert problems(decode_csv, b"\n\n\x80", "x.csv") == [Problem("x.csv", 3, message)]
    # lines are what is compared: UTF-8 and GB18030 words on one line are not two files pasted together
    line = "朝阳区".encode() + b" " + "优秀".encode("gb18030") + b"\x80"
    assert problems(decode_csv, b"\n" + line, "x.csv") == [Problem("x.csv", 2, message)]


# --- CSV: the leading ' that keeps a formula a text (OWASP) ----------------------------------


@pytest.mark.parametrize("text,escaped", [
    ("=SUM(1,2)", "'=SUM(1,2)"), ("+1", "'+1"), ("-3分", "'-3分"), ("@提醒", "'@提醒"), ("\t缩进", "'\t缩进"),
    ("\r回车", "'\r回车"), ("'引用", "''引用"), ("''两个", "'''两个"), ("'", "''"), ("'=不是公式", "''=不是公式"),
    ("普通备注", "普通备注"), ("1=1", "1=1"), ("a'", "a'"), ("", ""), ("朝阳区", "朝阳区"),
])
def test_escape_and_unescape_round_trip(text, escaped):
    assert escape_cell(text) == escaped
    assert unescape_cell(escaped) == text


@pytest.mark.parametrize("typed", ["'引用第3号文件", "=A1", "-3", "'", "普通", ""])
def test_unescape_keeps_what_a_clerk_typed(typed):
    """A hand-written CSV: a ' before anything but a formula sign or ' is the clerk's own."""
    assert unescape_cell(typed) == typed


# --- CSV: reading rows ----------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes, name="r.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_read_csv_rows(tmp_path):
    path = write(tmp_path, "\ufeff地区,编号,等次,自评等次,备注\r\n朝阳区 , 2.1 , 优秀 ,达标,'=1 \r\n"
                           ",,,,\r\n \t, , ,,\r\n九台区,1.1,,,\"两行\r\n备注\"\r\n")
    records, encoding = read_csv_records(path)
    name = str(path)
    assert encoding == "UTF-8"
    assert records == [Record(Problem(name, 2, ""), "朝阳区", "2.1", " 优秀 ", "达标", "=1 "),
                       Record(Problem(name, 6, ""), "九台区", "1.1", "", "", "两行\r\n备注")]


def test_read_csv_columns_in_any_order_optional_ones_left_out(tmp_path):
    path = write(tmp_path, "\n , ,\n 等次 ,地区,编号,\n'=2,朝阳区,'-2.1,\n")
    assert read_csv_records(path)[0] == [Record(Problem(str(path), 4, ""), "朝阳区", "-2.1", "=2")]


def test_read_csv_with_old_mac_line_ends(tmp_path):
    path = write(tmp_path, "地区,编号,等次\r朝阳区,2.1,优秀\r九台区,1.1,达标\r")
    assert read_csv_records(path)[0] == [Record(Problem(str(path), 2, ""), "朝阳区", "2.1", "优秀"),
                                         Record(Problem(str(path), 3, ""), "九台区", "1.1", "达标")]


def test_read_csv_undecodable_file_named(tmp_path):
    path = write(tmp_path, b"\x00\x01", "table.xls")
    assert problems(read_csv_records, path) == [
        Problem(str(path), None, "这不是文本文件（含二进制内容），请另存为 CSV 后重试")]


def test_read_tab_separated(tmp_path):
    path = write(tmp_path, "地区\t编号\t等次\t备注\n朝阳区\t2.1\t优秀\t甲,乙\n".encode("utf-16"))
    assert read_csv_records(path) == ([Record(Problem(str(path), 2, ""), "朝阳区", "2.1", "优秀", "", "甲,乙")],
                                      "UTF-16")


def test_the_separator_is_the_more_frequent_one_in_the_header(tmp_path):
    # as many tabs as commas: commas
    path = write(tmp_path, "地区,编号\t等次,备注\t自评等次\n")
    name = str(path)
    assert problems(read_csv_records, path) == [
        Problem(name, 1, f"表头缺少“编号”列（表头应为：{HEADER_HINT}）"),
        Problem(name, 1, f"表头缺少“等次”列（表头应为：{HEADER_HINT}）"),
        Problem(name, 1, "无法识别的列“编号\t等次”，可用的列：地区、编号、等次、自评等次、备注"),
        Problem(name, 1, "无法识别的列“备注\t自评等次”，可用的列：地区、编号、等次、自评等次、备注"),
    ]
    # the header decides, not the rows below it
    path = write(tmp_path, "地区\t编号\t等次\n朝阳区,2.1,优秀\n")
    assert problems(read_csv_records, path) == [Problem(str(path), 2, "此行有 1 列，表头有 3 列，请检查分隔符")]


def test_read_csv_header_problems_all_at_once(tmp_path):
    path = write(tmp_path, "\n地区,分数,地区,,\n朝阳区,1,朝阳区,,\n")
    name = str(path)
    assert problems(read_csv_records, path) == [
        Problem(name, 2, f"表头缺少“编号”列（表头应为：{HEADER_HINT}）"),
        Problem(name, 2, f"表头缺少“等次”列（表头应为：{HEADER_HINT}）"),
        Problem(name, 2, "无法识别的列“分数”，可用的列：地区、编号、等次、自评等次、备注"),
        Problem(name, 2, "表头有重复的列"),
    ]
    path = write(tmp_path, "地区,编号,等次,等次\n")
    assert problems(read_csv_records, path) == [Problem(str(path), 1, "表头有重复的列")]


def test_read_csv_empty_file(tmp_path):
    for text in ("", "\n\n", " , ,\n\t\n", "\ufeff"):
        path = write(tmp_path, text)
        assert problems(read_csv_records, path) == [Problem(str(path), None, f"文件为空，应有表头行：{HEADER_HINT}")]


def test_read_csv_header_only(tmp_path):
    assert read_csv_records(write(tmp_path, "地区,编号,等次\n\n")) == ([], "UTF-8")


def test_read_csv_ragged_rows_all_named(tmp_path):
    path = write(tmp_path, "地区,编号,等次\n朝阳区,2.1,优秀,多余\n朝阳区,2.2,优秀\n朝阳区,2.3\n")
    name = str(path)
    assert problems(read_csv_records, path) == [
        Problem(name, 2, "此行有 4 列，表头有 3 列，请检查分隔符"),
        Problem(name, 4, "此行有 2 列，表头有 3 列，请检查分隔符"),
    ]


def test_read_csv_control_character_named_by_line(tmp_path):
    path = write(tmp_path, "地区,编号,等次\r\n朝阳区,2.1,优秀\r\n朝阳区,2.2,优\x01秀\r\n")
    assert problems(read_csv_records, path) == [Problem(str(path), 3, "含有不可见的控制字符 U+0001，请删除后重试")]


def test_read_csv_format_error_named_by_line(tmp_path):
    path = write(tmp_path, "地区,编号,等次\n朝阳区,2.1,优秀\n朝阳区,2.2," + "长" * 131073 + "\n")
    assert problems(read_csv_records, path) == [
        Problem(str(path), 3, "CSV 格式错误：field larger than field limit (131072)")]


def test_read_csv_too_large(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.truncate(20 * 1024 * 1024 + 1)  # sparse: nothing written
    assert problems(read_csv_records, path) == [
        Problem(str(path), None, "文件过大（20480 KiB），超过上限 20480 KiB，请检查是否选错文件")]


def test_load_results_csv(tmp_path):
    path = write(tmp_path, "地区,编号,等次\n朝阳区,2.1,优秀\n".encode("gb18030"), "结果样例.csv")
    results = load_results(path, CONTENT)
    assert (results.source, results.encoding, results.sample) == (str(path), "GB18030", True)
    assert results.by_region == {"朝阳区": {"2.1": TaskResult(E, None, "", "第 2 行")}}
    path = write(tmp_path, "地区,编号,等次\n朝阳区,2.1,好\n")
    assert problems(load_results, path, CONTENT) == [Problem(str(path), 2, f"{T21}：考评等次“好”无效，{RATINGS_HINT}")]


# --- returned workbooks ---------------------------------------------------------------------

_FORMS: dict[str, bytes] = {}


def form(region_name: str) -> bytes:
    """The blank checklist the pipeline writes for a region (made once)."""
    if region_name not in _FORMS:
        region = CONTENT.region(region_name)
        view = documents.checklist(CONTENT.tasks, region.assessment_class, region)
        _FORMS[region_name] = xlsx.checklist_workbook(view, view.extra["table"])
    return _FORMS[region_name]


def filled(region_name: str, ratings: dict[str, tuple[str, str]] | None = None, footer: dict[str, str] | None = None,
           every: str | None = "优秀") -> bytes:
    """The region's checklist with every task rated ``every`` (final and self), or the given
    (final, self) ratings by task id; ``footer``: cell → value."""
    wb = load_workbook(io.BytesIO(form(region_name)))
    ws = wb.active
    for row in ws.iter_rows(min_row=5):  # C: 编号, G: 自评等次, H: 考评等次
        task_id = row[2].value
        if task_id in (ratings or {}):
            row[7].value, row[6].value = ratings[task_id]
        elif task_id and every and task_id[0].isdigit():
            row[7].value, row[6].value = every, every
    for cell, value in (footer or {}).items():
        ws[cell] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_blank_returned_checklist_gives_no_rows_and_names_its_region(tmp_path):
    path = write(tmp_path, form("朝阳区"), "朝阳区.xlsx")
    blank = [(t, "", "", "") for t in DISTRICT]  # every task row, nothing filled: no problem either
    assert [(r.task, r.rating, r.self_rating, r.remarks) for r in read_xlsx_records(path, CONTENT)] == blank
    uploaded = read_xlsx_records(None, CONTENT, data=form("朝阳区"), name="上传.xlsx")
    assert [(r.where.file, r.task, r.rating) for r in uploaded] == [("上传.xlsx", t, "") for t in DISTRICT]
    assert workbook_region(form("九台区"), CONTENT) == "九台区"
    assert workbook_region(b"PK\x03\x04 not a workbook", CONTENT) is None


def test_a_filled_checklist_gives_its_rows_with_their_cells(tmp_path):
    data = filled("朝阳区", {"2.1": ("达标", "优秀"), "2.2": ("", "未达标")}, every=None)
    records = read_xlsx_records(None, CONTENT, data=data, name="c.xlsx")
    cells = {"region": at("F2"), "task": at("C5"), "rating": at("H5"), "self_rating": at("G5"),
             "remarks": at("I5")}
    assert [(r.task, r.rating, r.self_rating) for r in records[2:]] == [(t, "", "") for t in DISTRICT[2:]]
    assert records[:2] == [
        Record(Problem("c.xlsx", at("C5"), ""), "朝阳区", "2.1", "达标", "优秀", "", cells),
        Record(Problem("c.xlsx", at("C6"), ""), "朝阳区", "2.2", "", "未达标", "",
               {"region": at("F2"), "task": at("C6"), "rating": at("H6"), "self_rating": at("G6"),
                "remarks": at("I6")}),
    ]
    results = check_workbook(records, CONTENT, "c.xlsx")
    assert (results.source, results.encoding) == ("c.xlsx", "XLSX")
    assert results.by_region == {"朝阳区": {"2.1": TaskResult(S, E, "", "c.xlsx 考评表 H5 单元格"),
                                            "2.2": TaskResult(None, F, "", "c.xlsx 考评表 H6 单元格")}}
    bad = filled("朝阳区", {"2.1": ("良好", "")}, every=None)
    assert problems(read_xlsx_records, None, CONTENT, data=bad, name="c.xlsx") == [
        Problem("c.xlsx", at("H5"), f"{T21}：考评等次“良好”无效，{RATINGS_HINT}")]


def test_load_results_from_a_workbook(tmp_path):
    path = write(tmp_path, filled("朝阳区", {"2.1": ("达标", "")}, every=None), "朝阳区.XLSX")
    results = load_results(path, CONTENT)
    assert (results.source, results.encoding) == (str(path), "XLSX")
    assert results.by_region == {"朝阳区": {"2.1": TaskResult(S, None, "", f"{path} 考评表 H5 单元格")}}
    path = write(tmp_path, form("朝阳区"), "空.xlsx")
    assert load_results(path, CONTENT).by_region == {}


def test_expand_folders_and_files(tmp_path):
    folder = tmp_path / "交回"
    (folder / "子目录").mkdir(parents=True)
    for name in ("b.xlsx", "A.XLSX", "~$b.xlsx", ".隐藏.xlsx", "说明.txt", "c.xls"):
        (folder / name).write_bytes(b"x")
    (folder / "子目录" / "d.xlsx").write_bytes(b"x")
    single = tmp_path / "单个.csv"
    assert expand([single, folder]) == (
        [single, folder / "A.XLSX", folder / "b.xlsx"],
        [str(folder / ".隐藏.xlsx"), str(folder / "c.xls"), str(folder / "~$b.xlsx"), str(folder / "说明.txt")])
    assert expand([]) == ([], [])
    # one file named twice, or a folder and a file in it: each file once, in the order first named
    again = tmp_path / "." / "交回" / "b.xlsx"
    assert expand([folder / "b.xlsx", folder, again, folder, single, single]) == (
        [folder / "b.xlsx", folder / "A.XLSX", single],
        [str(folder / ".隐藏.xlsx"), str(folder / "c.xls"), str(folder / "~$b.xlsx"), str(folder / "说明.txt")])
    assert expand([folder / "子目录"]) == ([folder / "子目录" / "d.xlsx"], [])


def test_collect_keeps_good_returns_and_names_the_bad(tmp_path):
    folder = tmp_path / "交回"
    folder.mkdir()
    write(folder, filled("朝阳区", footer={"B38": "朝阳区民政局"}), "朝阳区.xlsx")
    write(folder, filled("九台区", {"1.1": ("好", "")}), "九台区.xlsx")
    write(folder, filled("长春市", {"1.1": ("达标", "达标")}), "南关区.xlsx")  # named after another region
    write(folder, b"not a workbook", "坏.xlsx")
    write(folder, b"", "说明.txt")
    name = {n: str(folder / n) for n in ("朝阳区.xlsx", "九台区.xlsx", "南关区.xlsx", "坏.xlsx")}
    outcome = collect([folder], CONTENT)
    assert isinstance(outcome, Collected)
    assert outcome.skipped == [str(folder / "说明.txt")]
    assert outcome.accepted == {name["南关区.xlsx"]: "长春市", name["朝阳区.xlsx"]: "朝阳区"}
    assert outcome.rejected == {
        name["九台区.xlsx"]: [Problem(name["九台区.xlsx"], at("H5"),
                                      "第 1.1 项“实施‘脱贫攻坚最低生活保障支持计划’”：考评等次“好”无效，"
                                      f"{RATINGS_HINT}")],
        name["坏.xlsx"]: [Problem(name["坏.xlsx"], None, "这不是 XLSX 工作簿（不是 zip 格式），请用本系统生成的考评表填写")],
    }
    assert outcome.rejected_region == {name["九台区.xlsx"]: "九台区"}
    assert outcome.warnings == {name["南关区.xlsx"]: [Problem(
        name["南关区.xlsx"], at("F2"),
        "文件名写的是南关区，表内填写的地区是长春市；已作为长春市的考评表接收，请核对是否交错了文件")]}
    assert sorted(outcome.returns) == sorted(name.values())
    merged = outcome.results
    assert (merged.source, merged.encoding) == ("（汇总）", "XLSX")
    assert list(merged.by_region) == ["长春市", "朝阳区"]
    assert merged.by_region["长春市"]["1.1"] == TaskResult(S, S, "", f"{name['南关区.xlsx']} 考评表 H5 单元格")
    assert len(merged.by_region["长春市"]) == 33 and len(merged.by_region["朝阳区"]) == 32
    assert merged.files == {"长春市": [name["南关区.xlsx"]], "朝阳区": [name["朝阳区.xlsx"]]}
    assert outcome.footer("朝阳区").unit == "朝阳区民政局"
    assert outcome.footer("长春市").unit == ""
    assert outcome.footer("九台区") is None
    assert outcome.footer("南关区") is None


def test_collect_holds_back_two_returns_for_one_region(tmp_path):
    a = write(tmp_path, filled("朝阳区"), "a.xlsx")
    b = write(tmp_path, filled("朝阳区", every="达标"), "b.xlsx")
    c = write(tmp_path, filled("九台区"), "c.xlsx")
    outcome = collect([a, b, c], CONTENT)
    both = Problem(f"{a}、{b}", None, "朝阳区有 2 份考评表，请只保留一份后重新汇总")
    assert outcome.rejected == {str(a): [both], str(b): [both]}
    assert outcome.rejected_region == {str(a): "朝阳区", str(b): "朝阳区"}
    assert outcome.accepted == {str(c): "九台区"}
    assert list(outcome.results.by_region) == ["九台区"]
    assert outcome.results.files == {"九台区": [str(c)]}
    assert outcome.warnings == {} and outcome.skipped == []
    (tmp_path / "九台").mkdir()
    d = write(tmp_path / "九台", filled("九台区"), "d.xlsx")
    once = collect([d, tmp_path / "." / "九台" / "d.xlsx", tmp_path / "九台", d], CONTENT)  # one file, named 4 times
    assert once.accepted == {str(d): "九台区"} and once.rejected == {}
    assert once.skipped == [] and once.results.files == {"九台区": [str(d)]}
    three = collect([a, b, write(tmp_path, filled("朝阳区"), "朝阳区.xlsx")], CONTENT)
    assert three.rejected[str(a)] == [Problem(f"{a}、{b}、{tmp_path / '朝阳区.xlsx'}", None,
                                              "朝阳区有 3 份考评表，请只保留一份后重新汇总")]
    assert three.accepted == {} and three.results.by_region == {}


def test_collect_a_blank_return_is_refused_and_its_region_known(tmp_path):
    path = write(tmp_path, form("朝阳区"), "朝阳区.xlsx")
    outcome = collect([path], CONTENT)
    assert outcome.rejected == {str(path): [Problem(str(path), None, "工作簿中没有填写任何等次")]}
    assert outcome.rejected_region == {str(path): "朝阳区"}
    assert outcome.accepted == {} and outcome.results.by_region == {}


# --- the results CSV collect writes ----------------------------------------------------------


def test_results_csv_in_table_order_escaped():
    results = Results("（汇总）", "XLSX", {
        "九台区": {"1.2": TaskResult(S, None, "", ""), "1.1": TaskResult(None, E, "=1+1", "")},
        "长春市": {},
        "朝阳区": {"19.2": TaskResult(F, F, "'引号", ""), "2.1": TaskResult(E, S, "普通, \"备注\"", ""),
                   "1.1": TaskResult(E, E, "不适用，不写", "")},
    })
    assert results_csv(results, CONTENT) == (
        "\ufeff地区,编号,等次,自评等次,备注\r\n"
        "朝阳区,2.1,优秀,达标,\"普通, \"\"备注\"\"\"\r\n"
        "朝阳区,19.2,未达标,未达标,''引号\r\n"
        "九台区,1.1,,优秀,'=1+1\r\n"
        "九台区,1.2,达标,,\r\n").encode("utf-8")
    assert results_csv(Results("x", "XLSX"), CONTENT) == "\ufeff地区,编号,等次,自评等次,备注\r\n".encode("utf-8")


def test_results_csv_reads_back_the_same(tmp_path):
    results = Results("（汇总）", "XLSX", {"朝阳区": {"2.1": TaskResult(E, S, "'引用第3号文件", "第 2 行"),
                                                     "2.2": TaskResult(S, None, "-3分", "第 3 行"),
                                                     "2.3": TaskResult(None, F, "''两个", "第 4 行")}})
    path = write(tmp_path, results_csv(results, CONTENT))
    assert load_results(path, CONTENT).by_region == results.by_region

