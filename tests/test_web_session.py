"""When a session ends under a clerk's form, and what the browser keeps (Flask's client): the
sign-in page says why (超时, 密码已在别处修改, 已退出, reset, disabled); a refused save comes back
to its own page after the sign-in and stores nothing; every page and download is no-store while
the static files stay cacheable; a request over the body limit gets the site's Chinese page naming
the limits, from Flask and from waitress itself; one-time codes as typed by hand."""

from __future__ import annotations

import http.client
import re
import threading
from urllib.parse import quote

import pytest

from pipeline.web import MAX_UPLOAD_BYTES, make_server, run_until_closed
from pipeline.web.accounts import as_code
from pipeline.web.guard import IDLE_SECONDS, form_page

from .test_web import CONTENT, token
from .test_web_accounts import GOOD, Clock, add, db_rows, make_app, sign_in

REGION = "长春市"
PAGE = f"/return/{REGION}"
QPAGE = quote(PAGE)
HOST = "http://localhost"


@pytest.fixture
def setup(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock=clock)
    add(app, "管理员甲", "管理员")
    code = add(app, REGION, "地区", REGION)
    region = sign_in(app, REGION, code, new=GOOD)
    return app, clock, region


def save_draft(client, csrf, referer=HOST + PAGE, **fields):
    data = {"csrf_token": csrf, "based_on": "0", "action": "draft", "self:1.4": "优秀",
            "note:1.4": "全年完成各项任务。" * 50} | fields
    headers = {"Referer": referer} if referer else {}
    return client.post(PAGE, data=data, headers=headers)


def sessions(app) -> int:
    return db_rows(app, "SELECT count(*) AS n FROM sessions")[0]["n"]


def login_page(client, location) -> str:
    return client.get(location).get_data(as_text=True)


def test_an_idle_session_ends_under_the_form_and_the_clerk_comes_back_to_it(setup):
    app, clock, region = setup
    csrf = token(region, PAGE)
    clock.now += IDLE_SECONDS + 1
    before = sessions(app)
    response = save_draft(region, csrf)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={QPAGE}&why=timeout"
    assert "Set-Cookie" not in response.headers or "session=;" in response.headers["Set-Cookie"]
    assert sessions(app) == before - 1  # the expired record went; nothing stored for this request
    assert app.extensions["site"].store.rows(REGION) == {}  # not saved
    page = login_page(region, response.headers["Location"])
    assert "登录已超时（超过 30 分钟未操作），请重新登录。登录后将回到原来的页面。" in page
    assert 'id="drafts-kept" hidden' in page  # shown by the page's script when entries were kept
    # signing in from that page comes back to the form, not to the home page
    response = region.post(response.headers["Location"], data={"csrf_token": token(region, "/login"),
                                                                 "account": REGION, "password": GOOD})
    assert response.status_code == 302 and response.headers["Location"] == QPAGE


def test_the_form_page_is_the_referer_of_this_site_only(setup):
    app, clock, region = setup
    csrf = token(region, PAGE)
    clock.now += IDLE_SECONDS + 1
    for referer, target in ((None, "/"), ("http://evil.example/return/长春市", "/"),
                            (HOST + PAGE + "?saved=draft", QPAGE), (HOST + "/no-such-page", "/")):
        region.set_cookie("session", "stale-token")
        response = save_draft(region, csrf, referer=referer)
        assert response.headers["Location"] == f"/login?next={quote(target, safe='/%')}&why=ended", referer


@pytest.mark.parametrize("referer, expected", [
    ("http://localhost/return/%E9%95%BF%E6%98%A5%E5%B8%82", "/return/长春市"),
    ("http://localhost/return/长春市?saved=draft", "/return/长春市"),
    ("http://localhost/return/%0d%0aSet-Cookie:x", None),
    ("http://localhost/", "/"),
    ("https://localhost/stats", "/stats"),
    ("http://localhost:8080/stats", None),  # another port: another site
    ("http://evil.example/stats", None),
    ("javascript://localhost/stats", None),
    ("http://localhost//evil.example/", None),
    ("http://localhost/nowhere", None),
    ("", None),
    (None, None),
])
def test_form_page(referer, expected, tmp_path):
    app = make_app(tmp_path)
    assert form_page(referer, "localhost", app.url_map) == expected


