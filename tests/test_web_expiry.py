"""Password expiry (等保 2.0 身份鉴别: passwords can be made to expire): the 管理员 sets the 密码有效期
(default 90 days, 0 = none, recorded in the audit log); a password older than that sends its account
to the password page and nowhere else until changed; a reminder in the last 7 days; `users list`
shows each password's age. Time passes only when the test says so (the page's injected clock)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

from pipeline.web import create_app
from pipeline.web.guard import IDLE_SECONDS

from .conftest import ROOT, Cli
from .test_web import CONTENT, token
from .test_web_accounts import GOOD, add, db_rows, sign_in

DAY = 86400
T0 = 1_796_000_000.0  # 2026-11-30: a realistic time, the stored dates stay readable
EXPIRED = "密码已超过 90 天有效期，请修改密码后继续。"


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path, clock):
    app = create_app(CONTENT, tmp_path / "work", clock=clock)
    app.config["TESTING"] = True
    return app


def nav_links(page: str) -> list[str]:
    """The links the header's navigation offers."""
    return re.findall(r'<a href="([^"]+)"', page.split("<nav>", 1)[1].split("</nav>", 1)[0])


def change(client, old, new):
    return client.post("/password", data={"csrf_token": token(client, "/password"), "old": old, "new": new,
                                          "again": new})


