"""A region's return online, the department's review, deadlines and the audit log (issue #17),
through Flask's client with real accounts."""

from __future__ import annotations

import datetime as dt
import io
import re
import sqlite3
import zipfile
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from .test_classes import COUNTY, DISTRICT
from .test_web import CONTENT, blanks, filled, region_form, token  # noqa: F401  (fixture)
from .test_web_accounts import GOOD, Clock, add, make_app, sign_in


def pdf_bytes(text: str = "佐证") -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            + text.encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def office_bytes(kind: str, macro: bool = False) -> bytes:
    buffer = io.BytesIO()
    if kind == "docx":
        import docx
        d = docx.Document()
        d.add_paragraph("工作总结")
        d.save(buffer)
    else:
        from openpyxl import Workbook
        Workbook().save(buffer)
    if not macro:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("word/vbaProject.bin", b"\0" * 10)
    return out.getvalue()


def ofd_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>')
        z.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return out.getvalue()


@pytest.fixture
def year(tmp_path):
    """The department (管理员 and 考评) and two regions, every password changed."""
    app = make_app(tmp_path)
    clients = {
        "admin": sign_in(app, "管理员甲", add(app, "管理员甲", "管理员"), new=GOOD),
        "staff": sign_in(app, "张科长", add(app, "张科长", "考评"), new=GOOD),
        "A": sign_in(app, "九台区", add(app, "九台区", "地区"), new=GOOD),
        "B": sign_in(app, "朝阳区", add(app, "朝阳区", "地区"), new=GOOD),
    }
    return app, clients


def return_form(client, region="九台区") -> dict:
    html = client.get(f"/return/{region}").get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
            "based_on": re.search(r'name="based_on" value="(\d+)"', html).group(1)}


def save(client, region="九台区", action="draft", files=None, **fields):
    data = return_form(client, region) | {"action": action} | fields
    for key, items in (files or {}).items():
        data[key] = [(io.BytesIO(b), name) for name, b in items]
    return client.post(f"/return/{region}", data=data, content_type="multipart/form-data")


