"""Accounts and roles (issue #17): the `pipeline users` commands, the 管理员's page, one-time codes
changed at the first sign-in, throttling per account, sessions that end (disabled, new password,
idle), the printable list of codes, and `serve` refusing other computers without accounts."""

from __future__ import annotations

import io
import re
import sqlite3

import pdfplumber
import pytest

from pipeline.web import create_app
from pipeline.web.accounts import AccountError, Accounts, hash_password, password_problems, verify_password
from pipeline.web.guard import IDLE_SECONDS
from pipeline.web.store import Store

from .conftest import ROOT, Cli
from .test_web import CONTENT, token

GOOD = "Xin-Mima-2026"  # a password that meets the rules


class Clock:
    def __init__(self):
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path, clock=None, **options):
    app = create_app(CONTENT, tmp_path / "work", clock=clock or Clock(), **options)
    app.config["TESTING"] = True
    return app


def add(app, name, role, region=None) -> str:
    return app.extensions["site"].accounts.add(name, role, region, CONTENT)


def sign_in(app, name, password, new=None, client=None):
    """A client signed in as ``name``; with ``new``, the one-time code changed to it."""
    client = client or app.test_client()
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": name,
                                           "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if new:
        assert response.headers["Location"].endswith("/password")
        response = client.post("/password", data={"csrf_token": token(client, "/password"), "old": password,
                                                  "new": new, "again": new})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


def db_rows(app, sql):
    with app.extensions["site"].store.connect() as db:
        return [dict(r) for r in db.execute(sql)]


# --- passwords ----------------------------------------------------------------------------------------


def test_passwords_are_kept_only_as_salted_scrypt_hashes(tmp_path):
    app = make_app(tmp_path)
    code = add(app, "张科长", "考评")
    stored = db_rows(app, "SELECT password FROM accounts")[0]["password"]
    assert stored.startswith("scrypt$16384$8$1$") and code not in stored
    assert verify_password(code, stored) and not verify_password(code + "x", stored)
    assert hash_password(code) != hash_password(code)  # salted
    raw = (tmp_path / "work" / "pipeline.sqlite3").read_bytes()
    assert code.encode() not in raw
    assert password_problems("short1A", "张科长") and password_problems("alllowercaseletters", "x")
    assert password_problems("张科长Abc-12345", "张科长")  # contains the account's name
    assert not password_problems(GOOD, "张科长")


# --- first sign-in ------------------------------------------------------------------------------------


def test_a_one_time_code_must_be_changed_before_anything_else(tmp_path):
    app = make_app(tmp_path)
    code = add(app, "九台区", "地区")
    client = app.test_client()
    assert client.get("/").status_code == 302  # accounts exist: signing in is required
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": "九台区",
                                           "password": code})
    assert response.headers["Location"].endswith("/password")
    for path in ("/", "/return/九台区", "/return/九台区/考评表.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/password"), path
    page = client.get("/password").get_data(as_text=True)
    assert "首次登录：请设置新密码" in page
    # too weak, mismatched, same as the code: refused with the reason
    for new, again, said in (("abc", "abc", "至少 10 位"), (GOOD, GOOD + "x", "不一致"), (code, code, "相同")):
        response = client.post("/password", data={"csrf_token": token(client, "/password"), "old": code,
                                                  "new": new, "again": again})
        assert response.status_code == 400 and said in response.get_data(as_text=True), said
    response = client.post("/password", data={"csrf_token": token(client, "/password"), "old": code,
                                              "new": GOOD, "again": GOOD})
    assert response.status_code == 302 and "/return/" in response.headers["Location"]
    assert "新密码已设置" in client.get(response.headers["Location"]).get_data(as_text=True)
    # the code no longer works; the new password does
    other = app.test_client()
    assert other.post("/login", data={"csrf_token": token(other, "/login"), "account": "九台区",
                                      "password": code}).status_code == 401
    sign_in(app, "九台区", GOOD)
    events = [r["event"] for r in db_rows(app, "SELECT event FROM audit ORDER BY id")]
    assert events[:2] == ["登录", "修改密码"] and "登录失败" in events