def test_expiry_at_the_boundary_then_only_the_password_page(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock)
    add(app, "管理员甲", "管理员")
    code = add(app, "九台区", "地区")
    sign_in(app, "九台区", code, new=GOOD)

    clock.now = T0 + 90 * DAY  # exactly 90 days after the password was set: still good
    client = sign_in(app, "九台区", GOOD)
    page = client.get("/return/九台区")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "您的密码将在 1 天内到期" in text and EXPIRED not in text

    clock.now += 1  # one second more: expired, in the same session
    for path in ("/return/九台区", "/home", "/", "/return/九台区.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/password"), path
    response = client.post("/return/九台区", data={"csrf_token": token(client, "/password")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/password")
    page = client.get("/password").get_data(as_text=True)
    assert EXPIRED in page and "一次性登录码" not in page and "您的密码将在" not in page
    nav = nav_links(page)  # only what leads somewhere: no link that would bounce back here
    assert nav == ["/password"] and "退出" in page, nav

    response = change(client, GOOD, GOOD)  # the old password again: refused
    assert response.status_code == 400 and "新密码不能与原密码相同" in response.get_data(as_text=True)
    assert client.get("/return/九台区").status_code == 302

    response = change(client, GOOD, "Xin-Mima-2027")
    assert response.status_code == 302
    page = client.get("/return/九台区")
    assert page.status_code == 200 and "您的密码将在" not in page.get_data(as_text=True)  # the clock starts again
    assert nav_links(page.get_data(as_text=True)) == ["/return/%E4%B9%9D%E5%8F%B0%E5%8C%BA", "/password"]
    set_at = db_rows(app, "SELECT password_set_at FROM accounts WHERE name = '九台区'")[0]["password_set_at"]
    assert set_at == dt.datetime.fromtimestamp(T0 + 90 * DAY + 1).isoformat(timespec="seconds")

    clock.now += 90 * DAY + 1  # and runs out again 90 days later
    client = sign_in(app, "九台区", "Xin-Mima-2027")
    assert client.get("/return/九台区").headers["Location"].endswith("/password")


def test_a_signed_in_session_meets_expiry_on_its_next_request(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock)
    add(app, "管理员甲", "管理员")
    clock.now = T0 - 90 * DAY + 60  # the password was set 90 days less a minute before T0
    code = add(app, "张科长", "考评")
    client = sign_in(app, "张科长", code, new=GOOD)  # set_at: the same second
    clock.now = T0 + 60  # fresh session, a minute before expiry
    client = sign_in(app, "张科长", GOOD)
    assert client.get("/").status_code == 200
    clock.now += 61
    assert clock.now - (T0 + 60) < IDLE_SECONDS
    assert client.get("/").headers["Location"].endswith("/password")
    assert client.get("/stats").headers["Location"].endswith("/password")


def test_the_reminder_starts_seven_days_before(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock)
    add(app, "管理员甲", "管理员")
    code = add(app, "张科长", "考评")
    sign_in(app, "张科长", code, new=GOOD)
    clock.now = T0 + 83 * DAY - 1
    page = sign_in(app, "张科长", GOOD).get("/").get_data(as_text=True)
    assert "密码将在" not in page
    clock.now = T0 + 83 * DAY
    page = sign_in(app, "张科长", GOOD).get("/").get_data(as_text=True)
    assert re.search(r'id="password-reminder">您的密码将在 7 天内到期，请及时<a href="/password">修改密码</a>', page)


def test_a_one_time_code_is_not_called_expired(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock)
    add(app, "管理员甲", "管理员")
    code = add(app, "张科长", "考评")
    clock.now = T0 + 100 * DAY
    client = sign_in(app, "张科长", code)
    page = client.get("/password").get_data(as_text=True)
    assert "您正在使用一次性登录码" in page and "有效期" not in page and "您的密码将在" not in page


def test_the_admin_sets_the_days_and_it_is_audited(tmp_path):
    clock = Clock()
    app = make_app(tmp_path, clock)
    code = add(app, "管理员甲", "管理员")
    admin = sign_in(app, "管理员甲", code, new=GOOD)
    reviewer_code = add(app, "张科长", "考评")
    reviewer = sign_in(app, "张科长", reviewer_code, new=GOOD)
    page = admin.get("/accounts").get_data(as_text=True)
    assert 'id="password_days" min="0" max="3650" value="90"' in page  # the default
    assert "已用 0 天，90 天后到期" in page

    def save(value):
        return admin.post("/password-days", data={"csrf_token": token(admin, "/accounts"), "password_days": value})

    assert save("30").status_code == 302
    clock.now = T0 + 30 * DAY + 1
    admin = sign_in(app, "管理员甲", GOOD)  # expired under the new period, the admin too
    page = admin.get("/password").get_data(as_text=True)
    assert "密码已超过 30 天有效期，请修改密码后继续。" in page
    assert admin.get("/accounts").headers["Location"].endswith("/password")
    assert change(admin, GOOD, "Guan-Li-2027!").status_code == 302
    page = admin.get("/accounts").get_data(as_text=True)
    assert "已用 30 天，已超过 30 天有效期" in page  # 张科长's

    assert save("").status_code == 302  # empty: passwords do not expire
    reviewer = sign_in(app, "张科长", GOOD)
    assert reviewer.get("/").status_code == 200
    page = admin.get("/accounts").get_data(as_text=True)
    assert 'value=""' in page and "目前密码不过期" in page and "已用 30 天，不过期" in page

    for bad in ("abc", "-1", "3651", "1.5", "９０"):
        response = save(bad)
        assert response.status_code == 400, bad
        assert "密码有效期应为 0 至 3650 之间的整数天数" in response.get_data(as_text=True)
    assert save("0").status_code == 302  # same as before: nothing recorded

    rows = db_rows(app, "SELECT account, event, object, old, new FROM audit WHERE event = '修改密码有效期' ORDER BY id")
    assert rows == [
        {"account": "管理员甲", "event": "修改密码有效期", "object": "密码有效期", "old": "90 天", "new": "30 天"},
        {"account": "管理员甲", "event": "修改密码有效期", "object": "密码有效期", "old": "30 天", "new": "不过期"},
    ]
    # only the 管理员 sets it
    response = reviewer.post("/password-days", data={"csrf_token": token(reviewer, "/"), "password_days": "5"})
    assert response.status_code == 403
    assert app.extensions["site"].accounts.password_days() == 0


def test_users_list_shows_each_passwords_age(tmp_path):
    cli = Cli(ROOT)
    data = tmp_path / "w"
    cli("users", "add", "张科长", "--role", "考评", "--data", data)
    cli("users", "add", "李科长", "--role", "考评", "--data", data)
    old = (dt.datetime.now() - dt.timedelta(days=100, hours=1)).isoformat(timespec="seconds")
    with sqlite3.connect(data / "pipeline.sqlite3") as db:
        db.execute("UPDATE accounts SET password_set_at = ? WHERE name = '张科长'", (old,))
    listing = cli("users", "list", "--data", data).output
    assert "张科长\t考评\t\t待首次登录改密码\t密码已用 100 天，已超过 90 天有效期" in listing
    assert "李科长\t考评\t\t待首次登录改密码\t密码已用 0 天，90 天后到期" in listing
    assert "共 2 个账号；密码有效期：90 天。" in listing