def test_a_password_changed_elsewhere_is_named(setup):
    app, clock, region = setup
    csrf = token(region, PAGE)
    other = sign_in(app, REGION, GOOD)
    response = other.post("/password", data={"csrf_token": token(other, "/password"), "old": GOOD,
                                             "new": GOOD + "!", "again": GOOD + "!"})
    assert response.status_code == 302
    response = save_draft(region, csrf)
    assert response.headers["Location"] == f"/login?next={QPAGE}&why=password"
    page = login_page(region, response.headers["Location"])
    assert "本账号的密码已在其他地方修改，此处的登录随之失效，请用新密码重新登录。" in page
    assert other.get(PAGE).status_code == 200  # the one that changed it goes on
    assert app.extensions["site"].store.rows(REGION) == {}
    # the ended session's record held only why; it is gone once told
    assert sessions(app) == 2  # `other`'s, and the sign-in page's form token of `region`


def test_a_reset_or_a_disabled_account_is_named(setup):
    app, clock, region = setup
    accounts = app.extensions["site"].accounts
    accounts.reset(REGION)
    response = region.get(PAGE)
    assert response.headers["Location"] == f"/login?next={QPAGE}&why=reset"
    assert "管理员已重置本账号的密码" in login_page(region, response.headers["Location"])
    region = sign_in(app, REGION, accounts.reset(REGION), new=GOOD + "#")
    accounts.disable(REGION)
    response = region.get(PAGE)
    assert response.headers["Location"] == f"/login?next={QPAGE}&why=disabled"
    assert "本账号已停用" in login_page(region, response.headers["Location"])


def test_signing_out_says_so_and_a_stale_sign_out_is_no_form_error(setup):
    app, clock, region = setup
    csrf = token(region, PAGE)
    response = region.post("/logout", data={"csrf_token": csrf})
    assert response.headers["Location"] == "/login?why=signed-out"
    page = login_page(region, response.headers["Location"])
    assert 'id="login-notice" data-why="signed-out">您已退出登录。</p>' in page
    # 退出 clicked in a tab whose session had timed out: told so, not "表单已过期"
    region = sign_in(app, REGION, GOOD)
    csrf = token(region, PAGE)
    clock.now += IDLE_SECONDS + 1
    response = region.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login?why=timeout"
    # 退出 in another tab of this browser took the cookie: a form sent from this tab is told so
    region = sign_in(app, REGION, GOOD)
    csrf = token(region, PAGE)
    region.delete_cookie("session")
    response = save_draft(region, csrf)
    assert response.headers["Location"] == f"/login?next={QPAGE}&why=ended"
    assert "登录已失效（超时未操作，或已在其他窗口退出），请重新登录。" in login_page(region, response.headers["Location"])
    # a first visit: no reason, and the name of no reason is never shown
    fresh = app.test_client()
    assert fresh.get(PAGE).headers["Location"] == f"/login?next={QPAGE}"
    page = login_page(fresh, "/login?why=<script>")
    assert "login-notice" not in page and "<script>" not in page.split("<main>")[1]


