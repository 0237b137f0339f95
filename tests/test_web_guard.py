"""`pipeline serve` against a hostile network and an unlucky clerk (issue #21): sessions that end,
sign-in throttling, redirects, Host/Origin, the request cap on headers, no lost updates, redirect
after POST, ids out of range, file names and types, uploads for no known region."""

from __future__ import annotations

import io
import re
import socket
import threading
import zipfile

import pytest
from openpyxl import load_workbook

from pipeline.web import MAX_UPLOAD_BYTES, create_app, make_server, run_until_closed
from pipeline.web.guard import IDLE_SECONDS, MAX_DELAY, safe_target

from .test_web import CONTENT, app, blanks, client, filled, region_form, token, upload  # noqa: F401  (fixtures)


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def signed_in(tmp_path, password="春风", clock=None, **options):
    app = create_app(CONTENT, tmp_path / "work", password=password, clock=clock or Clock(), **options)
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "password": password})
    assert response.status_code == 302
    return app, client


def session_cookie(client) -> str:
    return client.get_cookie("session").value


# --- sessions ---------------------------------------------------------------------------------------


def test_a_cookie_saved_before_logout_is_worthless_after(tmp_path):
    app, client = signed_in(tmp_path)
    stolen = session_cookie(client)
    assert client.get("/results.csv").status_code == 200
    response = client.post("/logout", data={"csrf_token": token(client, "/")})
    assert response.status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    for path in ("/results.csv", "/generate", "/"):
        response = thief.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert thief.post("/generate", data={"csrf_token": "x"}).status_code == 302  # to the sign-in page
    assert not app.extensions["site"].generation.running


def test_restart_with_a_new_password_ends_every_session(tmp_path):
    clock = Clock()
    app, client = signed_in(tmp_path, clock=clock)
    cookie = session_cookie(client)
    same = create_app(CONTENT, tmp_path / "work", password="春风", clock=clock).test_client()  # restart, same password
    same.set_cookie("session", cookie)
    assert same.get("/").status_code == 200
    other = create_app(CONTENT, tmp_path / "work", password="夏雨", clock=clock).test_client()  # a new password file
    other.set_cookie("session", cookie)
    response = other.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_idle_session_ends_by_itself(tmp_path):
    clock = Clock()
    _, client = signed_in(tmp_path, clock=clock)
    clock.now += IDLE_SECONDS - 60
    assert client.get("/").status_code == 200  # in use: kept alive
    clock.now += IDLE_SECONDS + 1
    assert client.get("/").status_code == 302


def test_cookie_flags_and_a_new_session_at_sign_in(tmp_path):
    app = create_app(CONTENT, tmp_path / "work", password="春风", public_url="https://kaoping.example.gov.cn")
    client = app.test_client()
    page = client.get("/login", base_url="https://kaoping.example.gov.cn")
    header = page.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" in header
    before = client.get_cookie("session", domain="kaoping.example.gov.cn").value
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": csrf, "password": "春风"},
                           base_url="https://kaoping.example.gov.cn",
                           headers={"Origin": "https://kaoping.example.gov.cn"})
    assert response.status_code == 302
    after = client.get_cookie("session", domain="kaoping.example.gov.cn").value
    assert after != before  # no session fixation
    # only a hash of the token is in the database
    with app.extensions["site"].store.connect() as db:
        stored = [r[0] for r in db.execute("SELECT token_hash FROM sessions")]
    assert after not in stored and len(stored) == 1
    plain = create_app(CONTENT, tmp_path / "w2").test_client().get("/upload").headers["Set-Cookie"]
    assert "Secure" not in plain and "HttpOnly" in plain and "SameSite=Strict" in plain


# --- sign-in throttling -----------------------------------------------------------------------------


