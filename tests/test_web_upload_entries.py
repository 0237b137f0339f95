"""A workbook uploaded over what a region's return already holds (the region's own upload and the
department's): a blank cell clears nothing, a different value is named with its old one, the
region's download carries its entries; and an upload's message never contradicts itself."""

from __future__ import annotations

import io
import re
import sqlite3

from openpyxl import load_workbook

from .test_browser import resaved_by_libreoffice
from .test_classes import COUNTY
from .test_web import CONTENT, blanks, token, upload  # noqa: F401  (fixture)
from .test_web_return import pdf_bytes, return_form, save, year  # noqa: F401  (fixture)

ONLINE = "低保标准已按两线合一执行（在线填写）"
MEDICAL = "已补充佐证材料：医疗救助台账。"
FIRST = COUNTY[:3]  # 1.1, 1.2, 1.3


def label(task: str) -> str:
    return f"{task} {CONTENT.tasks.task(task).name}"


def fill(data: bytes, values: dict[str, tuple]) -> bytes:
    """The workbook as a region's office fills it: task id → (自评等次, 考评等次, 备注), None
    leaving a cell as it is and "" clearing it."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    header = [c.value for c in ws[4]]
    columns = [header.index(h) for h in ("自评等次", "考评等次", "备注/\n佐证材料")]
    for row in ws.iter_rows(min_row=5):
        task = str(row[header.index("编号")].value)
        for column, value in zip(columns, values.get(task, ())):
            if value is not None:
                row[column].value = value or None
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rows_of(data: bytes) -> dict[str, tuple]:
    """task id → (自评等次, 考评等次, 备注) as the workbook holds them."""
    ws = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[4]]
    out = {}
    for row in ws.iter_rows(min_row=5, values_only=True):
        task = row[header.index("编号")]
        if task and re.fullmatch(r"\d+\.\d+", str(task)):
            out[str(task)] = tuple(row[header.index(h)] for h in ("自评等次", "考评等次", "备注/\n佐证材料"))
    return out


def post_workbook(client, data: bytes, name: str = "九台区.xlsx"):
    return client.post("/return/九台区/xlsx", data={"csrf_token": token(client, "/return/九台区"),
                                                    "workbook": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# --- 1. the region's own upload -------------------------------------------------------------------------


def test_a_blank_cell_keeps_what_the_region_entered_online(year, blanks, tmp_path):  # noqa: F811
    app, c = year
    store = app.extensions["site"].store
    assert save(c["A"], **{"self:1.1": "优秀", "note:1.1": ONLINE, "self:1.2": "达标", "self:1.3": "优秀",
                           "note:1.3": MEDICAL}).status_code == 302
    # an older download (blank), the other rows filled, 1.2 given another rating, re-saved by LibreOffice
    rest = {t: ("达标", None, None) for t in COUNTY[3:]} | {"1.2": ("优秀", None, None), "2.1": ("优秀", None, "见附件一")}
    workbook = resaved_by_libreoffice(fill((blanks / "九台区.xlsx").read_bytes(), rest), tmp_path)
    response = post_workbook(c["A"], workbook)
    assert response.status_code == 302
    rows = store.rows("九台区")
    assert (rows["1.1"]["self_rating"], rows["1.1"]["remarks"]) == ("优秀", ONLINE)  # kept
    assert (rows["1.3"]["self_rating"], rows["1.3"]["remarks"]) == ("优秀", MEDICAL)
    assert rows["1.2"]["self_rating"] == "优秀" and rows["2.1"]["remarks"] == "见附件一"  # the workbook's
    assert all(rows[t]["self_rating"] for t in COUNTY)

    page = c["A"].get(response.headers["Location"]).get_data(as_text=True)
    assert f"已自评 {len(COUNTY)} 项" in page
    kept = re.search(r'<ul id="upload-kept">(.*?)</ul>', page, re.S).group(1)
    lines = [text(li) for li in re.findall(r"<li>(.*?)</li>", kept, re.S)]
    assert lines == [
        f"考评表中空着、保留了此前已填写的自评等次 2 项：{label('1.1')}（优秀）；{label('1.3')}（优秀）",
        f"考评表中空着、保留了此前已填写的说明 2 项：{label('1.1')}（“{ONLINE}”）；{label('1.3')}（“{MEDICAL}”）",
        f"按考评表改动了此前已填写的自评等次 1 项：{label('1.2')}（原为“达标”，现为“优秀”）",
    ]
    assert "空着的格不会清除本页已填写的内容" in page  # the rule, said beside the upload
    log = [tuple(r) for r in sqlite3.connect(store.path).execute(
        "SELECT event, object, old, new FROM audit WHERE region = '九台区' AND event = '上传考评表' ORDER BY id")]
    assert ("上传考评表", "1.2 自评等次", "达标", "优秀") in log
    # the message belongs to that upload and that region only
    assert 'id="upload-kept"' not in c["A"].get("/return/九台区?saved=xlsx&upload=999").get_data(as_text=True)


def test_the_regions_download_carries_its_entries_and_comes_back_unchanged(year, blanks, tmp_path):  # noqa: F811
    app, c = year
    # nothing entered yet: the form exactly as `pipeline checklist` writes it
    empty = c["A"].get("/return/九台区/考评表.xlsx")
    assert empty.status_code == 200
    assert rows_of(empty.data) == rows_of((blanks / "九台区.xlsx").read_bytes())
    assert not any(any(v) for v in rows_of(empty.data).values())
    save(c["A"], **{"self:1.1": "优秀", "note:1.1": ONLINE, "self:1.2": "达标", "note:1.3": "=1+1 写作公式的样子"})
    response = c["A"].get("/return/九台区/考评表.xlsx")
    assert response.status_code == 200 and "filename*=UTF-8''" in response.headers["Content-Disposition"]
    got = rows_of(response.data)
    assert got["1.1"] == ("优秀", None, ONLINE) and got["1.2"] == ("达标", None, None)
    assert got["1.3"] == (None, None, "=1+1 写作公式的样子")  # text, not a formula
    assert not any(any(v) for t, v in got.items() if t not in FIRST)
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.protection.sheet and ws["F2"].value == "九台区"  # still the protected form
    # filled offline (the rest), re-saved by LibreOffice, uploaded: the page and the workbook agree
    workbook = resaved_by_libreoffice(fill(response.data, {t: ("达标", None, None) for t in COUNTY[2:]}), tmp_path)
    answer = post_workbook(c["A"], workbook)
    assert answer.status_code == 302
    page = c["A"].get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="upload-kept"' not in page  # nothing kept or changed: nothing to list
    rows = app.extensions["site"].store.rows("九台区")
    assert (rows["1.1"]["self_rating"], rows["1.1"]["remarks"]) == ("优秀", ONLINE)
    assert rows["1.3"]["remarks"] == "=1+1 写作公式的样子" and rows["1.3"]["self_rating"] == "达标"
    assert f"已自评 {len(COUNTY)} 项" in page


# --- 2. the department's upload ------------------------------------------------------------------------


def test_the_departments_upload_keeps_the_regions_notes_and_names_changes(year, blanks, tmp_path):  # noqa: F811
    app, c = year
    store = app.extensions["site"].store
    selfs = {f"self:{t}": "优秀" for t in COUNTY}
    assert save(c["A"], action="submit", **selfs, **{"note:1.1": ONLINE, "note:1.3": MEDICAL}).status_code == 302
    # an older workbook of 九台区: every self-rating, final ratings, no notes but one on 2.1; 1.2 self 达标
    older = fill((blanks / "九台区.xlsx").read_bytes(),
                 {t: ("优秀", "优秀", None) for t in COUNTY} | {"1.2": ("达标", "达标", None),
                                                              "2.1": ("优秀", "优秀", "旧的说明")})
    html = upload(c["staff"], ("九台区-旧.xlsx", resaved_by_libreoffice(older, tmp_path))).get_data(as_text=True)
    assert "接收 1 个" in html
    notes = [text(li) for li in re.findall(r'<li class="note">(.*?)</li>', html, re.S)]
    assert notes == [
        f"考评表中空着、保留了此前已填写的说明 2 项：{label('1.1')}（“{ONLINE}”）；{label('1.3')}（“{MEDICAL}”）",
        f"按考评表改动了此前已填写的自评等次 1 项：{label('1.2')}（原为“优秀”，现为“达标”）",
    ]
    rows = store.rows("九台区")
    assert rows["1.1"]["remarks"] == ONLINE and rows["1.3"]["remarks"] == MEDICAL
    assert rows["2.1"]["remarks"] == "旧的说明" and rows["1.2"]["self_rating"] == "达标"
    results = store.results(CONTENT).by_region["九台区"]  # what the 考评报告 is made from
    assert results["1.1"].remarks == ONLINE and results["1.3"].remarks == MEDICAL

    # a workbook with only some rows and another note: what is kept is named, finals kept too
    partial = fill((blanks / "九台区.xlsx").read_bytes(), {"1.1": ("优秀", None, "改写后的说明")})
    (tmp_path / "b").mkdir()
    html = upload(c["staff"], ("九台区.xlsx", resaved_by_libreoffice(partial, tmp_path / "b"))).get_data(as_text=True)
    notes = [text(li) for li in re.findall(r'<li class="note">(.*?)</li>', html, re.S)]
    assert notes[0] == (f"考评表中空着、保留了此前已填写的自评等次 {len(COUNTY) - 1} 项："  # many: by 编号
                        + "、".join(f"{t}（{'达标' if t == '1.2' else '优秀'}）" for t in COUNTY[1:]))
    assert notes[1] == (f"考评表中空着、保留了此前已填写的说明 2 项：{label('1.3')}（“{MEDICAL}”）；"
                        f"{label('2.1')}（“旧的说明”）")
    assert notes[2] == f"按考评表改动了此前已填写的说明 1 项：{label('1.1')}（原为“{ONLINE}”，现为“改写后的说明”）"
    assert notes[3] == f"保留了此前已填写的考评等次 {len(COUNTY)} 项（考评表中未填）"
    rows = store.rows("九台区")
    assert all(rows[t]["self_rating"] and rows[t]["final_rating"] for t in COUNTY)
    region_page = c["staff"].get("/region/九台区").get_data(as_text=True)
    assert "保留了此前已填写的说明 2 项" in region_page  # the version history says it too


def test_differing_finals_wait_for_the_clerk_and_the_kept_notes_are_named(year, blanks):  # noqa: F811
    app, c = year
    save(c["A"], action="submit", **{f"self:{t}": "优秀" for t in COUNTY}, **{"note:1.3": MEDICAL})
    first = fill((blanks / "九台区.xlsx").read_bytes(), {t: (None, "优秀", None) for t in COUNTY})
    upload(c["staff"], ("九台区.xlsx", first))
    second = fill((blanks / "九台区.xlsx").read_bytes(), {t: (None, "优秀", None) for t in COUNTY} | {"1.1": (None, "达标", None)})
    html = upload(c["staff"], ("九台区.xlsx", second)).get_data(as_text=True)
    assert '<li class="warning">考评表中有 1 项考评等次与已填写的不同' in html
    assert f"保留了此前已填写的说明 1 项：{label('1.3')}（“{MEDICAL}”）" in text(html)
    assert "考评等次 " + str(len(COUNTY) - 1) + " 项（考评表中未填）" not in html
    assert app.extensions["site"].store.rows("九台区")["1.1"]["final_rating"] == "优秀"  # until chosen


# --- 3. one message, never contradicting itself -------------------------------------------------------


def bad_rating(ws):
    header = [c.value for c in ws[4]]
    ws.cell(5, header.index("自评等次") + 1).value = "很好"


def test_a_refused_workbook_never_says_it_was_taken_in(year, blanks, tmp_path):  # noqa: F811
    _, c = year
    wrong = resaved_by_libreoffice(fill((blanks / "九台区.xlsx").read_bytes(),
                                        {t: ("优秀", None, None) for t in COUNTY} | {"1.1": ("很好", None, None)}),
                                   tmp_path)
    html = upload(c["staff"], ("长春市.xlsx", wrong)).get_data(as_text=True)
    assert "未接收" in html and "接收 0 个" in html
    assert "已作为" not in html and "接收，" not in html
    assert "文件名写的是长春市，表内填写的地区是九台区；请核对是否交错了文件" in html
    assert "自评等次“很好”无效" in html

    # two returns of 九台区 in one upload, one under another region's name: neither taken in
    good = fill((blanks / "九台区.xlsx").read_bytes(), {t: ("优秀", None, None) for t in COUNTY})
    html = upload(c["staff"], ("长春市.xlsx", good), ("九台区.xlsx", good)).get_data(as_text=True)
    assert "接收 0 个" in html and "已作为" not in html and "请核对是否交错了文件" in html

    # accepted under another region's name: said so, once
    html = upload(c["staff"], ("长春市.xlsx", good)).get_data(as_text=True)
    assert html.count("已作为九台区的考评表接收，请核对是否交错了文件") == 1

    # a PDF: the one problem said once, by the file's name
    html = upload(c["staff"], ("ev.pdf", pdf_bytes())).get_data(as_text=True)
    problems = [text(p) for p in re.findall(r'<li class="problem">(.*?)</li>', html, re.S)]
    assert problems == ["文件“ev.pdf”不是 .xlsx 工作簿，只接收用本系统考评表填写后保存的 .xlsx 文件"]
    assert "XLSX 工作簿（不是 zip 格式）" not in html


def test_the_region_is_told_once_too(year, blanks):  # noqa: F811
    _, c = year
    response = post_workbook(c["A"], pdf_bytes(), "ev.pdf")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count("不是 .xlsx 工作簿") == 1 and "不是 zip 格式" not in html
    other = fill((blanks / "朝阳区.xlsx").read_bytes(), {t: ("优秀", None, None) for t in COUNTY})
    html = post_workbook(c["A"], other, "九台区.xlsx").get_data(as_text=True)
    assert "这是朝阳区的考评表" in html and "已作为" not in html


def test_the_readers_wording_for_a_misnamed_return(blanks):  # noqa: F811
    from pipeline.returns import read_return

    good = fill((blanks / "九台区.xlsx").read_bytes(), {t: ("优秀", None, None) for t in COUNTY})
    found = read_return(None, CONTENT, data=good, name="长春市.xlsx")
    assert found.accepted and [str(w) for w in found.warnings] == [
        "长春市.xlsx 考评表 F2 单元格：文件名写的是长春市，表内填写的地区是九台区；已作为九台区的考评表接收，请核对是否交错了文件"]
    bad = fill(good, {"1.1": ("很好", None, None)})
    found = read_return(None, CONTENT, data=bad, name="长春市.xlsx")
    assert not found.accepted and "已作为" not in " ".join(str(w) for w in found.warnings)
