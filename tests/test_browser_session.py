"""A session that ends under a clerk's form, in a real browser (Debian's Chromium through Playwright,
against the app under waitress, its clock set by the test): what was typed is offered back after
signing in again on the same page; the sign-in page says why; Back after 退出 shows nothing of the
account; leaving the region's form with unsaved entries asks first; an upload over the limit gets
the site's page and a way back."""

from __future__ import annotations

import pytest

from pipeline.web.guard import IDLE_SECONDS

from .test_browser import browser  # noqa: F401  (fixture)
from .test_browser_accounts import served_app, shot, sign_in
from .test_browser_expiry import Clock
from .test_web import CONTENT
from .test_web_return import pdf_bytes

REGION = "长春市"
NEW = "Xin-Mima-2026"
NOTE = "全年完成各项民政工作任务，详见工作总结。" * 20


@pytest.fixture
def served(tmp_path):
    clock = Clock()
    with served_app(tmp_path, clock) as (address, codes, app):
        codes[REGION] = app.extensions["site"].accounts.add(REGION, "地区", REGION, CONTENT)
        yield address, codes, clock, app


def fill_some(page, tmp_path):
    page.select_option("select[name='self:1.4']", "优秀")
    page.fill("textarea[name='note:1.4']", NOTE)
    (tmp_path / "总结.pdf").write_bytes(pdf_bytes("总结"))
    page.set_input_files("input[name='evidence:1.2']", str(tmp_path / "总结.pdf"))


def test_an_idle_session_ends_under_the_form_and_nothing_is_lost(served, browser, tmp_path):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, REGION, codes[REGION], NEW)
    assert page.url == url + "/return/%E9%95%BF%E6%98%A5%E5%B8%82?saved=password"
    assert page.locator("#draft-offer").count() == 0
    fill_some(page, tmp_path)
    clock.now += IDLE_SECONDS + 1
    page.click("#save-draft")
    page.wait_for_selector("#login-notice")
    assert "/login?next=" in page.url and page.url.endswith("&why=timeout")
    assert page.inner_text("#login-notice") == "登录已超时（超过 30 分钟未操作），请重新登录。登录后将回到原来的页面。"
    assert page.is_visible("#drafts-kept")
    shot(page, "web-session-timeout")
    page.fill("#account", REGION)
    page.fill("#password", NEW)
    page.click("#sign-in")
    page.wait_for_selector("#draft-offer")
    assert page.url == url + "/return/%E9%95%BF%E6%98%A5%E5%B8%82"  # the same page, not the home page
    assert "本页有 2 处填写在上次提交时未能保存" in page.inner_text("#draft-offer")
    assert page.input_value("select[name='self:1.4']") == ""  # nothing was saved
    assert app.extensions["site"].store.rows(REGION) == {}
    page.click("#draft-restore")
    assert page.input_value("select[name='self:1.4']") == "优秀"
    assert page.input_value("textarea[name='note:1.4']") == NOTE
    assert "请重新选择：1.2 佐证材料" in page.inner_text("#draft-restored")
    shot(page, "web-session-restored")
    page.click("#save-draft")
    page.wait_for_selector("#saved")
    rows = app.extensions["site"].store.rows(REGION)
    assert rows["1.4"]["self_rating"] == "优秀" and rows["1.4"]["remarks"] == NOTE
    page.reload()
    assert page.locator("#draft-offer").count() == 0  # saved: nothing more is offered
    assert page.evaluate("Object.keys(sessionStorage).length") == 0


def change_password(page, url: str, old: str, new: str) -> None:
    page.goto(url + "/password")
    page.fill("#old", old)
    page.fill("#new", new)
    page.fill("#again", new)
    page.click("#change")
    page.wait_for_selector("#saved")


def test_a_password_changed_elsewhere_is_said_and_the_draft_waits(served, browser, tmp_path):  # noqa: F811
    url, codes, clock, app = served
    a = sign_in(browser, url, REGION, codes[REGION], NEW)
    b = sign_in(browser, url, REGION, NEW)  # another browser (its own cookies)
    change_password(b, url, NEW, NEW + "!")
    a.select_option("select[name='self:1.4']", "优秀")
    a.click("#save-draft")
    a.wait_for_selector("#login-notice")
    assert a.inner_text("#login-notice").startswith("本账号的密码已在其他地方修改，此处的登录随之失效，请用新密码重新登录。")
    shot(a, "web-session-password-elsewhere")
    # in the same browser, another tab's new sign-in makes this tab's form token stale: a way back
    tab = b.context.new_page()
    tab.goto(url + "/return/%E9%95%BF%E6%98%A5%E5%B8%82")
    change_password(b, url, NEW + "!", NEW + "?")
    tab.select_option("select[name='self:1.2']", "达标")
    tab.click("#save-draft")
    tab.wait_for_selector("#back")
    assert "可能已在其他窗口重新登录或修改了密码" in tab.inner_text("main")
    tab.click("#back")
    tab.wait_for_selector("#draft-offer")
    tab.click("#draft-restore")
    assert tab.input_value("select[name='self:1.2']") == "达标"


def test_back_after_signing_out_shows_nothing_of_the_account(served, browser):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, REGION, codes[REGION], NEW)
    page.goto(url + "/return/%E9%95%BF%E6%98%A5%E5%B8%82")
    page.click("header form button")
    page.wait_for_selector("#login-notice")
    assert page.inner_text("#login-notice") == "您已退出登录。"
    assert not page.is_visible("#drafts-kept")
    shot(page, "web-signed-out")
    page.go_back()
    page.wait_for_load_state()
    assert "/login" in page.url and page.locator("#return-form").count() == 0
    assert REGION + "（地区）" not in page.inner_text("body")


