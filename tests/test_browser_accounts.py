"""Issue #17's round trip in a real browser (Debian's Chromium through Playwright, against the app
under waitress): the 管理员 creates two region accounts; region A signs in, changes its code,
fills part online, attaches a PDF, uploads its workbook for the rest, submits; the department
sends it back with a reason; A sees the reason, corrects, submits; the department enters final
ratings with one differing (reason given) and issues A's letter; region B sees none of A's."""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.web import create_app

from .test_browser import CHROMIUM, DOCS, browser  # noqa: F401  (fixture)
from .test_classes import COUNTY
from .test_web import CONTENT, blanks, filled  # noqa: F401  (fixture)
from .test_web_return import pdf_bytes

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "")) if os.environ.get("SCREENSHOT_DIR") else None


@contextlib.contextmanager
def served_app(tmp_path, clock=time.time):
    """The app under waitress on a free port with a 管理员 and a 考评 account: (its address, the
    accounts' one-time codes, the app)."""
    from pipeline.web import make_server, run_until_closed

    app = create_app(CONTENT, tmp_path / "work", clock=clock)
    accounts = app.extensions["site"].accounts
    codes = {"管理员甲": accounts.add("管理员甲", "管理员"), "张科长": accounts.add("张科长", "考评")}
    server = make_server(app, "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=run_until_closed, args=(server,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", codes, app
    finally:
        server.close()


@pytest.fixture
def served(tmp_path):
    with served_app(tmp_path) as started:
        yield started


def shot(page, name):
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") and name in ("web-return", "web-accounts"):
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def sign_in(browser, url, name, password, new=None):  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(url + "/")
    page.fill("#account", name)
    page.fill("#password", password)
    page.click("#sign-in")
    if new:
        page.wait_for_selector("#first-sign-in")
        page.fill("#old", password)
        page.fill("#new", new)
        page.fill("#again", new)
        page.click("#change")
    page.wait_for_load_state()
    return page


def test_regions_return_their_own_assessment_in_a_browser(served, browser, blanks, tmp_path):  # noqa: F811
    url, codes, app = served
    new = "Xin-Mima-2026"
    # the 管理员 creates two region accounts on the page
    admin = sign_in(browser, url, "管理员甲", codes["管理员甲"], new)
    admin.goto(url + "/accounts")
    region_codes = {}
    for region in ("九台区", "朝阳区"):
        admin.select_option("#role", "地区")
        admin.select_option("#region", region)
        admin.click("#add")
        region_codes[region] = admin.inner_text(".one-time-code").strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", region_codes["九台区"])
    admin.fill("#self_due", "2099-12-31")
    admin.click("#save-deadlines")
    admin.wait_for_selector("#deadline")
    shot(admin, "web-accounts")

    # region A signs in with its code, must change it, and lands on its own page
    a = sign_in(browser, url, "九台区", region_codes["九台区"], new)
    assert "新密码已设置" in a.inner_text("#saved")
    assert "自评截止：2099年12月31日" in a.inner_text("#deadline")
    assert a.locator("tr[data-task]").count() == len(COUNTY)
    # part online: two ratings, a note, a PDF
    a.select_option('select[name="self:1.1"]', "优秀")
    a.select_option('select[name="self:1.2"]', "达标")
    a.fill('textarea[name="note:1.1"]', "全年任务全部完成，见工作总结。")
    (tmp_path / "工作总结.pdf").write_bytes(pdf_bytes("工作总结"))
    a.set_input_files('input[name="evidence:1.1"]', str(tmp_path / "工作总结.pdf"))
    a.click("#save-draft")
    a.wait_for_selector("#saved")
    assert "已保存草稿" in a.inner_text("#saved") and a.inner_text("#return-status") == "填报中"
    assert "工作总结.pdf" in a.inner_text('tr[data-task="1.1"]')
    # submitting now names what is missing
    a.click("#submit")
    a.wait_for_selector("#errors")
    assert "未填自评等次" in a.inner_text("#errors") and "1.3" in a.inner_text("#errors")
    # the workbook for the rest
    (tmp_path / "九台区.xlsx").write_bytes(filled(blanks, "九台区", remarks="详见佐证材料"))
    a.set_input_files("#workbook", str(tmp_path / "九台区.xlsx"))
    a.click("#upload-xlsx")
    a.wait_for_selector("#saved")
    assert "已读入上传的考评表" in a.inner_text("#saved")
    assert a.locator('select[name="self:1.3"]').input_value() == "优秀"
    shot(a, "web-return")
    a.click("#submit")
    a.wait_for_selector("#locked")
    assert a.inner_text("#return-status") == "已提交"

    # the department sends it back with a reason
    staff = sign_in(browser, url, "张科长", codes["张科长"], new)
    assert staff.inner_text('tr[data-region="九台区"] .rstate') == "已提交"
    staff.goto(url + "/region/九台区")
    assert "工作总结.pdf" in staff.inner_text('table.ratings tr[data-task="1.1"]')
    staff.fill("#send-back-reason", "1.2 请补充台账复印件")
    staff.click("#send-back")
    staff.wait_for_selector("#saved")
    shot(staff, "review")

    # region A sees the reason, corrects, submits again
    a.goto(url + "/")
    assert "1.2 请补充台账复印件" in a.inner_text("#sent-back")
    (tmp_path / "台账.pdf").write_bytes(pdf_bytes("台账"))
    a.set_input_files('input[name="evidence:1.2"]', str(tmp_path / "台账.pdf"))
    a.click("#submit")
    a.wait_for_selector("#locked")
    assert a.inner_text("#return-status") == "已提交"

    # final ratings: as the self-ratings, one differing with its reason; then 已考评 and the letter
    staff.goto(url + "/region/九台区")
    staff.click("#copy-self")
    staff.select_option('select[name="final:1.1"]', "达标")
    staff.click("#save")
    staff.wait_for_selector(".problem")
    assert "请写明理由" in staff.inner_text("main")
    staff.fill('input[name="reason:1.1"]', "年度总结未按时报送，按达标计")
    staff.click("#save")
    staff.wait_for_selector("p.saved")
    staff.click("#accept")
    staff.wait_for_selector("p.saved")
    assert staff.inner_text("#return-status") == "已考评"
    with staff.expect_download() as info:
        staff.click("#letter-pdf")
    letter = PdfReader(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert "九台区" in "".join(p.extract_text() for p in letter.pages)
    results = app.extensions["site"].store.results(CONTENT)
    assert results.by_region["九台区"]["1.1"].remarks.endswith("考评意见：年度总结未按时报送，按达标计")

    # region B: its own page only; nothing of A's
    b = sign_in(browser, url, "朝阳区", region_codes["朝阳区"], new)
    assert "九台区" not in b.inner_text("main")
    evidence = app.extensions["site"].workflow.evidence("九台区")["1.1"][0]["id"]
    for path in ("/return/九台区", "/region/九台区", f"/return/九台区/evidence/{evidence}", "/region/九台区/letter/pdf",
                 "/audit?region=九台区", "/"):
        response = b.request.get(url + path, max_redirects=0)
        assert response.status in (302, 403, 404), path
        if response.status == 302:
            assert response.headers["location"].endswith("/return/%E6%9C%9D%E9%98%B3%E5%8C%BA"), path
    shot(b, "region-b")
    for context_page in (admin, a, staff, b):
        context_page.context.close()
