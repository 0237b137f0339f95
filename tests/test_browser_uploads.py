"""A region's workbook over what it entered online, in Debian's Chromium (--lang=zh-CN): the
download carries the online entries; an older blank workbook uploaded over them keeps them and
the page names each kept and changed item."""

from __future__ import annotations

import os
from pathlib import Path

from .test_browser import browser  # noqa: F401  (fixture)
from .test_browser_accounts import served, sign_in  # noqa: F401  (fixture)
from .test_classes import COUNTY
from .test_web import blanks  # noqa: F401  (fixture)
from .test_web_return import pdf_bytes
from .test_web_upload_entries import ONLINE, fill, label, resaved_by_libreoffice, rows_of

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "")) if os.environ.get("SCREENSHOT_DIR") else None


def test_online_entries_survive_an_uploaded_workbook_in_a_browser(served, browser, blanks, tmp_path):  # noqa: F811
    url, codes, app = served
    region_code = app.extensions["site"].accounts.add("九台区", "地区", "九台区", app.extensions["site"].content)
    a = sign_in(browser, url, "九台区", region_code, "Xin-Mima-2026")
    a.select_option('select[name="self:1.1"]', "优秀")
    a.fill('textarea[name="note:1.1"]', ONLINE)
    a.select_option('select[name="self:1.2"]', "达标")
    a.click("#save-draft")
    a.wait_for_selector("#saved")
    assert "下载的考评表已带有本页保存过的自评等次和说明" in a.inner_text("#xlsx-rules")

    # the download carries what was saved
    with a.expect_download() as info:
        a.click("text=下载本地区考评表（Excel）")
    downloaded = Path(info.value.path()).read_bytes()
    assert rows_of(downloaded)["1.1"] == ("优秀", None, ONLINE)

    # an older, blank download filled for the rest (1.2 rated otherwise), re-saved by LibreOffice
    rest = {t: ("达标", None, None) for t in COUNTY[3:]} | {"1.2": ("优秀", None, None)}
    workbook = tmp_path / "九台区.xlsx"
    workbook.write_bytes(resaved_by_libreoffice(fill((blanks / "九台区.xlsx").read_bytes(), rest), tmp_path))
    a.set_input_files("#workbook", str(workbook))
    a.click("#upload-xlsx")
    a.wait_for_selector("#upload-kept")
    kept = a.inner_text("#upload-kept")
    assert f"考评表中空着、保留了此前已填写的自评等次 1 项：{label('1.1')}（优秀）" in kept
    assert f"保留了此前已填写的说明 1 项：{label('1.1')}（“{ONLINE}”）" in kept
    assert f"{label('1.2')}（原为“达标”，现为“优秀”）" in kept
    assert a.locator('select[name="self:1.1"]').input_value() == "优秀"
    assert a.locator('textarea[name="note:1.1"]').input_value() == ONLINE
    assert a.locator('select[name="self:1.3"]').input_value() == ""  # blank in both: still to fill
    if SHOTS:
        a.screenshot(path=str(SHOTS / "web-return-upload-kept.png"), full_page=False)

    # the department uploads an older workbook of 九台区 (only 1.3 filled), another under the wrong
    # name with a bad rating, and a PDF: each said once, the kept entries named
    staff = sign_in(browser, url, "张科长", codes["张科长"], "Xin-Mima-2026")
    older = tmp_path / "九台区-旧.xlsx"
    older.write_bytes(fill((blanks / "九台区.xlsx").read_bytes(), {"1.3": ("达标", "达标", "旧表中的说明")}))
    wrong = tmp_path / "长春市.xlsx"
    wrong.write_bytes(fill((blanks / "九台区.xlsx").read_bytes(), {"1.1": ("很好", None, None)}))
    pdf = tmp_path / "ev.pdf"
    pdf.write_bytes(pdf_bytes())
    staff.goto(url + "/upload")
    staff.set_input_files("#workbooks", [str(older), str(wrong), str(pdf)])
    staff.click("#send")
    staff.wait_for_selector("table.outcomes")
    page = staff.inner_text("table.outcomes")
    assert "已作为" not in page and page.count("不是 .xlsx 工作簿") == 1
    assert "文件名写的是长春市，表内填写的地区是九台区；请核对是否交错了文件" in page
    assert f"保留了此前已填写的说明 1 项：{label('1.1')}（“{ONLINE}”）" in page
    if SHOTS:
        staff.screenshot(path=str(SHOTS / "web-upload-kept.png"), full_page=True)