def test_fifty_wrong_passwords_meet_a_doubling_delay(tmp_path):
    clock = Clock()
    app = create_app(CONTENT, tmp_path / "work", password="春风", clock=clock)
    client = app.test_client()
    csrf = token(client, "/login")
    waits, heard = [], 0
    for _ in range(50):
        response = client.post("/login", data={"csrf_token": csrf, "password": "秋雨"})
        if response.status_code == 429:  # not even looked at; wait as told, then try again
            seconds = int(re.search(r"请在 (\d+) (秒|分钟)", response.get_data(as_text=True)).group(1))
            waits.append(app.extensions["throttle"].wait(["账号 管理员"]))
            clock.now += waits[-1]
            response = client.post("/login", data={"csrf_token": csrf, "password": "秋雨"})
        assert response.status_code == 401
        heard += 1
    assert heard == 50
    assert waits[:5] == [1, 2, 4, 8, 16] and max(waits) == MAX_DELAY and waits[-1] == MAX_DELAY
    assert sum(waits) > 3 * 3600  # 50 guesses cost hours, not half a second
    # the right password is refused while a delay runs, then accepted, and the count starts over
    response = client.post("/login", data={"csrf_token": csrf, "password": "春风"})
    assert response.status_code == 429 and "分钟后再试" in response.get_data(as_text=True)
    clock.now += MAX_DELAY
    assert client.post("/login", data={"csrf_token": csrf, "password": "春风"}).status_code == 302
    assert app.extensions["throttle"].wait(["账号 管理员", "地址 127.0.0.1"]) == 0


def test_another_address_meets_the_accounts_delay_too(tmp_path):
    clock = Clock()
    app = create_app(CONTENT, tmp_path / "work", password="春风", clock=clock)
    client = app.test_client()
    csrf = token(client, "/login")
    for i in range(5):
        client.post("/login", data={"csrf_token": csrf, "password": "错"},
                    environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
    other = client.post("/login", data={"csrf_token": csrf, "password": "春风"},
                        environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert other.status_code == 429


# --- redirects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "//evil.example", "/\\evil.example", "http://evil.example/", "https:evil",
    "/\r\nSet-Cookie: x=1", "/%0d%0aSet-Cookie:x", "/region/九台区\n", "javascript:alert(1)", "/no-such-page",
    "", None, " /", "/\u2028/evil",
])
def test_only_own_pages_are_redirect_targets(tmp_path, target):
    app = create_app(CONTENT, tmp_path / "w")
    assert safe_target(target, app.url_map) == "/"


def test_sign_in_returns_to_the_page_asked_for_with_its_query(tmp_path):
    app = create_app(CONTENT, tmp_path / "work", password="春风")
    client = app.test_client()
    response = client.get("/?level=区&status=未交")
    assert response.status_code == 302
    login = response.headers["Location"]
    csrf = token(client, "/login")
    response = client.post(login, data={"csrf_token": csrf, "password": "春风"})
    assert response.headers["Location"] == "/?level=%E5%8C%BA&status=%E6%9C%AA%E4%BA%A4"
    for evil in ("/%09/evil.example", "//evil.example", "/%0d%0aSet-Cookie:%20x=1", "%2F%09%2Fevil.example"):
        client = app.test_client()
        csrf = token(client, "/login")
        response = client.post(f"/login?next={evil}", data={"csrf_token": csrf, "password": "春风"})
        assert response.status_code == 302 and response.headers["Location"] == "/", evil


# --- Host, Origin, Referer ---------------------------------------------------------------------------


def test_host_must_be_this_site(tmp_path):
    app = create_app(CONTENT, tmp_path / "w", host="127.0.0.1", port=8000)
    client = app.test_client()
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    for host in ("evil.example", "evil.example:8000", "127.0.0.1:9999"):
        response = client.get("/", headers={"Host": host})
        assert response.status_code == 400 and "主机名" in response.get_data(as_text=True), host
    public = create_app(CONTENT, tmp_path / "w", host="0.0.0.0", port=8000,
                        public_url="https://kaoping.example.gov.cn").test_client()
    assert public.get("/", headers={"Host": "kaoping.example.gov.cn"}).status_code == 200
    assert public.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_every_post_needs_its_origin_besides_the_token(client):
    csrf = token(client, "/generate")
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": None, "Referer": "http://evil.example/generate"}):
        response = client.post("/generate", data={"csrf_token": csrf},
                               headers={k: v for k, v in headers.items() if v is not None}
                               | ({"Origin": ""} if headers.get("Origin") is None else {}))
        assert response.status_code == 403 and "不是从本系统的页面发出" in response.get_data(as_text=True)
    # no Origin but a Referer of this site: a browser that sent no Origin
    response = client.post("/logout", data={"csrf_token": csrf},
                           headers={"Origin": "", "Referer": "http://localhost/generate"})
    assert response.status_code == 302


