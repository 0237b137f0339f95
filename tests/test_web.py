"""`pipeline serve`: every route with good and bad input, through Flask's test client."""

from __future__ import annotations

import csv
import io
import re
import threading
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.content import load_content
from pipeline.web import create_app
from pipeline.web.store import MIGRATIONS, Store

from .conftest import ROOT, Cli
from .test_classes import COUNTY, DISTRICT

CONTENT = load_content(need_rating_files=True)


@pytest.fixture(scope="module")
def blanks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blanks")
    Cli(ROOT)("checklist", "--region", "九台区", "--region", "朝阳区", "--format", "xlsx", "--out", out)
    return out / "考评表" / "地区"


def filled(blanks: Path, region: str, final: str | None = None, remarks: str | None = None,
           footer: bool = False, edit=None) -> bytes:
    """A region's return: self-ratings (and ``final``), and, with ``footer``, the fields under
    the table as its office fills them; ``edit``: anything else done to the sheet."""
    wb = load_workbook(blanks / f"{region}.xlsx")
    ws = wb.active
    header = [c.value for c in ws[4]]
    for row in ws.iter_rows(min_row=5):
        if row[header.index("编号")].value and re.fullmatch(r"\d+\.\d+", str(row[header.index("编号")].value)):
            row[header.index("自评等次")].value = "优秀"
            row[header.index("考评等次")].value = final
            if remarks:
                row[header.index("备注/\n佐证材料")].value = remarks
    if footer:
        f = next(r for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value == "填报单位（盖章）：")
        ws.cell(f, 3).value = f"{region}民政局"
        ws.cell(f, 6).value = "王晓红"
        ws.cell(f + 1, 3).value = "0431-82345678"
        ws.cell(f + 1, 6).value = "2016年12月20日"
    if edit:
        ws.protection.sheet = False
        edit(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def delete_task_row(task_id: str):
    """An edit that removes a task's row (the sheet unprotected, as a clerk might)."""
    def edit(ws):
        header = [c.value for c in ws[4]]
        column = header.index("编号") + 1
        ws.delete_rows(next(r for r in range(5, ws.max_row + 1) if str(ws.cell(r, column).value) == task_id))
    return edit


@pytest.fixture
def app(tmp_path):
    app = create_app(CONTENT, tmp_path / "work")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def token(client, page: str = "/upload") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True)).group(1)


def upload(client, *files: tuple[str, bytes], csrf: str | None = None):
    data = {"workbooks": [(io.BytesIO(b), name) for name, b in files]}
    if csrf is not False:
        data["csrf_token"] = csrf or token(client)
    return client.post("/upload", data=data, content_type="multipart/form-data", follow_redirects=True)


def region_form(client, region: str) -> dict:
    """The hidden fields of a region page's ratings form (its token and the version it shows)."""
    html = client.get(f"/region/{region}").get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
            "based_on": re.search(r'name="based_on" value="(\d+)"', html).group(1)}


def status_of(client, region: str) -> str:
    html = client.get("/").get_data(as_text=True)
    row = re.search(rf'<tr data-region="{region}">.*?<span class="status [^"]+">([^<]+)</span>', html, re.S)
    return row.group(1)


# --- the board and the year's table ------------------------------------------------------------------


def test_board_groups_regions_and_filters(client):
    html = client.get("/").get_data(as_text=True)
    assert "共 70 个地区" in html and "未交 70" in html
    assert "<h2>长春市</h2>" in html and "九台区" in html and "长白山管委会" in html
    assert "贯彻落实" not in html and "实施“脱贫攻坚最低生活保障支持计划”" in html  # the table
    only = client.get("/?level=区&status=未交").get_data(as_text=True)
    assert "朝阳区" in only and 'data-region="九台区"' not in only  # 九台区 is assessed as 县（市）