def snapshot(app) -> dict:
    """Everything a request could change (the audit log aside)."""
    with app.extensions["site"].store.connect() as db:
        return {t: [tuple(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
                for t in ("versions", "ratings", "current", "returns", "evidence", "final_reasons", "accounts",
                          "uploads", "deadlines")}


def status_on_board(client, region) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(rf'<tr data-region="{region}">.*?<span class="rstate ([^"]+)">', html, re.S).group(1)


# --- the region's page -----------------------------------------------------------------------------


def test_a_region_sees_its_own_tasks_with_criteria_and_saves_a_draft(year):
    app, c = year
    page = c["A"].get("/return/九台区").get_data(as_text=True)
    tasks = re.findall(r'<tr data-task="([\d.]+)">', page)
    assert tasks == COUNTY  # only those that apply to it
    task = CONTENT.tasks.task("1.1")
    assert task.excellent_lines[0] in page and task.standard_lines[0] in page
    assert status_on_board(c["staff"], "九台区") == "未开始"
    response = save(c["A"], **{"self:1.1": "优秀", "note:1.1": "已完成全部指标。"},
                    files={"evidence:1.1": [("工作总结.pdf", pdf_bytes())]})
    assert response.status_code == 302 and "saved=draft" in response.headers["Location"]
    page = c["A"].get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存草稿" in page and "工作总结.pdf" in page and "已完成全部指标。" in page
    rows = app.extensions["site"].store.rows("九台区")
    assert rows["1.1"]["self_rating"] == "优秀" and rows["1.1"]["remarks"] == "已完成全部指标。"
    assert status_on_board(c["staff"], "九台区") == "填报中"
    # the file: content-addressed under the data folder, private, sent only as a download
    [stored] = [p for p in (app.extensions["site"].data_dir / "evidence").rglob("*") if p.is_file()]
    assert stored.read_bytes() == pdf_bytes() and stored.stat().st_mode & 0o077 == 0
    assert stored.parent.name == stored.name[:2] and len(stored.name) == 64
    link = re.search(r'href="(/return/%E4[^"]*/evidence/\d+|/return/九台区/evidence/\d+)"', page).group(1)
    for who in ("A", "staff"):
        response = c[who].get(link)
        assert response.status_code == 200 and response.data == pdf_bytes()
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in response.headers["Content-Security-Policy"]
    events = list(sqlite3.connect(app.extensions["site"].store.path).execute(
        "SELECT event, object FROM audit WHERE region = '九台区'"))
    assert ("上传佐证材料", "1.1 工作总结.pdf") in events and ("保存自评", "1.1 自评等次") in events


def test_evidence_is_checked_by_content_with_caps(year):
    app, c = year
    accepted = {"a.pdf": pdf_bytes(), "b.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "c.jpg": b"\xff\xd8\xff\xe0" + b"\0" * 20,
                "d.docx": office_bytes("docx"), "e.xlsx": office_bytes("xlsx"), "f.ofd": ofd_bytes()}
    response = save(c["A"], files={"evidence:1.2": list(accepted.items())})
    assert response.status_code == 302
    kinds = [e["kind"] for e in app.extensions["site"].workflow.evidence("九台区")["1.2"]]
    assert kinds == ["pdf", "png", "jpg", "docx", "xlsx", "ofd"]
    refused = {"报告.pdf": b"<html><script>alert(1)</script></html>",  # named PDF, is HTML
               "图.png": b"MZ\x90\x00" + b"\0" * 50,  # a program named as a picture
               "宏.docx": office_bytes("docx", macro=True),
               "大.pdf": b"%PDF-1.4\n" + b"\0" * (20 * 1024 * 1024)}
    response = save(c["A"], files={"evidence:1.3": list(refused.items())})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for name in refused:
        assert name in page, name
    assert "按文件内容判断" in page
    assert "大.pdf：文件超过 20 兆字节，未接收；每个文件不超过此数" in page  # not a size it did not read
    assert "1.3" not in app.extensions["site"].workflow.evidence("九台区")
    # at most 10 per task
    save(c["A"], files={"evidence:1.4": [(f"{i}.pdf", pdf_bytes(str(i))) for i in range(10)]})
    response = save(c["A"], files={"evidence:1.4": [("11.pdf", pdf_bytes("11"))]})
    assert response.status_code == 400 and "已有 10 个佐证材料" in response.get_data(as_text=True)
    # removed from the return on request (and logged)
    first = app.extensions["site"].workflow.evidence("九台区")["1.2"][0]
    save(c["A"], **{f"remove:{first['id']}": "on"})
    assert len(app.extensions["site"].workflow.evidence("九台区")["1.2"]) == 5
    assert c["A"].get(f"/return/九台区/evidence/{first['id']}").status_code == 404


def test_submit_only_when_complete_then_locked(year):
    app, c = year
    response = save(c["A"], action="submit", **{"self:1.1": "优秀"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and f"尚有 {len(COUNTY) - 1} 项未填自评等次" in page
    assert "1.2 " + CONTENT.tasks.task("1.2").name in page
    assert app.extensions["site"].store.rows("九台区")["1.1"]["self_rating"] == "优秀"  # kept as a draft
    response = save(c["A"], action="submit", **{f"self:{t}": "达标" for t in COUNTY})
    assert response.status_code == 302 and "saved=submitted" in response.headers["Location"]
    assert status_on_board(c["staff"], "九台区") == "已提交"
    page = c["A"].get("/return/九台区").get_data(as_text=True)
    assert 'id="locked"' in page and "<select" not in page.split('id="return-form"')[1]
    before = snapshot(app)
    form = return_form(c["staff"])  # the region's page no longer offers a form token of its own
    response = c["A"].post("/return/九台区", data={**form, "csrf_token": token(c["A"], "/password"),
                                                  "self:1.1": "优秀", "action": "submit"})
    assert response.status_code == 409 and snapshot(app) == before


def test_the_filled_workbook_fills_the_same_form_and_only_for_its_own_region(year, blanks):  # noqa: F811
    app, c = year
    csrf = token(c["A"], "/return/九台区")
    # 朝阳区's form uploaded by 九台区: refused, nothing of 朝阳区 changes
    before = snapshot(app)
    response = c["A"].post("/return/九台区/xlsx", data={"csrf_token": csrf, "workbook": (
        io.BytesIO(filled(blanks, "朝阳区")), "朝阳区.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 400 and "这是朝阳区的考评表" in response.get_data(as_text=True)
    after = snapshot(app)
    assert after["versions"] == before["versions"] and after["current"] == before["current"]
    # its own form, with 考评等次 filled in by the region: self-ratings and remarks taken, finals not
    response = c["A"].post("/return/九台区/xlsx", data={"csrf_token": csrf, "workbook": (
        io.BytesIO(filled(blanks, "九台区", final="优秀", remarks="见附件")), "九台区.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    rows = app.extensions["site"].store.rows("九台区")
    assert all(rows[t]["self_rating"] == "优秀" and rows[t]["remarks"] == "见附件" for t in COUNTY)
    assert not any(r["final_rating"] for r in rows.values())
    page = c["A"].get(response.headers["Location"]).get_data(as_text=True)
    assert "已读入上传的考评表" in page and page.count('<option selected>优秀</option>') == len(COUNTY)
    assert save(c["A"], action="submit").status_code == 302


def test_send_back_with_a_reason_then_resubmit_then_rate_with_reasons(year):
    app, c = year
    save(c["A"], action="submit", **{f"self:{t}": "优秀" for t in COUNTY})
    # the department sends it back: a reason is required
    form = region_form(c["staff"], "九台区")
    assert c["staff"].post("/region/九台区/send-back", data={"csrf_token": form["csrf_token"],
                                                             "reason": "  "}).status_code == 400
    response = c["staff"].post("/region/九台区/send-back", data={"csrf_token": form["csrf_token"],
                                                                 "reason": "1.1 佐证材料缺少签章页"})
    assert response.status_code == 302
    page = c["A"].get("/return/九台区").get_data(as_text=True)
    assert 'id="sent-back"' in page and "1.1 佐证材料缺少签章页" in page and "<select" in page
    assert status_on_board(c["staff"], "九台区") == "已退回"
    save(c["A"], **{"self:1.1": "达标"}, files={"evidence:1.1": [("签章页.pdf", pdf_bytes("签章"))]})
    assert status_on_board(c["staff"], "九台区") == "已退回"  # until submitted again
    assert save(c["A"], action="submit").status_code == 302
    assert status_on_board(c["staff"], "九台区") == "已提交"
    # final ratings: one differs from the self-rating and needs a one-line reason
    form = region_form(c["staff"], "九台区")
    finals = {f"final:{t}": "优秀" for t in COUNTY} | {"final:1.1": "达标", "final:1.2": "达标"}
    response = c["staff"].post("/region/九台区/ratings", data=form | finals)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "1.2 " in page and "请写明理由" in page
    assert "1.1 " + CONTENT.tasks.task("1.1").name + "：考评等次" not in page  # 1.1 agrees with its self-rating
    response = c["staff"].post("/region/九台区/ratings", data=form | finals | {"reason:1.2": "台账不全，按达标计"})
    assert response.status_code == 302
    results = app.extensions["site"].store.results(CONTENT)
    assert results.by_region["九台区"]["1.2"].remarks.endswith("考评意见：台账不全，按达标计")
    assert "考评意见" not in results.by_region["九台区"]["1.3"].remarks
    # accepted: 已考评, and the region sees its final ratings
    form = region_form(c["staff"], "九台区")
    assert c["staff"].post("/region/九台区/accept", data={"csrf_token": form["csrf_token"]}).status_code == 302
    assert status_on_board(c["staff"], "九台区") == "已考评"
    assert "<th>考评等次</th>" in c["A"].get("/return/九台区").get_data(as_text=True)
    log = [tuple(r) for r in sqlite3.connect(app.extensions["site"].store.path).execute(
               "SELECT event, object, old, new, reason FROM audit WHERE region = '九台区' ORDER BY id")]
    assert ("退回修改", "", "已提交", "已退回", "1.1 佐证材料缺少签章页") in log
    assert ("修改考评等次", "1.2 考评等次", "", "达标", "台账不全，按达标计") in log
    assert ("保存自评", "1.1 自评等次", "优秀", "达标", "") in log
    assert [e[0] for e in log].count("提交自评") == 2 and log[-1][:4] == ("确认考评", "", "已提交", "已考评")


# --- deadlines ------------------------------------------------------------------------------------------


def test_deadlines_overdue_and_reopening(year):
    app, c = year
    workflow = app.extensions["site"].workflow
    form = {"csrf_token": token(c["admin"], "/accounts")}
    assert c["admin"].post("/deadlines", data=form | {"self_due": "2026-12-10", "review_due": "2026-12-01"}
                           ).status_code == 400  # review before self
    assert c["admin"].post("/deadlines", data=form | {"self_due": "2026-12-10", "review_due": "2026-12-20"}
                           ).status_code == 302
    workflow.today = lambda: dt.date(2026, 12, 3)
    for who, page in (("A", "/return/九台区"), ("staff", "/"), ("staff", "/region/九台区")):
        html = c[who].get(page).get_data(as_text=True)
        assert "自评截止：2026年12月10日（还有 7 天）" in html, (who, page)
    assert "考评截止：2026年12月20日" in c["staff"].get("/").get_data(as_text=True)
    assert "考评截止" not in c["A"].get("/return/九台区").get_data(as_text=True)
    save(c["A"], **{"self:1.1": "优秀"})
    workflow.today = lambda: dt.date(2026, 12, 11)
    html = c["staff"].get("/").get_data(as_text=True)
    assert "逾期未交 70" in html and "已过 1 天" in html
    before = snapshot(app)
    assert save(c["A"], **{"self:1.2": "优秀"}).status_code == 409
    assert "联系省民政厅重新开放" in c["A"].get("/return/九台区").get_data(as_text=True)
    assert snapshot(app) == before
    form = region_form(c["staff"], "九台区")
    response = c["staff"].post("/region/九台区/reopen", data={"csrf_token": form["csrf_token"], "reason": "系统故障补交"})
    assert response.status_code == 302
    assert save(c["A"], action="submit", **{f"self:{t}": "优秀" for t in COUNTY}).status_code == 302
    assert "逾期未交 69" in c["staff"].get("/").get_data(as_text=True)  # 九台区 submitted, the others not
    events = {r[0]: r[1:] for r in sqlite3.connect(app.extensions["site"].store.path).execute(
        "SELECT event, account, object, old, new, reason FROM audit WHERE event IN ('修改截止日期', '重新开放')")}
    assert events["重新开放"][0] == "张科长" and events["重新开放"][-1] == "系统故障补交"
    assert events["修改截止日期"][0] == "管理员甲"


# --- the audit log ---------------------------------------------------------------------------------------


def test_the_audit_log_is_append_only_viewable_and_exportable(year):
    app, c = year
    save(c["A"], **{"self:1.1": "优秀"})
    path = app.extensions["site"].store.path
    db = sqlite3.connect(path)
    count = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    assert count >= 9  # 4 sign-ins, 4 password changes, a save
    for statement in ("UPDATE audit SET account = '某人'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1",
                      "UPDATE audit SET reason = '' WHERE id = 1"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT OR REPLACE INTO audit (id, at, year, account, event) VALUES (1, 'x', 2016, 'x', 'x')")
    assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == count
    db.close()
    # no code path updates or deletes a row of it
    import pathlib
    source = "\n".join(p.read_text(encoding="utf-8") for p in pathlib.Path("pipeline").rglob("*.py"))
    assert not re.search(r"(UPDATE|DELETE FROM|REPLACE INTO)\s+audit\b", source.replace("ON audit", ""))
    html = c["staff"].get("/audit?region=九台区").get_data(as_text=True)
    assert "保存自评" in html and "九台区（地区）" in html and "127.0.0.1" in html and "（空） → 优秀" in html
    assert c["staff"].get("/audit?region=不存在").status_code == 404
    response = c["staff"].get("/audit.xlsx")
    ws = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in ws[2]] == ["时间", "账号", "角色", "地址", "事件", "地区", "对象", "原值", "新值", "原因", "结果"]
    assert ws.max_row - 2 >= count and "操作记录" in ws["A1"].value
    assert isinstance(ws["A3"].value, dt.datetime) and ws["A3"].number_format == "yyyy-mm-dd hh:mm:ss"
    response = c["admin"].get("/audit.xlsx?region=九台区")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=3, values_only=True))
    assert rows and all(r[5] == "九台区" for r in rows)


# --- who may do what ----------------------------------------------------------------------------------


def fill_every_param(rule, region: str, evidence_id: int) -> str:
    values = {"name": region, "evidence_id": str(evidence_id), "upload_id": "1", "batch_id": "1", "kind": "report",
              "fmt": "pdf"}
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}(?:\([^)]*\))?>", values.get(arg, "x"), path)
    return path


def test_every_route_as_every_role(year, blanks):  # noqa: F811
    """A region reaches only its own return; another region's page, evidence, history, downloads
    and POSTs are refused (403/404) with nothing changed; department pages refuse regions; the
    管理员 cannot rate; a signed-out client is sent to sign in."""
    app, c = year
    save(c["A"], **{"self:1.1": "优秀"}, files={"evidence:1.1": [("甲.pdf", pdf_bytes("甲"))]})
    save(c["B"], "朝阳区", **{"self:2.1": "优秀"}, files={"evidence:2.1": [("乙.pdf", pdf_bytes("乙"))]})
    own_b = app.extensions["site"].workflow.evidence("朝阳区")["2.1"][0]["id"]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    region_pages = {"return_page", "return_save", "return_xlsx", "evidence_file", "return_checklist"}
    anonymous = app.test_client()
    before = snapshot(app)
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            other = fill_every_param(rule, "朝阳区", own_b)
            send = (lambda cl, p: cl.get(p)) if method == "GET" else (
                lambda cl, p: cl.post(p, data={"csrf_token": token(cl, "/login"), "reason": "x", "name": "张科长",
                                               "role": "考评", "self_due": "2020-01-01", "version": "1",
                                               "based_on": "0", "self:2.1": "差", "final:2.1": "达标"}))
            if rule.endpoint in ("login", "logout", "password"):
                continue
            response = send(c["A"], other)
            if rule.endpoint == "board" and method == "GET":
                assert response.status_code == 302 and unquote(response.headers["Location"]) == "/return/九台区"
                continue
            assert response.status_code in (403, 404), (method, other, response.status_code)
            if "name" in rule.arguments and rule.endpoint in region_pages:
                assert "只能查看和填报本地区" in response.get_data(as_text=True)
            response = send(anonymous, other)
            assert response.status_code == 302 and "/login" in response.headers["Location"], (method, other)
            if method == "POST" and rule.endpoint not in ("accounts_add", "accounts_reset", "accounts_disable",
                                                          "accounts_codes", "deadlines_save", "password_days_save"):
                response = send(c["admin"], other)
                assert response.status_code == 403, (method, other, response.status_code)
    assert snapshot(app) == before
    # the department reaches region B's page, evidence and history
    for path in ("/region/朝阳区", f"/return/朝阳区/evidence/{own_b}", "/return/朝阳区", "/audit?region=朝阳区"):
        assert c["staff"].get(path).status_code == 200, path
    assert c["staff"].get(f"/return/九台区/evidence/{own_b}").status_code == 404  # B's file under A's name
    # region B sees nothing of A's
    page = c["B"].get("/return/朝阳区").get_data(as_text=True)
    assert "甲.pdf" not in page and "九台区" not in page.split("<main>")[1]


def test_the_departments_other_changes_and_exports_are_recorded(year, blanks):  # noqa: F811
    app, c = year
    staff = c["staff"]
    response = staff.post("/upload", data={"csrf_token": token(staff, "/upload"), "workbooks": [
        (io.BytesIO(filled(blanks, "朝阳区")), "朝阳区.xlsx")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert staff.get("/results.csv").status_code == 200
    assert staff.post("/generate", data={"csrf_token": token(staff, "/generate"), "draft": "1"}).status_code == 302
    thread = app.extensions["site"].generation_thread
    if thread is not None:
        thread.join(300)
    log = {r[0]: r[1:] for r in sqlite3.connect(app.extensions["site"].store.path).execute(
        "SELECT event, account, object FROM audit")}
    assert log["上传考评表"] == ("张科长", "朝阳区.xlsx")
    assert log["导出结果表"][0] == "张科长" and log["生成文档"] == ("张科长", "征求意见稿")


def test_refusals_sign_outs_and_every_download_are_recorded(year):
    """等保 安全审计: a refused page or form (another region's, a forged or stale form), a sign-out
    and any download (佐证材料 here) each leave an entry: who, what, from where, result."""
    app, c = year
    assert c["A"].get("/return/朝阳区").status_code == 403
    assert c["A"].post("/return/九台区", data={"csrf_token": "forged", "action": "draft"}).status_code == 400
    save(c["A"], files={"evidence:1.2": [("台账.pdf", pdf_bytes())]})
    evidence = app.extensions["site"].workflow.evidence("九台区")["1.2"][0]
    assert c["staff"].get(f"/return/九台区/evidence/{evidence['id']}").status_code == 200
    assert c["B"].post("/logout", data={"csrf_token": token(c["B"], "/password")}).status_code == 302
    rows = [tuple(r) for r in sqlite3.connect(app.extensions["site"].store.path).execute(
        "SELECT event, account, object, result, address FROM audit")]
    assert ("拒绝访问", "九台区", "GET /return/朝阳区", "拒绝", "127.0.0.1") in rows
    assert ("拒绝访问", "九台区", "POST /return/九台区", "拒绝", "127.0.0.1") in rows
    assert ("下载文件", "张科长", f"佐证材料-九台区-1.2-{evidence['id']}.pdf", "成功", "127.0.0.1") in rows
    assert ("退出登录", "朝阳区", "", "成功", "127.0.0.1") in rows
    # a form's own mistake is no refusal: not recorded as one
    before = sum(1 for r in rows if r[0] == "拒绝访问")
    blank_reason = {"csrf_token": token(c["staff"], "/"), "reason": "  "}
    assert c["staff"].post("/region/九台区/send-back", data=blank_reason).status_code == 400
    assert sum(1 for r in sqlite3.connect(app.extensions["site"].store.path).execute(
        "SELECT event FROM audit WHERE event = '拒绝访问'")) == before


# --- years -----------------------------------------------------------------------------------------------


def test_several_years_side_by_side(tmp_path):
    """A new year starts from its task table with nothing of the last year's; the last year's
    records stay as they were, and rows made before years were recorded are the first year's."""
    import dataclasses

    from pipeline.web.audit import entries
    from pipeline.web.store import MIGRATIONS, Store

    work = tmp_path / "work"
    # a store from before years were recorded, with a rating in it
    work.mkdir()
    db = sqlite3.connect(work / "pipeline.sqlite3", isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        for statement in [s for s in script.split(";") if s.strip()]:
            db.execute(statement)
        db.execute(f"PRAGMA user_version={number}")
    db.execute("INSERT INTO versions (region, source, created_at) VALUES ('朝阳区', 'edit', '2016-12-01T10:00:00')")
    db.execute("INSERT INTO ratings (version_id, task, self_rating) VALUES (1, '2.1', '优秀')")
    db.execute("INSERT INTO current (region, version_id) VALUES ('朝阳区', 1)")
    db.close()

    this = make_app(tmp_path)
    site = this.extensions["site"]
    assert site.store.rows("朝阳区")["2.1"]["self_rating"] == "优秀"  # adopted by 2016
    site.store.save_return("九台区", {"1.1": "优秀"}, {"1.1": "说明"}, CONTENT)
    site.workflow.set_status("九台区", "已提交")
    site.workflow.set_deadlines("2016-12-20", None)
    code = add(this, "九台区", "地区")
    client = sign_in(this, "九台区", code, new=GOOD)

    following = dataclasses.replace(CONTENT, tasks=CONTENT.tasks.model_copy(update={"year": 2017}))
    from pipeline.web import create_app
    later = create_app(following, work, clock=Clock())  # the same fake time as the first (no expiry)
    later_site = later.extensions["site"]
    assert later_site.store.rows("九台区") == {} and later_site.store.rows("朝阳区") == {}
    assert later_site.store.history("九台区") == [] and later_site.store.uploads() == []
    assert later_site.workflow.row("九台区") is None and later_site.workflow.deadlines()["self_due"] is None
    assert later_site.states(only="九台区")[0]["九台区"].status == "未交"
    later_site.store.save_return("九台区", {"1.1": "达标"}, {}, following)
    # the last year's records untouched, each year its own
    again = Store(work / "pipeline.sqlite3", 2016)
    assert again.rows("九台区")["1.1"]["self_rating"] == "优秀"
    assert Store(work / "pipeline.sqlite3", 2017).rows("九台区")["1.1"]["self_rating"] == "达标"
    assert again.years() == [2016, 2017]
    assert site.workflow.row("九台区")["status"] == "已提交"
    assert entries(again, 2016) and not entries(again, 2017)
    # accounts carry over: the region signs in to the new year with the same password
    sign_in(later, "九台区", GOOD)
    assert client.get("/return/九台区").status_code == 200