def test_serve_needs_a_public_url_when_listening_everywhere(tmp_path):
    from .conftest import ROOT, Cli

    pw = tmp_path / "pw.txt"
    pw.write_text("春风\n", encoding="utf-8")
    result = Cli(ROOT)("serve", "--host", "0.0.0.0", "--password-file", pw, "--data", tmp_path / "w", expect=2)
    assert "--public-url" in result.stderr
    result = Cli(ROOT)("serve", "--public-url", "ftp://x", "--data", tmp_path / "w", expect=2)
    assert "--public-url" in result.stderr


# --- the real server: the cap on the headers -------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    app = create_app(CONTENT, tmp_path / "work")
    server = make_server(app, "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=run_until_closed, args=(server,), daemon=True)
    thread.start()
    yield server.effective_port
    server.close()


def test_an_oversized_request_is_refused_on_its_headers(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                     b"Content-Length: %d\r\n\r\n" % (1000 * 1024 * 1024))
        answer = sock.recv(4096)  # answered without a byte of the body sent
    assert answer.startswith(b"HTTP/1.1 413")
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % (MAX_UPLOAD_BYTES + 1))
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_the_real_server_checks_host_and_origin(server):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    connection.request("GET", "/", headers={"Host": "evil.example"})
    assert connection.getresponse().status == 400
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    connection.request("POST", "/generate", body="csrf_token=x",
                       headers={"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"})
    assert connection.getresponse().status == 403


# --- no lost updates -----------------------------------------------------------------------------------


def test_a_stale_page_does_not_overwrite_newer_ratings(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    stale = region_form(client, "九台区")  # a tab opened now...
    upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="达标")))  # ...another tab uploads
    response = client.post("/region/九台区/ratings", data={**stale, "final:1.1": "优秀"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "已有新版本" in html and "已保存" not in html
    assert re.search(r"<td>1\.1</td><td>[^<]+</td><td>考评等次</td><td>（空）</td><td>达标</td>", html)
    assert client.get("/results.csv").data.decode("utf-8-sig").count(",达标,优秀,") > 10  # newer kept
    # the clerk chooses: the form now carries the newer version and the clerk's entry
    assert 'value="优秀" selected' in html or "<option selected>优秀</option>" in html
    fresh = re.search(r'name="based_on" value="(\d+)"', html).group(1)
    response = client.post("/region/九台区/ratings", data={**stale, "based_on": fresh, "final:1.1": "优秀"})
    assert response.status_code == 302


def test_a_stale_history_choice_is_refused_too(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    stale = region_form(client, "九台区")
    upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="达标")))
    first = client.get("/region/九台区").get_data(as_text=True)
    version = re.findall(r'name="version" value="(\d+)"', first)[0]
    response = client.post("/region/九台区/current", data={**stale, "version": version})
    assert response.status_code == 409


# --- redirect after POST, ids, names, types ---------------------------------------------------------------


def test_upload_results_have_their_own_page(client, app, blanks):
    data = {"csrf_token": token(client), "workbooks": [(io.BytesIO(filled(blanks, "九台区")), "九台区.xlsx")]}
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 303 or response.status_code == 302
    result = response.headers["Location"]
    assert re.fullmatch(r"/upload/batch/\d+", result)
    for _ in range(3):  # reloading shows, never uploads again
        assert "接收 1 个，未接收 0 个" in client.get(result).get_data(as_text=True)
    assert len(app.extensions["site"].store.uploads()) == 1


@pytest.mark.parametrize("path", ["/upload/99999999999999999999999", "/upload/batch/99999999999999999999999",
                                  "/upload/-1", "/upload/batch/0"])
def test_ids_out_of_range_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_a_version_out_of_range_is_not_found(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    form = region_form(client, "九台区")
    response = client.post("/region/九台区/current", data={**form, "version": "99999999999999999999999"})
    assert response.status_code == 404


def test_a_file_name_in_invalid_utf8_is_named_as_the_problem(client):
    csrf = token(client)
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + csrf.encode()
            + b"\r\n--XX\r\nContent-Disposition: form-data; name=\"workbooks\"; filename=\"\xff\xfe\xe4.xlsx\"\r\n"
              b"Content-Type: application/octet-stream\r\n\r\nabc\r\n--XX--\r\n")
    response = client.post("/upload", data=body, content_type="multipart/form-data; boundary=XX")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "文件名" in html and "校验码" not in html


