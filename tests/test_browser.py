"""The clerk's round trip in a real browser: Debian's Chromium, driven by Playwright, against
`pipeline serve`'s app under waitress. Never skipped: `make test` installs the browser."""

from __future__ import annotations

import io
import os
import shutil
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.web import create_app

from .conftest import CHROMIUM as CHROMIUM_PACKAGE, require
from .test_web import CONTENT, blanks, filled  # noqa: F401  (fixture)

DOCS = Path(__file__).resolve().parent.parent / "docs"
# the browser's path, which other browser tests import
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path):
    from waitress.server import create_server

    app = create_app(CONTENT, tmp_path / "work")
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    chromium = require(CHROMIUM_PACKAGE)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield browser
        browser.close()


def test_collect_rate_and_issue_in_a_browser(server, browser, blanks, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(server + "/")
    assert "未交 70" in page.inner_text("p.counts")

    # two regions return their checklists with self-ratings
    for region in ("九台区", "朝阳区"):
        (tmp_path / f"{region}.xlsx").write_bytes(filled(blanks, region))
    page.goto(server + "/upload")
    page.set_input_files("#workbooks", [str(tmp_path / "九台区.xlsx"), str(tmp_path / "朝阳区.xlsx")])
    assert "已选 2 个" in page.inner_text("#chosen")
    page.click("#send")
    page.wait_for_selector("table.outcomes")
    assert page.locator("tr.accepted").count() == 2

    page.goto(server + "/")
    for region in ("九台区", "朝阳区"):
        assert page.inner_text(f'tr[data-region="{region}"] .status') == "已自评"
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "web-board.png"), full_page=False)

    # the department enters 九台区's final ratings on its page
    page.click('tr[data-region="九台区"] a')
    page.wait_for_url("**/region/**")
    selects = page.locator('select[name^="final:"]')
    for i in range(selects.count()):
        selects.nth(i).select_option("优秀" if i % 5 else "达标")
    page.click("#save")
    page.wait_for_selector("p.saved")
    assert "优秀" in page.inner_text("strong.rating") or "达标" in page.inner_text("strong.rating")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "web-region.png"), full_page=False)

    page.goto(server + "/")
    assert page.inner_text('tr[data-region="九台区"] .status') == "已考评"
    assert page.inner_text('tr[data-region="朝阳区"] .status') == "已自评"

    # its letter, downloaded from its page, is a PDF of that region
    page.click('tr[data-region="九台区"] a')
    with page.expect_download() as info:
        page.click("#letter-pdf")
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace(" ", "")
    assert "九台区" in text and "考评结果的函" in text
    assert download.suggested_filename.endswith(".pdf")
