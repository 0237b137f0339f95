"""Password expiry in a real browser (Debian's Chromium through Playwright, against the app under
waitress, its clock set by the test): the 管理员 sets the 密码有效期 on the accounts page; a week
before the end the page reminds; past it, signing in leads only to the password page and its
message until the password is changed."""

from __future__ import annotations

import pytest

from .test_browser import browser  # noqa: F401  (fixture)
from .test_browser_accounts import served_app, shot, sign_in

DAY = 86400
T0 = 1_796_000_000.0


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path):
    clock = Clock()
    with served_app(tmp_path, clock) as (address, codes, _):
        yield address, codes, clock


def test_an_expired_password_in_a_browser(served, browser):  # noqa: F811
    url, codes, clock = served
    new = "Xin-Mima-2026"
    admin = sign_in(browser, url, "管理员甲", codes["管理员甲"], new)
    admin.goto(url + "/accounts")
    assert admin.input_value("#password_days") == "90"
    admin.fill("#password_days", "60")
    admin.click("#save-password-days")
    admin.wait_for_load_state()
    assert admin.input_value("#password_days") == "60"
    sign_in(browser, url, "张科长", codes["张科长"], new).context.close()
    admin.context.close()

    clock.now = T0 + 55 * DAY  # five days left: a reminder on every page
    page = sign_in(browser, url, "张科长", new)
    assert page.inner_text("#password-reminder") == "您的密码将在 5 天内到期，请及时修改密码。"
    page.context.close()

    clock.now = T0 + 60 * DAY + 1
    page = sign_in(browser, url, "张科长", new)
    assert page.url.endswith("/password")
    assert page.inner_text("#password-expired") == "密码已超过 60 天有效期，请修改密码后继续。"
    shot(page, "web-password-expired")
    page.goto(url + "/stats")
    assert page.url.endswith("/password")
    page.fill("#old", new)
    page.fill("#new", new)
    page.fill("#again", new)
    page.click("#change")
    page.wait_for_load_state()
    assert "新密码不能与原密码相同" in page.inner_text("#password-error")
    page.fill("#old", new)
    page.fill("#new", "Xin-Mima-2027")
    page.fill("#again", "Xin-Mima-2027")
    page.click("#change")
    page.wait_for_load_state()
    assert page.url == url + "/"
    page.goto(url + "/stats")
    assert page.url.endswith("/stats") and page.locator("#password-reminder").count() == 0