def _with(data: bytes, extra: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        for name, content in extra.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_file_type_is_decided_by_content(client, app, blanks):
    good = filled(blanks, "九台区")
    macro = _with(good, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})
    linked = _with(good, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>",
                          "xl/externalLinks/_rels/externalLink1.xml.rels":
                              b'<Relationships><Relationship Id="rId1" Type="x" '
                              b'Target="file:///\\\\server\\share\\a.xlsx" TargetMode="External"/></Relationships>'})
    html = upload(client, ("九台区.xlsx", macro), ("朝阳区.xlsx", linked), ("九台区考评表.exe", good),
                  ("九台区.xlsm", good)).get_data(as_text=True)
    assert "接收 0 个，未接收 4 个" in html
    assert "含有宏（vbaProject.bin）" in html
    assert "链接了外部文件（file:///\\\\server\\share\\a.xlsx）" in html
    assert "“九台区考评表.exe”不是 .xlsx 工作簿" in html and "“九台区.xlsm”不是 .xlsx 工作簿" in html
    exe = next(u for u in app.extensions["site"].store.uploads() if u["filename"].endswith(".exe"))
    download = client.get(f"/upload/{exe['id']}")
    assert ".exe" not in download.headers["Content-Disposition"]
    assert download.headers["Content-Type"] == "application/octet-stream"


def test_uploads_naming_no_known_region_are_listed_with_their_problem(client, blanks):
    wb = load_workbook(io.BytesIO(filled(blanks, "九台区")))
    wb.active["F2"] = "火星区"
    buffer = io.BytesIO()
    wb.save(buffer)
    upload(client, ("火星区.xlsx", buffer.getvalue()), ("笔记.xlsx", b"not a workbook"))
    page = client.get("/upload").get_data(as_text=True)
    section = page.split("无法确定地区的上传", 1)[1]
    assert "火星区.xlsx" in section and "笔记.xlsx" in section and "这不是 XLSX 工作簿" in section


def test_bytes_are_kept_when_reading_fails(client, app, blanks, monkeypatch):
    import pipeline.returns

    def broken(*args, **kwargs):
        raise RuntimeError("reader crashed")

    monkeypatch.setattr(pipeline.returns, "read_return", broken)
    data = filled(blanks, "九台区")
    html = upload(client, ("九台区.xlsx", data)).get_data(as_text=True)
    assert "未能读完" in html
    store = app.extensions["site"].store
    kept = store.uploads()
    assert len(kept) == 1 and store.upload_data(kept[0]["id"])[1] == data
    # a reading cut short (the process gone) leaves the bytes and says so
    upload_id = store.receive(None, "半途.xlsx", data)
    assert store.upload_data(upload_id)[1] == data and "读取中断" in store.upload_info(upload_id)["problems"][0]


def test_values_far_outside_the_form_cost_little_through_the_page(client, blanks):
    import resource
    import tracemalloc

    def far(ws):
        ws["XFD1048576"] = "远处的值"
        ws["J1048576"] = "另一个"

    data = filled(blanks, "九台区", footer=True, edit=far)
    assert len(data) < 64 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF)
    tracemalloc.start()
    try:
        html = upload(client, ("九台区.xlsx", data)).get_data(as_text=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu <= 2.0, cpu
    assert peak <= 200 * 1024 * 1024, peak
    assert (after.ru_maxrss - before.ru_maxrss) * 1024 <= 200 * 1024 * 1024
    assert "接收 1 个，未接收 0 个" in html
    assert "考评表 XFD1048576 单元格" in html and "考评表 J1048576 单元格" in html  # named, ignored


def test_the_server_never_lays_out_a_document_itself(tmp_path):
    """Downloads are rendered by the build's worker code in a spawned process (timed per
    document), never in the server's threads: WeasyPrint is not even imported by the server."""
    import subprocess
    import sys

    script = f"""
import sys
from pipeline.content import load_content
from pipeline.web import create_app
app = create_app(load_content(need_rating_files=True), {str(tmp_path / 'w')!r})
client = app.test_client()
for path in ("/checklist/九台区/pdf", "/notice/pdf"):
    response = client.get(path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF"), path
print("weasyprint" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