def test_a_password_change_ends_the_accounts_other_sessions(tmp_path):
    app = make_app(tmp_path)
    code = add(app, "张科长", "考评")
    first = sign_in(app, "张科长", code, new=GOOD)
    second = sign_in(app, "张科长", GOOD)
    assert second.get("/").status_code == 200
    response = first.post("/password", data={"csrf_token": token(first, "/password"), "old": GOOD,
                                              "new": GOOD + "!", "again": GOOD + "!"})
    assert response.status_code == 302
    assert first.get("/").status_code == 200  # the one that changed it stays signed in
    assert second.get("/").status_code == 302  # every other session ended


# --- throttling, disabled accounts, expiry -------------------------------------------------------------


def test_fifty_wrong_passwords_for_an_account_meet_a_growing_delay(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock=clock)
    code = add(app, "九台区", "地区")
    client = app.test_client()
    csrf = token(client, "/login")
    waits = []
    for attempt in range(50):
        clock.now += 0.001  # from other addresses too: the account's own count decides
        response = client.post("/login", data={"csrf_token": csrf, "account": "九台区", "password": "wrong"},
                               environ_base={"REMOTE_ADDR": f"10.0.{attempt}.1"})
        if response.status_code == 429:  # not looked at: wait as told, then it is heard (and wrong)
            waits.append(app.extensions["throttle"].wait(["账号 九台区"]))
            clock.now += waits[-1]
            response = client.post("/login", data={"csrf_token": csrf, "account": "九台区", "password": "wrong"},
                                   environ_base={"REMOTE_ADDR": f"10.0.{attempt}.2"})
        assert response.status_code == 401
    assert len(waits) == 45 and waits == sorted(waits)
    assert round(waits[0]) == 1 and round(waits[1]) == 2 and round(waits[-1]) == 300
    # while waiting, even the right code is not heard; after the wait it is
    response = client.post("/login", data={"csrf_token": csrf, "account": "九台区", "password": code})
    assert response.status_code == 429 and "请在" in response.get_data(as_text=True)
    clock.now += 301
    assert client.post("/login", data={"csrf_token": csrf, "account": "九台区", "password": code}).status_code == 302
    assert len(db_rows(app, "SELECT 1 FROM audit WHERE event = '登录失败'")) >= 10


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(tmp_path):
    app = make_app(tmp_path)
    admin = sign_in(app, "管理员甲", add(app, "管理员甲", "管理员"), new=GOOD)
    region = sign_in(app, "九台区", add(app, "九台区", "地区"), new=GOOD)
    assert region.get("/return/九台区").status_code == 200
    response = admin.post("/accounts/disable", data={"csrf_token": token(admin, "/accounts"), "name": "九台区"})
    assert response.status_code == 302
    response = region.get("/return/九台区")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    again = app.test_client()
    assert again.post("/login", data={"csrf_token": token(again, "/login"), "account": "九台区",
                                      "password": GOOD}).status_code == 401
    entry = db_rows(app, "SELECT * FROM audit WHERE event = '停用账号'")[0]
    assert (entry["account"], entry["object"], entry["old"], entry["new"]) == ("管理员甲", "九台区", "启用", "停用")


def test_the_last_admin_is_not_disabled_and_disabled_accounts_never_open_the_page(tmp_path):
    app = make_app(tmp_path)
    accounts = app.extensions["site"].accounts
    add(app, "管理员甲", "管理员")
    add(app, "九台区", "地区", "九台区")
    with pytest.raises(AccountError, match="唯一在用的管理员账号"):
        accounts.disable("管理员甲")
    add(app, "管理员乙", "管理员")
    accounts.disable("管理员甲")  # another admin is left
    with pytest.raises(AccountError, match="“管理员乙”是唯一在用的管理员账号"):
        accounts.disable("管理员乙")
    # every account disabled all the same (the data folder edited): the page still asks everyone
    # to sign in, never falls back to the open page of a single clerk without accounts
    with accounts.store.connect() as db:
        db.execute("UPDATE accounts SET disabled = 1")
    anyone = app.test_client()
    for page in ("/", "/accounts", "/return/九台区", "/audit"):
        response = anyone.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    response = anyone.post("/login", data={"csrf_token": token(anyone, "/login"), "account": "", "password": ""})
    assert response.status_code == 401