def test_every_response_carries_a_strict_policy(client):
    response = client.get("/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# --- uploads -----------------------------------------------------------------------------------------


def test_upload_self_ratings_then_final_ratings(client, blanks):
    response = upload(client, ("九台区.xlsx", filled(blanks, "九台区")), ("朝阳区.xlsx", filled(blanks, "朝阳区")))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("已接收") == 2
    assert status_of(client, "九台区") == "已自评" and status_of(client, "朝阳区") == "已自评"
    page = client.get("/region/九台区").get_data(as_text=True)
    assert f"自评 {len(COUNTY)}/{len(COUNTY)}，考评 0/{len(COUNTY)}" in page
    # the department enters its ratings on the region's page
    form = region_form(client, "九台区")
    form.update({f"final:{t}": "优秀" for t in COUNTY})
    form["final:6.2"] = "达标"
    response = client.post("/region/九台区/ratings", data=form)
    assert response.status_code == 302
    page = client.get("/region/九台区?saved=1").get_data(as_text=True)
    n = len(COUNTY)
    assert f"优秀 {n - 1} 项 / {n} 项 = {100 * (n - 1) / n:.1f}% ≥ 70%，无未达标 → 优秀" in page
    assert status_of(client, "九台区") == "已考评"
    # its letter, rendered on demand, is a PDF of that region
    letter = client.get("/region/九台区/letter/pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.data)).pages)
    assert "九台区" in text.replace(" ", "")
    # and as OFD, offered beside the PDF
    import ofdkit
    assert "/letter/ofd\"" in page and "/report/ofd\"" in page
    ofd = client.get("/region/九台区/letter/ofd")
    assert ofd.status_code == 200 and "九台区" in ofdkit.extract_text(ofd.data)
    # the history keeps both versions; the upload's can be made current again
    history = re.findall(r'name="version" value="(\d+)"', page)
    assert history
    response = client.post("/region/九台区/current", data={**region_form(client, "九台区"), "version": history[0]})
    assert response.status_code == 302 and status_of(client, "九台区") == "已自评"
    assert client.get("/region/九台区/letter/pdf").status_code == 404  # not assessed now


def test_invalid_final_rating_is_refused_with_its_task(client, blanks):
    upload(client, ("朝阳区.xlsx", filled(blanks, "朝阳区")))
    form = {**region_form(client, "朝阳区"), "final:2.1": "很好"}
    response = client.post("/region/朝阳区/ratings", data=form)
    assert response.status_code == 400
    assert "第 2.1 项“受灾群众得到及时有效救助”: 考评等次“很好”无效" in response.get_data(as_text=True)
    assert status_of(client, "朝阳区") == "已自评"


def test_bad_workbooks_are_kept_and_reported(client, blanks, app):
    response = upload(client, ("笔记.xlsx", b"not a workbook"))
    html = response.get_data(as_text=True)
    assert "未接收" in html and "这不是 XLSX 工作簿" in html
    # a zip bomb posing as a workbook
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/big.bin", b"\0" * (120 * 1024 * 1024))
    html = upload(client, ("炸弹.xlsx", bomb.getvalue())).get_data(as_text=True)
    assert "XLSX 解压后过大" in html
    # the criteria altered: the cell named
    wb = load_workbook(io.BytesIO(filled(blanks, "朝阳区")))
    wb.active["E5"] = "随便改的标准"
    buffer = io.BytesIO()
    wb.save(buffer)
    html = upload(client, ("朝阳区.xlsx", buffer.getvalue())).get_data(as_text=True)
    assert "朝阳区.xlsx 考评表 E5 单元格：第 2.1 项“受灾群众得到及时有效救助”的“优秀”已被改动" in html
    assert status_of(client, "朝阳区") == "有误"
    store = app.extensions["site"].store
    assert [u["accepted"] for u in store.uploads()] == [0, 0, 0]  # all three kept as received


def test_upload_limits(client, app, blanks):
    assert upload(client).status_code == 400
    many = [(f"{i}.xlsx", b"x") for i in range(101)]
    assert "一次最多上传 100 个工作簿" in upload(client, *many).get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    assert response.status_code == 413 and "太大" in response.get_data(as_text=True)


def test_user_text_is_escaped(client):
    html = upload(client, ("<img src=x onerror=alert(1)>.xlsx", b"x")).get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.xlsx" in html


def test_every_change_needs_the_form_token(client):
    for path, data in (("/upload", {}), ("/region/九台区/ratings", {"final:1.1": "优秀"}),
                       ("/region/九台区/current", {"version": "1"}), ("/generate", {}), ("/logout", {})):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "校验码" in response.get_data(as_text=True)
        response = client.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 400, path


@pytest.mark.parametrize("path", [
    "/region/..%2F..%2Fetc%2Fpasswd", "/region/../../etc/passwd", "/region/火星区",
    "/file?path=../../etc/passwd", "/file?path=/etc/passwd", "/file?path=manifest.json",
    "/checklist/..%2F..%2Fetc%2Fpasswd/pdf", "/checklist/九台区/exe", "/checklist/火星区/pdf",
    "/region/九台区/report/exe", "/region/九台区/../../x/pdf", "/upload/99999", "/summary.png",
])
def test_no_path_from_a_url_reaches_the_filesystem(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"root:" not in response.data


# --- the same results as collect ------------------------------------------------------------------


def test_export_equals_collect(client, blanks, tmp_path):
    a, b = filled(blanks, "九台区", final="达标", remarks="@SUM(1+1)"), filled(blanks, "朝阳区")
    (tmp_path / "九台区.xlsx").write_bytes(a)
    (tmp_path / "朝阳区.xlsx").write_bytes(b)
    upload(client, ("九台区.xlsx", a), ("朝阳区.xlsx", b))
    Cli(ROOT)("collect", tmp_path / "九台区.xlsx", tmp_path / "朝阳区.xlsx", "--to", tmp_path / "r.csv")
    exported = client.get("/results.csv")
    assert exported.data == (tmp_path / "r.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert len(rows) == len(COUNTY) + len(DISTRICT)


# --- history under concurrent uploads -----------------------------------------------------------------


def test_concurrent_uploads_leave_a_consistent_history(app, blanks):
    store = app.extensions["site"].store
    data = [filled(blanks, "九台区", final=f) for f in ("优秀", "达标", None, "未达标", "优秀", "达标")]
    errors = []

    def send(payload):
        try:
            store.add_upload("九台区.xlsx", payload, CONTENT)
        except Exception as exc:  # noqa: BLE001 - the test reports any
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(d,)) for d in data]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    history = store.history("九台区")
    assert len(history) == len(data) == len(store.uploads("九台区"))
    assert sum(v["current"] for v in history) == 1
    assert len(store.rows("九台区")) == len(COUNTY)  # the current version whole
    # returns whose final ratings differ from those in force wait for the clerk (one at a time)
    assert sum(v["waiting"] for v in history) <= 1
    newest = max(v["id"] for v in history)
    assert any(v["id"] == newest and (v["current"] or v["waiting"]) for v in history)


def test_schema_version_and_reopening(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    store.add_upload("x.xlsx", b"x", CONTENT)
    again = Store(tmp_path / "db.sqlite3")  # migrations are not run twice; nothing is lost
    assert again.schema_version == len(MIGRATIONS) and len(again.uploads()) == 1


# --- generation -------------------------------------------------------------------------------------


def test_generate_and_download_everything(client, app, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="达标")))
    site = app.extensions["site"]
    site.content = CONTENT
    response = client.post("/generate", data={"csrf_token": token(client, "/generate")})
    assert response.status_code == 302
    site.generation_thread.join(timeout=600)
    page = client.get("/generate").get_data(as_text=True)
    assert "生成完毕" in page and "考评结果不全，未生成全省通报" in page
    state = site.generation
    # progress counts files, not jobs: every file of this build was counted once
    assert state.total == state.rendered == state.done and state.total > len(CONTENT.regions.regions) * 2
    manifest = site.manifest()
    assert "等次函/九台区.pdf" in manifest and not any(p.startswith("通报/") for p in manifest)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/all.zip").data))
    assert sorted(archive.namelist()) == sorted(manifest)
    one = client.get("/file?path=等次函/九台区.pdf")
    assert one.status_code == 200 and one.data.startswith(b"%PDF")


# --- login --------------------------------------------------------------------------------------------


def test_password_protects_every_page(tmp_path, blanks):
    app = create_app(CONTENT, tmp_path / "work", password="春风")
    client = app.test_client()
    for path in ("/", "/upload", "/region/九台区", "/file?path=x", "/results.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    csrf = token(client, "/login")
    assert client.post("/login", data={"csrf_token": csrf, "password": "秋雨"}).status_code == 401
    assert client.post("/login", data={"csrf_token": csrf, "password": "春风"}).status_code == 302
    assert client.get("/").status_code == 200


def test_serve_refuses_to_listen_beyond_this_machine_without_a_password(tmp_path):
    # without accounts (#17): a shared password no longer opens the page to other computers
    result = Cli(ROOT)("serve", "--host", "192.0.2.1", "--data", tmp_path / "w", expect=2)
    assert "pipeline users add" in result.stderr
    empty = tmp_path / "pw.txt"
    empty.write_text("\n", encoding="utf-8")
    result = Cli(ROOT)("serve", "--host", "0.0.0.0", "--password-file", empty, "--data", tmp_path / "w", expect=2)
    assert "没有密码" in result.stderr


def store_results(store, results) -> None:
    """Results put in the store as if entered on the pages (a version per region)."""
    with store.connect() as db:
        for region, rated in results.by_region.items():
            store._new_version(db, region, "edit", None, rated)


def test_summary_first_page_shown_as_a_picture(client, app):
    from pipeline.cli import load_for_results
    from pipeline.jobs import summary_job

    site = app.extensions["site"]
    content, results = load_for_results(None, None, None)  # the complete sample results
    site.render([summary_job(content, results)])
    assert client.get("/summary.png").status_code == 404  # not from the results on the page
    stored = site.store.results(CONTENT)
    assert not stored.by_region
    store_results(site.store, results)
    site.render([summary_job(CONTENT, site.store.results(CONTENT))])
    picture = client.get("/summary.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    assert 'src="/summary.png"' in client.get("/generate").get_data(as_text=True)