def dialogs(page, answer):
    """The dialogs the page opens; each accepted or dismissed as ``answer["accept"]`` says."""
    seen = []

    def on_dialog(dialog):
        seen.append(dialog.type)
        dialog.accept() if answer["accept"] else dialog.dismiss()
    page.on("dialog", on_dialog)
    return seen


TYPED = {
    "self-rating": lambda page: page.select_option("select[name='self:1.1']", "达标"),
    "note": lambda page: page.fill("textarea[name='note:1.2']", "说明"),
    "evidence": lambda page: page.set_input_files("input[name='evidence:1.3']", files=[
        {"name": "a.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]),
}
LEAVE = {"修改密码": "header a[href='/password']", "退出": "header form button", "上传考评表": "#upload-xlsx"}


def test_leaving_the_regions_form_with_unsaved_entries_asks_first(served, browser):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, REGION, codes[REGION], NEW)
    form = url + "/return/%E9%95%BF%E6%98%A5%E5%B8%82"
    answer = {"accept": False}
    seen = dialogs(page, answer)
    page.click(LEAVE["修改密码"])  # nothing typed: leaves without asking
    page.wait_for_url("**/password")
    assert seen == []
    for what, typed in TYPED.items():
        for label, leave in LEAVE.items():
            page.goto(form)
            typed(page)
            seen.clear()
            page.click(leave)
            page.wait_for_timeout(200)
            assert seen == ["beforeunload"], (what, label)
            assert page.url == form and page.locator("#return-form").count() == 1, (what, label)
            answer["accept"] = True  # leave after all, for the next round
            page.goto(url + "/password")
            answer["accept"] = False
    # the department's page watches its reasons too, not only its ratings
    assert "form.addEventListener(\"input\"" in page.request.get(url + "/static/region.js").text()


def test_the_forms_own_buttons_do_not_ask(served, browser):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, REGION, codes[REGION], NEW)
    seen = dialogs(page, {"accept": False})
    page.select_option("select[name='self:1.1']", "达标")
    page.click("#save-draft")
    page.wait_for_selector("#saved")
    page.select_option("select[name='self:1.2']", "达标")
    page.click("#submit")
    page.wait_for_selector("#errors")  # not every task rated: saved as a draft, said
    assert seen == []
    assert app.extensions["site"].store.rows(REGION)["1.2"]["self_rating"] == "达标"


def test_an_upload_over_the_limit_gets_the_sites_page_and_a_way_back(served, browser, tmp_path):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, REGION, codes[REGION], NEW)
    assert "每次保存合计不超过 100 兆字节" in page.inner_text("#return-form")
    big = tmp_path / "很大的扫描件.pdf"
    with open(big, "wb") as handle:  # sparse: 101 MiB of nothing, quick to make
        handle.truncate(101 * 1024 * 1024)
    page.select_option("select[name='self:1.4']", "优秀")
    page.set_input_files("input[name='evidence:1.1']", str(big))
    page.click("#save-draft")  # the page's script refuses it before it is sent
    page.wait_for_selector("#too-much")
    assert page.inner_text("#too-much") == ("未保存：所选的佐证材料合计 101 兆字节，超过每次保存合计 100 兆字节的上限。"
                                            "请少选几个文件，分几次保存；已填写的内容仍在本页。")
    assert "/return/%E9%95%BF%E6%98%A5%E5%B8%82" in page.url and page.input_value("select[name='self:1.4']") == "优秀"
    shot(page, "web-too-much-selected")
    # without that check (an old page, a script not run) the server refuses it on its headers
    page.evaluate("document.getElementById('return-form').removeAttribute('data-max-save')")
    page.click("#save-draft")
    page.wait_for_selector("#error-lines")
    text = page.inner_text("main")
    assert "文件太大，未保存" in text and "每次保存合计不超过 100 兆字节" in text and "max_body" not in text
    shot(page, "web-too-large")
    page.click("#back")
    page.wait_for_selector("#draft-offer")
    page.click("#draft-restore")
    assert page.input_value("select[name='self:1.4']") == "优秀"
    assert "很大的扫描件.pdf" not in page.inner_text("#draft-restored")  # names the task's field, not the file
    assert "1.1 佐证材料" in page.inner_text("#draft-restored")


def test_the_departments_ratings_are_kept_and_guarded_the_same_way(served, browser):  # noqa: F811
    url, codes, clock, app = served
    page = sign_in(browser, url, "张科长", codes["张科长"], NEW)
    answer = {"accept": False}
    seen = dialogs(page, answer)
    form = url + "/region/%E9%95%BF%E6%98%A5%E5%B8%82"
    page.goto(form)
    page.select_option("select[name='final:1.1']", "优秀")
    page.click("header a[href='/']")
    page.wait_for_timeout(200)
    assert seen == ["beforeunload"] and page.url == form
    clock.now += IDLE_SECONDS + 1
    page.click("#save")
    page.wait_for_selector("#login-notice")
    assert "登录已超时" in page.inner_text("#login-notice")
    page.fill("#account", "张科长")
    page.fill("#password", NEW)
    page.click("#sign-in")
    page.wait_for_selector("#draft-offer")
    assert page.url == form
    page.click("#draft-restore")
    assert page.input_value("select[name='final:1.1']") == "优秀"
    assert "differs" not in (page.get_attribute("tr[data-task='1.1']", "class") or "")  # no self-rating to differ from
    page.click("#save")
    page.wait_for_selector("p.saved")
    assert app.extensions["site"].store.rows(REGION)["1.1"]["final_rating"] == "优秀"