def test_every_page_and_download_is_no_store_and_static_files_stay_cacheable(setup):
    app, clock, region = setup
    for path in (PAGE, f"/return/{REGION}/考评表.xlsx", "/login", "/password", "/return/九台区", "/nowhere"):
        response = region.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    staff = sign_in(app, "张科长", add(app, "张科长", "考评"), new=GOOD)
    for path in ("/", "/results.csv", "/stats", "/audit", "/audit.xlsx"):
        response = staff.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", path
    response = region.post("/logout", data={"csrf_token": token(region, PAGE)})
    assert response.headers["Cache-Control"] == "no-store"
    for name in ("style.css", "region.js", "session.js"):
        response = region.get(f"/static/{name}")
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", ""), name
        assert response.headers.get("ETag") and response.headers.get("Last-Modified")
        again = region.get(f"/static/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304, name


def test_over_the_limit_in_flask_a_chinese_page_with_the_limits_and_a_way_back(setup):
    app, clock, region = setup
    csrf = token(region, PAGE)
    app.config["MAX_CONTENT_LENGTH"] = 1000  # as a request over 100 MB would be refused
    response = save_draft(region, csrf)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<h1>文件太大，未保存</h1>" in page and "Request Entity Too Large" not in page
    assert "未保存：一次保存的内容合计不能超过 100 兆字节" in page
    assert "佐证材料每个文件不超过 20 兆字节，每次保存合计不超过 100 兆字节" in page
    assert f'<a href="{QPAGE}" id="back">返回原页面</a>' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert f"{REGION}（地区）" in page  # in the site's layout, with who is signed in


def test_the_region_page_states_both_limits(setup):
    app, clock, region = setup
    page = region.get(PAGE).get_data(as_text=True)
    assert "每个不超过 20 兆字节、每项最多 10 个，每次保存合计不超过 100 兆字节" in page
    assert f'data-draft="2016|{REGION}|{REGION}"' in page


def raw_post(port: int, path: str, length: int, cookie: str = "", referer: str = "") -> tuple[int, dict, str]:
    """A POST whose headers announce ``length`` bytes, and no body: refused on its headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", quote(path))
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(length))
    connection.putheader("Origin", f"http://127.0.0.1:{port}")
    if cookie:
        connection.putheader("Cookie", cookie)
    if referer:
        connection.putheader("Referer", referer)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_waitress_refuses_on_the_headers_with_the_sites_page(setup):
    app, clock, region = setup
    server = make_server(app, "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=run_until_closed, args=(server,), daemon=True)
    thread.start()
    try:
        port = server.effective_port
        cookie = f"session={region.get_cookie('session').value}"
        status, headers, page = raw_post(port, PAGE, MAX_UPLOAD_BYTES + 1, cookie, f"http://127.0.0.1:{port}{quote(PAGE)}")
        assert status == 413
        assert headers["content-type"] == "text/html; charset=utf-8" and headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY" and "default-src 'none'" in headers["content-security-policy"]
        assert "max_body" not in page and "generated by" not in page
        assert "未保存：一次保存的内容合计不能超过 100 兆字节（这次约 100 兆字节）。" in page
        assert "每次保存合计不超过 100 兆字节" in page and f'<a href="{QPAGE}" id="back">返回原页面</a>' in page
        assert f"{REGION}（地区）" in page
        # the department's upload page names its own limits; no cookie, no referer: back home
        status, _, page = raw_post(port, "/upload", 3 * MAX_UPLOAD_BYTES)
        assert status == 413 and "一次最多 100 个工作簿、合计不超过 100 兆字节，每个工作簿不超过 20 兆字节" in page
        assert "（这次约 300 兆字节）" in page and '<a href="/" id="back">返回原页面</a>' in page
        assert app.extensions["site"].store.rows(REGION) == {}
    finally:
        server.close()


# --- one-time codes as typed ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed, taken", [
    ("J3XG-CFEJ-HXNN", "J3XG-CFEJ-HXNN"), (" j3xg-cfej-hxnn ", "J3XG-CFEJ-HXNN"), ("J3XGCFEJHXNN", "J3XG-CFEJ-HXNN"),
    ("j3xg cfej hxnn", "J3XG-CFEJ-HXNN"), ("J3XG-CFEJ-HXN", None), ("J3XG-CFEJ-HXN0", None), ("J3XG-CFEJ-HXNN-A", None),
    ("Xin-Mima-2026", None), ("", None),
])
def test_a_code_as_typed(typed, taken):
    assert as_code(typed) == taken


def test_a_one_time_code_is_taken_as_typed_and_a_password_is_not(tmp_path):
    app = make_app(tmp_path)
    code = add(app, "九台区", "地区")
    client = app.test_client()
    typed = "  " + code.replace("-", "").lower() + " "
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": "九台区",
                                           "password": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith("/password")
    # the password page takes it as typed too
    response = client.post("/password", data={"csrf_token": token(client, "/password"),
                                              "old": code.lower().replace("-", " "), "new": GOOD, "again": GOOD})
    assert response.status_code == 302
    # a password is a password: its case and its spaces count
    for wrong in (GOOD.lower(), GOOD.upper(), f" {GOOD} ", GOOD.replace("-", "")):
        other = app.test_client()
        response = other.post("/login", data={"csrf_token": token(other, "/login"), "account": "九台区",
                                              "password": wrong})
        assert response.status_code == 401, wrong


def test_the_account_name_stays_after_a_wrong_password(tmp_path):
    app = make_app(tmp_path)
    add(app, "九台区", "地区")
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": "九台区",
                                           "password": "wrong"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "账号或密码不对" in page
    assert re.search(r'<input name="account" id="account" autocomplete="username" value="九台区" required', page)
    assert re.search(r'id="password" autocomplete="current-password" autofocus required', page)
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": '<b>"x',
                                           "password": "wrong"})
    assert 'value="&lt;b&gt;&#34;x"' in response.get_data(as_text=True)
