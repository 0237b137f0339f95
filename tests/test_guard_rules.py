"""The web page's access checks one decision at a time (``pipeline/web/guard.py``): sessions that
end, sign-in throttling, safe redirects, who may reach which page, the form token, downloads only
of the manifest's files, Host and Origin. Each with values written out by hand, then through
Flask's test client. Fast: ``make mutate`` runs this file for every change it makes to guard.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask, session

from pipeline.web import create_app
from pipeline.web.guard import (ADMIN_NO_WORK, NO_RIGHT, OTHER_REGION, Sessions, Throttle, access,
                                account_session_ok, allowed, end_every_session, form_token_ok, host_allowed,
                                inside, landing, manifest_file, password_changed, password_expired,
                                password_reminder, safe_target, same_origin,
                                served_hosts, session_alive, throttle_keys, wait_message)
from pipeline.web.store import Store

from .test_web import CONTENT, token

T0 = 1_000_000.0


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now


def sha(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "guard.sqlite3", 2016)


def rows(store, sql: str, *args) -> list:
    with store.connect() as db:
        return [tuple(r) for r in db.execute(sql, args).fetchall()]


# --- how long a session lives ------------------------------------------------------------------------


def test_a_session_lives_30_idle_minutes_and_12_hours_at_most():
    assert session_alive(T0, T0, T0 + 1800) is True  # idle exactly 30 minutes: still on
    assert session_alive(T0, T0, T0 + 1801) is False
    assert session_alive(T0, T0 + 43000, T0 + 43200) is True  # 12 hours old, seen 200 s ago
    assert session_alive(T0, T0 + 43000, T0 + 43201) is False
    assert session_alive(T0, T0 + 100, T0 + 50) is True  # a clock stepping back ends nothing


def test_an_account_session_ends_when_the_account_is_disabled_or_given_a_new_password():
    account = {"disabled": 0, "password_set_at": "2026-12-01T09:00:00"}
    assert account_session_ok(account, "2026-12-01T09:00:00") is True
    assert account_session_ok(None, "2026-12-01T09:00:00") is False
    assert account_session_ok(account | {"disabled": 1}, "2026-12-01T09:00:00") is False
    assert account_session_ok(account, "2026-11-30T09:00:00") is False
    assert account_session_ok(account, None) is False


# --- the session store, under a small Flask app -------------------------------------------------------


def small_app(store, clock, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=b"k" * 32, SESSION_COOKIE_SAMESITE="Strict", **config)
    app.session_interface = Sessions(store, clock)

    @app.post("/set/<value>")
    def set_value(value):
        session["user"] = value
        return "ok"

    @app.get("/get")
    def get_value():
        return session.get("user", "—")

    @app.post("/anew/<value>")
    def anew(value):
        session.start_anew(user=value)
        return "ok"

    @app.post("/end")
    def end():
        session.end()
        return "ok"

    return app


def test_a_session_is_a_random_token_whose_hash_alone_is_stored(store):
    clock = Clock()
    client = small_app(store, clock).test_client()
    response = client.post("/set/九台区")
    cookie = response.headers["Set-Cookie"]
    token = client.get_cookie("session").value
    assert len(token) == 43  # 32 random bytes
    assert cookie.startswith(f"session={token};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    assert response.headers["Vary"] == "Cookie"
    assert rows(store, "SELECT token_hash, data, created, seen FROM sessions") == \
        [(sha(token), '{"user": "九台区"}', T0, T0)]
    assert client.get("/get").get_data(as_text=True) == "九台区"
    # nothing changed: no new cookie, nothing written
    clock.now += 10
    response = client.get("/get")
    assert "Set-Cookie" not in response.headers
    assert rows(store, "SELECT data, seen FROM sessions") == [('{"user": "九台区"}', T0)]
    # a change is kept under the same token
    response = client.post("/set/朝阳区")
    assert "Set-Cookie" not in response.headers
    assert rows(store, "SELECT token_hash, data, seen FROM sessions") == [(sha(token), '{"user": "朝阳区"}', T0 + 10)]
    assert client.get("/get").get_data(as_text=True) == "朝阳区"


def test_no_session_no_cookie_and_no_record(store):
    client = small_app(store, Clock()).test_client()
    response = client.get("/get")
    assert response.get_data(as_text=True) == "—" and "Set-Cookie" not in response.headers
    response = client.post("/end")
    assert "Set-Cookie" not in response.headers
    assert rows(store, "SELECT * FROM sessions") == []


def test_cookie_options_follow_the_configuration(store):
    app = small_app(store, Clock(), SESSION_COOKIE_SECURE=True, SESSION_COOKIE_DOMAIN="kaoping.example",
                    SESSION_COOKIE_PATH="/kp")
    client = app.test_client(use_cookies=False)  # the cookie is for kaoping.example: sent by hand
    cookie = client.post("/set/x").headers["Set-Cookie"]
    assert "Secure" in cookie and "Domain=kaoping.example" in cookie and "Path=/kp" in cookie and "HttpOnly" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    response = client.post("/end", headers={"Cookie": f"session={token}"})
    gone = response.headers["Set-Cookie"]
    assert gone.startswith("session=;") and "Expires=Thu, 01 Jan 1970" in gone
    assert "Secure" in gone and "Domain=kaoping.example" in gone and "Path=/kp" in gone and "HttpOnly" in gone
    assert rows(store, "SELECT * FROM sessions") == []


def test_sign_in_replaces_the_token_and_sign_out_deletes_it(store):
    client = small_app(store, Clock()).test_client()
    client.post("/set/visitor")
    before = client.get_cookie("session").value
    client.post("/anew/九台区")  # no session fixation: a new token, the old one is worthless
    after = client.get_cookie("session").value
    assert after != before and len(after) == 43
    assert rows(store, "SELECT token_hash, data FROM sessions") == [(sha(after), '{"user": "九台区"}')]
    thief = small_app(store, Clock()).test_client()
    thief.set_cookie("session", before)
    assert thief.get("/get").get_data(as_text=True) == "—"
    # a first visit that signs in straight away
    other = small_app(store, Clock()).test_client()
    other.post("/anew/朝阳区")
    assert other.get("/get").get_data(as_text=True) == "朝阳区"
    client.post("/end")
    assert client.get_cookie("session") is None
    assert rows(store, "SELECT data FROM sessions") == [('{"user": "朝阳区"}',)]
    thief.set_cookie("session", after)
    assert thief.get("/get").get_data(as_text=True) == "—"


def test_an_idle_or_old_session_is_gone_and_seen_is_kept_every_30_seconds(store):
    clock = Clock()
    client = small_app(store, clock).test_client()
    client.post("/set/九台区")
    clock.now = T0 + 30
    assert client.get("/get").get_data(as_text=True) == "九台区"
    assert rows(store, "SELECT seen FROM sessions") == [(T0,)]  # 30 s: not written
    clock.now = T0 + 31
    assert client.get("/get").get_data(as_text=True) == "九台区"
    assert rows(store, "SELECT seen FROM sessions") == [(T0 + 31,)]
    clock.now = T0 + 31 + 1801
    assert client.get("/get").get_data(as_text=True) == "—"
    assert rows(store, "SELECT * FROM sessions") == []  # and its record deleted


def test_a_new_session_clears_only_the_expired_records(store):
    clock = Clock()
    with store.connect() as db:
        db.execute("INSERT INTO sessions VALUES ('idle', '{}', ?, ?)", (T0 - 100, T0 - 1801))
        db.execute("INSERT INTO sessions VALUES ('old', '{}', ?, ?)", (T0 - 43201, T0 - 10))
        db.execute("INSERT INTO sessions VALUES ('alive', '{}', ?, ?)", (T0 - 43199, T0 - 1799))
    small_app(store, clock).test_client().post("/set/x")
    assert sorted(r[0] for r in rows(store, "SELECT token_hash FROM sessions")) == sorted(["alive", sha_of_newest(store)])


def sha_of_newest(store) -> str:
    return rows(store, "SELECT token_hash FROM sessions WHERE data = ?", '{"user": "x"}')[0][0]


@pytest.mark.parametrize("length, found", [(99, True), (100, False)])
def test_a_cookie_of_100_characters_or_more_is_not_looked_up(store, length, found):
    cookie = "a" * length
    with store.connect() as db:
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (sha(cookie), '{"user": "九台区"}', T0, T0))
    client = small_app(store, Clock()).test_client()
    client.set_cookie("session", cookie)
    assert client.get("/get").get_data(as_text=True) == ("九台区" if found else "—")


def test_a_cookie_in_other_characters_is_no_session_and_no_error(store):
    client = small_app(store, Clock()).test_client()
    client.set_cookie("session", "令牌ab")
    response = client.get("/get")
    assert response.status_code == 200 and response.get_data(as_text=True) == "—"


def test_every_session_ends(store):
    with store.connect() as db:
        for name in ("a", "b"):
            db.execute("INSERT INTO sessions VALUES (?, '{}', 0, 0)", (name,))
    assert end_every_session(store) == 2
    assert rows(store, "SELECT * FROM sessions") == []


def scrypt(password: str, salt_hex: str) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=16384, r=8, p=1).hex()


def stored_password(store) -> dict:
    return json.loads(rows(store, "SELECT value FROM settings WHERE key = 'password'")[0][0])


def add_session(store) -> None:
    with store.connect() as db:
        db.execute("INSERT INTO sessions VALUES (lower(hex(randomblob(8))), '{}', 0, 0)")


def test_a_new_password_ends_every_session(store):
    add_session(store)
    assert password_changed(store, "春风") is False  # the first start: nothing to end
    kept = stored_password(store)
    assert len(kept["salt"]) == 32 and kept["hash"] == scrypt("春风", kept["salt"])
    assert rows(store, "SELECT count(*) FROM sessions") == [(1,)]
    assert password_changed(store, "春风") is False  # a restart with the same password
    assert stored_password(store) == kept and rows(store, "SELECT count(*) FROM sessions") == [(1,)]
    assert password_changed(store, "秋雨") is True
    assert rows(store, "SELECT count(*) FROM sessions") == [(0,)]
    kept = stored_password(store)
    assert kept["hash"] == scrypt("秋雨", kept["salt"])
    add_session(store)
    assert password_changed(store, None) is True  # the password taken away
    assert stored_password(store)["hash"] == "" and rows(store, "SELECT count(*) FROM sessions") == [(0,)]
    add_session(store)
    assert password_changed(store, None) is False  # still none
    assert rows(store, "SELECT count(*) FROM sessions") == [(1,)]
    assert password_changed(store, "春风") is True  # one given again
    assert rows(store, "SELECT count(*) FROM sessions") == [(0,)]


def test_no_password_at_the_first_start(store):
    assert password_changed(store, None) is False
    assert stored_password(store)["hash"] == ""


# --- sign-in throttling ---------------------------------------------------------------------------------


def test_the_delay_after_each_failure():
    assert [Throttle.delay(n) for n in range(16)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_waiting_counts_per_key_from_the_last_failure(store):
    clock = Clock()
    throttle = Throttle(store, clock)
    a, b, c = "地址 10.0.0.1", "账号 九台区", "账号 朝阳区"
    assert throttle.wait([a]) == 0.0
    for _ in range(4):
        throttle.failed([a, b])
    assert throttle.wait([a, b]) == 0.0  # four failures are free
    throttle.failed([a, b])
    assert throttle.wait([a]) == 1.0
    throttle.failed([b])
    assert throttle.wait([a, b]) == 2.0 and throttle.wait([b, c]) == 2.0 and throttle.wait([c]) == 0.0
    clock.now += 1.5
    assert throttle.wait([a, b]) == 0.5 and throttle.wait([a]) == 0.0
    clock.now += 10
    assert throttle.wait([b]) == 0.0  # past: not negative
    throttle.failed([b])  # the 7th: 4 s from now
    assert throttle.wait([b]) == 4.0
    assert rows(store, "SELECT key, failures, last FROM sign_in_failures ORDER BY key") == \
        [("地址 10.0.0.1", 5, T0), ("账号 九台区", 7, T0 + 11.5)]
    throttle.succeeded([b])
    assert throttle.wait([b]) == 0.0 and throttle.wait([a]) == 0.0
    assert rows(store, "SELECT key FROM sign_in_failures") == [("地址 10.0.0.1",)]


def test_failures_are_counted_by_address_and_by_account():
    assert throttle_keys("10.0.0.1", "九台区") == ["地址 10.0.0.1", "账号 九台区"]
    assert throttle_keys("10.0.0.1", "") == ["地址 10.0.0.1", "账号 管理员"]  # the shared password


@pytest.mark.parametrize("seconds, text", [(0.2, "1 秒"), (1, "1 秒"), (59, "59 秒"), (59.2, "1 分钟"),
                                           (60, "1 分钟"), (61, "2 分钟"), (300, "5 分钟")])
def test_how_long_to_wait_is_said(seconds, text):
    assert wait_message(seconds) == f"连续输错密码次数过多，请在 {text}后再试。"


# --- redirects ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def url_map():
    app = Flask(__name__)
    for rule, methods in (("/", ["GET"]), ("/region/<name>", ["GET"]), ("/return/<name>", ["GET"]),
                          ("/logout", ["POST"])):
        app.add_url_rule(rule, rule, lambda **_: "", methods=methods)
    return app.url_map


@pytest.mark.parametrize("target, expected", [
    ("/region/九台区", "/region/九台区"), ("/region/九台区?saved=ratings", "/region/九台区?saved=ratings"),
    ("/", "/"), (None, "/默认"), ("", "/默认"), ("region/九台区", "/默认"), ("//evil.example/", "/默认"),
    ("/\\evil.example/", "/默认"), ("/region/a\\b", "/默认"), ("/region/a b", "/默认"), ("/region/a\tb", "/默认"),
    ("/region/a\r\nSet-Cookie: x", "/默认"), ("/region/a\x00", "/默认"), ("/region/a\x7f", "/默认"),
    ("/region/a\u200b", "/默认"), ("/region/a\u2028", "/默认"), ("/region/a\u3000", "/默认"),
    ("https://evil.example/", "/默认"), ("/nowhere", "/默认"), ("/logout", "/默认"), ("/%09/evil.example", "/默认"),
])
def test_only_this_sites_pages_are_redirect_targets(url_map, target, expected):
    assert safe_target(target, url_map, "/默认") == expected


def test_the_default_target_is_the_board(url_map):
    assert safe_target("//evil.example/", url_map) == "/"


@pytest.mark.parametrize("asked, role, home, expected", [
    (None, "地区", "/return/九台区", "/return/九台区"), ("/", "地区", "/return/九台区", "/return/九台区"),
    ("/region/九台区", "地区", "/return/九台区", "/region/九台区"), ("//evil", "地区", "/return/九台区", "/return/九台区"),
    (None, "考评", "/", "/"), (None, "考评", "/其他", "/其他"), ("/region/朝阳区?x=1", "考评", "/", "/region/朝阳区?x=1"), ("/", "考评", "/return/x", "/"),
])
def test_where_a_sign_in_lands(url_map, asked, role, home, expected):
    assert landing(asked, url_map, role, home) == expected


# --- who may reach what ------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, admin, reviewer, region, nobody", [
    ("login", True, True, True, True), ("static", True, True, True, True), ("logout", True, True, True, True),
    ("password", True, True, True, True), ("accounts_page", True, False, False, False),
    ("deadlines_save", True, False, False, False), ("return_page", True, True, True, False),
    ("home", True, True, True, False), ("file", True, True, False, False), ("board", True, True, False, False),
    ("upload", True, True, False, False), ("audit_page", True, True, False, False),
])
def test_which_role_may_reach_which_page(endpoint, admin, reviewer, region, nobody):
    assert [allowed(endpoint, r) for r in ("管理员", "考评", "地区", None)] == [admin, reviewer, region, nobody]
    assert allowed(endpoint, "本机") is (endpoint in ("login", "static", "logout", "password"))


def user(role: str, region: str | None = None, must_change: bool = False) -> dict:
    return {"id": 7, "name": region or role, "role": role, "region": region, "must_change": must_change}


ADMIN, REVIEWER, REGION, LOCAL = user("管理员"), user("考评"), user("地区", "九台区"), user("本机")


@pytest.mark.parametrize("endpoint, method, path, region, who, required, expected", [
    # open pages, signed in or not
    ("login", "GET", "/login?", None, None, True, None), ("static", "GET", "/static/a.css?", None, None, True, None),
    ("logout", "POST", "/logout?", None, ADMIN | {"must_change": True}, True, None),
    # not signed in: to the sign-in page, back to the page asked for (a GET) or the board
    ("board", "GET", "/?", None, None, True, ("login", "/")),
    ("region_page", "GET", "/region/九台区?saved=ratings", "九台区", None, True, ("login", "/region/九台区?saved=ratings")),
    ("save_ratings", "POST", "/region/九台区/ratings?", "九台区", None, True, ("login", "/")),
    ("password", "GET", "/password?", None, None, True, ("login", "/password")),
    (None, "GET", "/nowhere?", None, None, True, ("login", "/nowhere")),
    (None, "GET", "/nowhereX?", None, None, True, ("login", "/nowhereX")),
    ("board", "GET", "/?", None, None, False, None),  # no password, no account: one clerk, this machine
    # a one-time code: change it first
    ("board", "GET", "/?", None, REVIEWER | {"must_change": True}, True, ("password", "")),
    (None, "GET", "/nowhere?", None, REGION | {"must_change": True}, True, ("password", "")),
    ("password", "POST", "/password?", None, REGION | {"must_change": True}, True, None),
    ("password", "GET", "/password?", None, REGION, True, None),
    ("password", "POST", "/password?", None, ADMIN, True, None),  # every account changes its own password
    (None, "GET", "/nowhere?", None, REGION, True, None),  # not found comes next
    # the one clerk of before: everything
    ("accounts_add", "POST", "/accounts/add?", None, LOCAL, True, None),
    ("save_ratings", "POST", "/region/朝阳区/ratings?", "朝阳区", LOCAL, True, None),
    # roles
    ("board", "GET", "/?", None, REGION, True, ("home", "九台区")),
    ("board", "GET", "/?", None, REVIEWER, True, None),
    ("file", "GET", "/file?path=等次函/九台区.pdf", None, REGION, True, ("refuse", NO_RIGHT)),
    ("file", "GET", "/file?path=等次函/九台区.pdf", None, REVIEWER, True, None),
    ("accounts_page", "GET", "/accounts?", None, REVIEWER, True, ("refuse", NO_RIGHT)),
    ("accounts_add", "POST", "/accounts/add?", None, ADMIN, True, None),
    ("generate", "GET", "/generate?", None, ADMIN, True, None),
    ("generate", "POST", "/generate?", None, ADMIN, True, ("refuse", ADMIN_NO_WORK)),
    ("generate", "POST", "/generate?", None, REVIEWER, True, None),
    # a region: its own pages only
    ("return_page", "GET", "/return/九台区?", "九台区", REGION, True, None),
    ("return_page", "GET", "/return/朝阳区?", "朝阳区", REGION, True, ("refuse", OTHER_REGION)),
    ("return_save", "POST", "/return/朝阳区?", "朝阳区", REGION, True, ("refuse", OTHER_REGION)),
    ("home", "GET", "/home?", None, REGION, True, None),
    ("return_page", "GET", "/return/朝阳区?", "朝阳区", REVIEWER, True, None),
])
def test_what_happens_before_every_request(endpoint, method, path, region, who, required, expected):
    assert access(endpoint, method, path, region, who, required) == expected


# --- password expiry ------------------------------------------------------------------------------------

DAY = 86400


@pytest.mark.parametrize("age, days, expired", [
    (90 * DAY, 90, False),  # exactly 90 days: still good
    (90 * DAY + 1, 90, True),  # one second more: expired
    (0, 90, False), (-5 * DAY, 90, False),  # a clock stepping back expires nothing
    (1 * DAY, 1, False), (1 * DAY + 1, 1, True),
    (10_000 * DAY, 0, False),  # 0: passwords do not expire
])
def test_a_password_expires_after_its_days(age, days, expired):
    assert password_expired(age, days) is expired


@pytest.mark.parametrize("age, days, left", [
    (83 * DAY - 1, 90, None),  # more than 7 days left: no reminder yet
    (83 * DAY, 90, 7),  # exactly 7 days left
    (83 * DAY + 1, 90, 7),  # 6 days and a bit: counted up
    (84 * DAY, 90, 6),
    (89 * DAY + 1, 90, 1),
    (90 * DAY, 90, 1),  # the last second: still “1 day”, never 0
    (90 * DAY + 1, 90, None),  # expired: the password page says so instead
    (89 * DAY, 0, None), (0, 0, None), (-DAY, 0, None),  # no expiry, even on the day it was set
    (0, 3, 3), (0, 1, 1),  # a period shorter than the reminder
])
def test_a_reminder_in_the_last_week(age, days, left):
    assert password_reminder(age, days) == left


@pytest.mark.parametrize("must_change, endpoint, expected", [
    (True, "board", ("password", "")), (True, "password", None), (True, "logout", None), (False, "board", None),
])
def test_an_expired_password_is_a_password_to_change(must_change, endpoint, expected):
    """``current_user`` marks an expired password ``must_change``: ``access`` has one rule for both."""
    assert access(endpoint, "GET", "/?", None, REVIEWER | {"must_change": must_change, "expired": 90}, True) == expected


def test_the_refusals_say_why():
    assert NO_RIGHT == "您的账号无权使用这个页面。"
    assert ADMIN_NO_WORK == "管理员账号只管理账号和截止日期；考评、退回、生成请用考评账号。"
    assert OTHER_REGION == "只能查看和填报本地区的考评表。"


# --- the form token --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent, expected, ok", [
    ("Zk3-abc_1", "Zk3-abc_1", True), ("Zk3-abc_1", "Zk3-abc_2", False), ("", "", False), (None, "x", False),
    ("x", "", False), ("令牌", "令牌", True), ("令牌", "Zk3-abc_1", False), ("Zk3-abc_1", "令牌", False),
])
def test_the_form_token(sent, expected, ok):
    assert form_token_ok(sent, expected) is ok


# --- downloads: the manifest's files only ---------------------------------------------------------------------


@pytest.fixture
def output(tmp_path) -> Path:
    out = tmp_path / "work" / "output"
    (out / "等次函").mkdir(parents=True)
    (out / ".cache").mkdir()
    (out / "等次函" / "九台区.pdf").write_bytes(b"%PDF ours")
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    (out / ".cache" / "form.bin").write_bytes(b"cache")
    (tmp_path / "work" / "secret.key").write_bytes(b"secret")
    (tmp_path / "elsewhere.pdf").write_bytes(b"%PDF not ours")
    (out / "等次函" / "link.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    return out


def test_a_file_inside_the_output_folder(output):
    assert inside(output, "等次函/九台区.pdf") == (output / "等次函" / "九台区.pdf").resolve()
    assert inside(output, "./等次函/../等次函/九台区.pdf") == (output / "等次函" / "九台区.pdf").resolve()
    for path in ("等次函", ".", "", "../secret.key", "../../elsewhere.pdf", "等次函/link.pdf", "等次函/无.pdf",
                 str(output.parent / "secret.key")):
        assert inside(output, path) is None, path


def test_only_files_the_manifest_names_are_given(output):
    entry = {"path": "等次函/九台区.pdf", "kind": "letter"}
    manifest = {"等次函/九台区.pdf": entry, "伪": {"path": "../secret.key"}, "链": {"path": "等次函/link.pdf"},
                "别名": {"path": "等次函/九台区.pdf"}}
    good = (output / "等次函" / "九台区.pdf").resolve()
    assert manifest_file(output, manifest, "等次函/九台区.pdf") == good
    assert manifest_file(output, manifest, "别名") == good  # by the entry's own path
    for path in ("manifest.json", ".cache/form.bin", "伪", "链", "等次函", "等次函/无.pdf", ""):
        assert manifest_file(output, manifest, path) is None, path
    seen = []
    assert manifest_file(output, manifest, "等次函/九台区.pdf", lambda e: seen.append(e) or True) == good
    assert seen == [entry]
    assert manifest_file(output, manifest, "等次函/九台区.pdf", lambda e: False) is None  # stale: 已过期


# --- Host, Origin, Referer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host, port, public, expected", [
    ("127.0.0.1", 8080, None, {"localhost:8080", "127.0.0.1:8080", "[::1]:8080"}),
    ("localhost", None, None, {"localhost", "127.0.0.1", "[::1]"}),
    ("::1", 80, None, {"localhost:80", "127.0.0.1:80", "[::1]:80"}),
    ("10.0.0.5", 8000, "https://KaoPing.example:8443/kp", {"10.0.0.5:8000", "kaoping.example:8443"}),
    ("Kaoping.Example", 8000, None, {"kaoping.example:8000"}),
    ("FE80::1", 8000, None, {"fe80::1:8000", "[fe80::1]:8000"}),
    ("[fe80::1]", None, None, {"[fe80::1]"}),
])
def test_the_host_names_this_site_answers_to(host, port, public, expected):
    assert served_hosts(host, port, public) == expected


@pytest.mark.parametrize("asked, hosts, ok", [
    ("LOCALHOST:8080", {"localhost:8080"}, True), ("localhost:9090", {"localhost:8080"}, False),
    ("kaoping.example:443", {"kaoping.example"}, True), ("kaoping.example", {"kaoping.example"}, True),
    ("evil.example:443", {"kaoping.example"}, False), ("[::1]", {"[::1]"}, True), ("[::1]:8080", {"[::1]"}, True),
    ("[fe80::1]", {"[fe80:"}, False), ("evil.example", {"evil.example:80"}, False),
])
def test_the_host_header_is_checked(asked, hosts, ok):
    assert host_allowed(asked, hosts) is ok


def asked(host="localhost:8080", **headers):
    return SimpleNamespace(host=host, headers=headers)


@pytest.mark.parametrize("request_, ok", [
    (asked(Origin="http://localhost:8080"), True), (asked(Origin="https://LOCALHOST:8080"), True),
    (asked(host="LocalHost:8080", Origin="http://localhost:8080"), True),
    (asked(Origin="http://localhost:9090"), False), (asked(Origin="http://evil.example"), False),
    (asked(Origin="null", Referer="http://localhost:8080/"), False), (asked(Origin="ftp://localhost:8080"), False),
    (asked(Referer="http://localhost:8080/region/九台区"), True), (asked(Referer="https://evil.example/"), False),
    (asked(Origin="http://evil.example", Referer="http://localhost:8080/"), False),
    (asked(Referer="javascript:alert(1)"), False), (asked(), False),
])
def test_a_post_must_come_from_this_site(request_, ok):
    assert same_origin(request_) is ok


# --- the same, through the page ------------------------------------------------------------------------------------


def test_a_token_in_other_characters_is_refused_not_an_error(tmp_path):
    """A forged token in Chinese made the comparison raise (500); it is refused as any wrong one."""
    app = create_app(CONTENT, tmp_path / "work")
    client = app.test_client()
    token(client)
    for forged in ("令牌", "Zk3-令牌-abc", "\x00"):
        response = client.post("/generate", data={"csrf_token": forged})
        assert response.status_code == 400, forged
        assert "表单已过期或来源不明（缺少校验码）" in response.get_data(as_text=True)
    assert not app.extensions["site"].generation.running


PASSWORDS = {"九台区": "Jiutai-2016春风", "李明": "Liming-2016秋雨", "管理员甲": "Admin-2016冬雪"}


def test_roles_and_sign_in_through_the_page(tmp_path):
    clock = Clock()
    app = create_app(CONTENT, tmp_path / "work", clock=clock)
    accounts = app.extensions["site"].accounts
    codes = {name: accounts.add(name, role, region, CONTENT)
             for name, role, region in (("九台区", "地区", "九台区"), ("李明", "考评", None), ("管理员甲", "管理员", None))}
    for name, code in codes.items():
        accounts.set_password(accounts.by_name(name)["id"], code, PASSWORDS[name])
    region = app.test_client()
    response = region.get("/region/九台区?saved=ratings")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/region/%E4%B9%9D%E5%8F%B0%E5%8C%BA?saved%3Dratings"
    csrf = token(region, "/login")
    response = region.post("/login", data={"csrf_token": csrf, "account": "九台区", "password": PASSWORDS["九台区"]})
    assert response.status_code == 302 and response.headers["Location"] == "/return/%E4%B9%9D%E5%8F%B0%E5%8C%BA"
    assert region.get("/").headers["Location"] == "/return/%E4%B9%9D%E5%8F%B0%E5%8C%BA"
    response = region.get("/return/朝阳区")
    assert response.status_code == 403 and OTHER_REGION in response.get_data(as_text=True)
    response = region.get("/file", query_string={"path": "等次函/九台区.pdf"})
    assert response.status_code == 403 and NO_RIGHT in response.get_data(as_text=True)
    admin = app.test_client()
    csrf = token(admin, "/login")
    response = admin.post("/login?next=/generate", data={"csrf_token": csrf, "account": "管理员甲",
                                                          "password": PASSWORDS["管理员甲"]})
    assert response.headers["Location"] == "/generate"
    response = admin.post("/generate", data={"csrf_token": token(admin, "/generate")})
    assert response.status_code == 403 and ADMIN_NO_WORK in response.get_data(as_text=True)
    # five wrong passwords for 李明, then one second's wait, even with the right one
    reviewer = app.test_client()
    csrf = token(reviewer, "/login")
    for _ in range(5):
        response = reviewer.post("/login", data={"csrf_token": csrf, "account": "李明", "password": "错的"})
        assert response.status_code == 401 and "账号或密码不对，请重新输入。" in response.get_data(as_text=True)
    response = reviewer.post("/login", data={"csrf_token": csrf, "account": "李明", "password": PASSWORDS["李明"]})
    assert response.status_code == 429 and "请在 1 秒后再试。" in response.get_data(as_text=True)
    clock.now += 1
    response = reviewer.post("/login", data={"csrf_token": csrf, "account": "李明", "password": PASSWORDS["李明"]})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    # disabled: the session signed in before ends at its next request
    accounts.disable("九台区")
    response = region.get("/return/九台区")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_download_not_in_the_manifest_is_not_found_through_the_page(tmp_path, output):
    app = create_app(CONTENT, tmp_path / "work")
    client = app.test_client()
    assert app.extensions["site"].output == output
    for path in ("manifest.json", ".cache/form.bin", "等次函/九台区.pdf", "../secret.key"):
        response = client.get("/file", query_string={"path": path})
        assert response.status_code == 404 and "没有这个页面或文件。" in response.get_data(as_text=True), path
    assert client.get("/all.zip").status_code == 200