def test_the_command_line_does_not_disable_the_last_admin(tmp_path):
    cli = Cli(ROOT)
    work = tmp_path / "work"
    made = cli("users", "add", "管理员甲", "--role", "管理员", "--data", work)
    assert made.exit_code == 0
    refused = cli("users", "disable", "管理员甲", "--data", work, expect=1)
    assert "唯一在用的管理员账号" in refused.stderr
    assert Accounts(Store(work / "pipeline.sqlite3")).any_department()


def test_an_idle_session_expires(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock=clock)
    client = sign_in(app, "张科长", add(app, "张科长", "考评"), new=GOOD)
    assert client.get("/").status_code == 200
    clock.now += IDLE_SECONDS + 1
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_cookies_are_httponly_samesite_and_secure_over_https(tmp_path):
    app = make_app(tmp_path, public_url="https://kaoping.example.gov.cn")
    code = add(app, "张科长", "考评")
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "account": "张科长",
                                           "password": code})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie


# --- the 管理员's page ----------------------------------------------------------------------------------


def test_the_admin_creates_resets_and_lists_accounts_on_the_page(tmp_path):
    app = make_app(tmp_path)
    admin = sign_in(app, "管理员甲", add(app, "管理员甲", "管理员"), new=GOOD)
    response = admin.post("/accounts/add", data={"csrf_token": token(admin, "/accounts"), "role": "地区",
                                                 "region": "九台区", "name": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    code = re.search(r'class="one-time-code">([A-Z0-9-]+)<', page).group(1)
    assert "只显示这一次" in page
    sign_in(app, "九台区", code, new=GOOD)
    # a second account for the region, an unknown region, a bad name: refused, said
    for data, said in (({"role": "地区", "region": "九台区"}, "已存在"),
                       ({"role": "地区", "region": "不存在区"}, "不在地区名单中"),
                       ({"role": "考评", "name": "有 空格"}, "不能含空格")):
        response = admin.post("/accounts/add", data={"csrf_token": token(admin, "/accounts"), **data})
        assert response.status_code == 400 and said in response.get_data(as_text=True), said
    response = admin.post("/accounts/reset", data={"csrf_token": token(admin, "/accounts"), "name": "九台区"})
    new_code = re.search(r'class="one-time-code">([A-Z0-9-]+)<', response.get_data(as_text=True)).group(1)
    client = app.test_client()
    assert client.post("/login", data={"csrf_token": token(client, "/login"), "account": "九台区",
                                       "password": GOOD}).status_code == 401
    sign_in(app, "九台区", new_code, new=GOOD + "2")
    listing = admin.get("/accounts").get_data(as_text=True)
    assert 'data-account="九台区"' in listing and new_code not in listing
    assert {r["event"] for r in db_rows(app, "SELECT event FROM audit")} >= {"新建账号", "重置密码", "修改密码", "登录"}


def test_the_printable_list_of_region_codes(tmp_path):
    app = make_app(tmp_path)
    admin = sign_in(app, "管理员甲", add(app, "管理员甲", "管理员"), new=GOOD)
    add(app, "九台区", "地区")
    response = admin.post("/accounts/codes.pdf", data={"csrf_token": token(admin, "/accounts"),
                                                       "url": "https://kaoping.mzt.jl.gov.cn/"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(response.data)) as pdf:
        text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "https://kaoping.mzt.jl.gov.cn/" in text and "一次性登录码" in text
    regions = [r.name for r in CONTENT.regions.regions if r.name != "九台区"]
    lines = [line for line in text.splitlines() if re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", line)]
    assert len(lines) == len(regions) == 69
    for region, line in zip(regions, lines):
        assert region in line.replace(" ", ""), (region, line)
    # a code from the list signs its region in
    first = re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", lines[0]).group(1)
    sign_in(app, regions[0], first, new=GOOD)
    # every region has an account now: nothing more to make
    response = admin.post("/accounts/codes.pdf", data={"csrf_token": token(admin, "/accounts")})
    assert response.status_code == 400 and "都已有账号" in response.get_data(as_text=True)


# --- the command line ----------------------------------------------------------------------------------


def test_users_commands(tmp_path):
    cli = Cli(ROOT)
    data = tmp_path / "w"
    result = cli("users", "add", "张科长", "--role", "考评", "--data", data)
    code = re.search(r"一次性登录码：(\S+)", result.output).group(1)
    result = cli("users", "add", "九台区", "--data", data)
    assert "地区账号“九台区”（九台区）" in result.output
    assert "地区“不存在区”不在地区名单中" in cli("users", "add", "不存在区", "--data", data, expect=1).stderr
    assert "已存在" in cli("users", "add", "张科长", "--role", "考评", "--data", data, expect=1).stderr
    listing = cli("users", "list", "--data", data).output
    assert "张科长\t考评\t\t待首次登录改密码" in listing and "共 2 个账号" in listing and code not in listing
    accounts = Accounts(Store(data / "pipeline.sqlite3"))
    assert accounts.check("张科长", code)
    new = re.search(r"一次性登录码：(\S+)", cli("users", "reset", "张科长", "--data", data).output).group(1)
    assert not accounts.check("张科长", code) and accounts.check("张科长", new)
    cli("users", "disable", "九台区", "--data", data)
    assert "已停用" in cli("users", "list", "--data", data).output
    assert "没有账号“无名”" in cli("users", "disable", "无名", "--data", data, expect=1).stderr
    pdf = tmp_path / "codes.pdf"
    result = cli("users", "add", "--all-regions", "--codes", pdf, "--url", "https://k.example/", "--data", data)
    assert "已为 69 个地区新建账号" in result.output  # 九台区 has one (disabled)
    assert pdf.stat().st_mode & 0o077 == 0
    with sqlite3.connect(data / "pipeline.sqlite3") as db:
        events = [r[0] for r in db.execute("SELECT event FROM audit")]
    assert events.count("新建账号") == 71 and "重置密码" in events and "停用账号" in events


def test_serve_refuses_other_computers_without_accounts(tmp_path):
    data = tmp_path / "w"
    result = Cli(ROOT)("serve", "--host", "192.0.2.1", "--data", data, expect=2)
    assert "pipeline users add" in result.stderr
    Cli(ROOT)("users", "add", "九台区", "--data", data)  # a region's account is not enough
    result = Cli(ROOT)("serve", "--host", "192.0.2.1", "--data", data, expect=2)
    assert "pipeline users add" in result.stderr


@pytest.mark.parametrize("role", ["管理员", "考评"])
def test_department_roles_see_the_stats_like_pages_regions_do_not(tmp_path, role):
    """Pages not named for regions (the board, generation, exports, and any added later) are the
    department's; a region account is refused them."""
    app = make_app(tmp_path)
    staff = sign_in(app, "甲", add(app, "甲", role), new=GOOD)
    region = sign_in(app, "九台区", add(app, "九台区", "地区"), new=GOOD)
    for path in ("/", "/generate", "/results.csv", "/audit", "/checklists", "/upload"):
        assert staff.get(path).status_code == 200, path
        assert region.get(path).status_code in (302, 403), path
    assert (staff.get("/accounts").status_code == 200) == (role == "管理员")


def test_the_shared_password_stops_working_once_there_are_accounts(tmp_path):
    app = make_app(tmp_path, password="春风")
    client = app.test_client()
    assert client.post("/login", data={"csrf_token": token(client, "/login"), "password": "春风"}).status_code == 302
    assert client.get("/").status_code == 200
    add(app, "张科长", "考评")
    assert client.get("/").status_code == 302  # its session is no longer anyone's
    again = app.test_client()
    assert again.post("/login", data={"csrf_token": token(again, "/login"), "password": "春风"}).status_code == 401
