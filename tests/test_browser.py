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
from .test_web import CONTENT, blanks, delete_task_row, filled  # noqa: F401  (fixture)

DOCS = Path(__file__).resolve().parent.parent / "docs"
# the browser's path, which other browser tests import
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path):
    from pipeline.web import make_server, run_until_closed

    app = create_app(CONTENT, tmp_path / "work")
    server = make_server(app, "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=run_until_closed, args=(server,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    chromium = require(CHROMIUM_PACKAGE)
    with sync_playwright() as p:
        # in Chinese, as a clerk's browser is: the file chooser says 选择文件, dates read 年/月/日
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--lang=zh-CN", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
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


YEAR_REGIONS = ("南关区", "宽城区", "朝阳区", "二道区", "绿园区", "双阳区", "九台区", "农安县", "榆树市", "德惠市",
                "长春市")


@pytest.fixture(scope="module")
def year_blanks(tmp_path_factory) -> Path:
    from .conftest import ROOT, Cli

    out = tmp_path_factory.mktemp("year-blanks")
    args = [a for r in YEAR_REGIONS for a in ("--region", r)]
    Cli(ROOT)("checklist", *args, "--format", "xlsx", "--out", out)
    return out / "考评表" / "地区"


def resaved_by_libreoffice(data: bytes, tmp_path: Path) -> bytes:
    import subprocess

    source = tmp_path / "lo" / "in.xlsx"
    source.parent.mkdir()
    source.write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo" / "out"),
                    str(source)], check=True, capture_output=True, timeout=180)
    return (tmp_path / "lo" / "out" / "in.xlsx").read_bytes()


def test_a_year_on_the_page(tmp_path, browser, year_blanks):
    """#16 item 6: a batch of returns with their footers filled (one re-saved by LibreOffice, one
    with a task row deleted, one under another region's name, one broken), final ratings entered, a self-only return re-uploaded with its finals kept,
    documents generated and zipped, results made incomplete and the old 通报 out of the ZIP."""
    import zipfile

    from pipeline.cli import load_for_results
    from pipeline.web import make_server, run_until_closed

    from .test_web import store_results

    # the province cut to 长春市 and its units (the whole year's steps, a ninth of its documents)
    from pipeline.content import load_content

    from .conftest import ROOT

    text = (ROOT / "content" / "regions_jilin_2016.yaml").read_text(encoding="utf-8")
    head, regions = text.split("\nregions:\n", 1)
    changchun = [line for line in regions.splitlines() if "name: 长春市" in line or "parent: 长春市" in line]
    (tmp_path / "regions_jilin_2016.yaml").write_text(head + "\nregions:\n" + "\n".join(changchun) + "\n",
                                                       encoding="utf-8")
    content = load_content(ROOT / "content" / "tasks_2016.yaml", tmp_path / "regions_jilin_2016.yaml",
                           need_rating_files=True)
    assert len(content.regions.regions) == 11
    app = create_app(content, tmp_path / "work")
    site = app.extensions["site"]
    _, sample = load_for_results(None, None, None)
    store_results(site.store, sample)  # the finals of the province, entered earlier on the pages
    server = make_server(app, "127.0.0.1", 0, threads=4)
    threading.Thread(target=run_until_closed, args=(server,), daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        files = []
        for region in YEAR_REGIONS[:-1]:
            data = filled(year_blanks, region, footer=True,
                          edit=delete_task_row("7.1") if region == "宽城区" else None)
            if region == "德惠市":
                data = resaved_by_libreoffice(data, tmp_path)
            (tmp_path / f"{region}.xlsx").write_bytes(data)
            files.append(tmp_path / f"{region}.xlsx")
        (tmp_path / "农安县民政局.xlsx").write_bytes(filled(year_blanks, "长春市", footer=True))  # misnamed
        (tmp_path / "损坏.xlsx").write_bytes(b"PK\x03\x04 broken")
        files += [tmp_path / "农安县民政局.xlsx", tmp_path / "损坏.xlsx"]

        page.goto(base + "/upload")
        page.set_input_files("#workbooks", [str(f) for f in files])
        page.click("#send")
        page.wait_for_selector("#batch-summary")
        assert page.inner_text("#batch-summary") == "本次上传 12 个文件：接收 10 个，未接收 2 个。"
        rows = page.locator("table.outcomes tbody tr")
        refused = rows.nth(0).inner_text() + rows.nth(1).inner_text()
        assert "rejected" in rows.nth(0).get_attribute("class") and "rejected" in rows.nth(1).get_attribute("class")
        assert "损坏.xlsx" in refused and "宽城区.xlsx" in refused and "第 7.1 项" in refused
        assert "warned" in rows.nth(2).get_attribute("class") and "农安县民政局.xlsx" in rows.nth(2).inner_text()
        assert "保留了此前已填写的考评等次" in page.inner_text("table.outcomes")
        if os.environ.get("UPDATE_SCREENSHOTS"):
            page.screenshot(path=str(DOCS / "web-upload.png"), full_page=False)
        page.goto(base + "/")
        assert page.inner_text('tr[data-region="宽城区"] .status') == "有误"
        assert page.inner_text('tr[data-region="德惠市"] .status') == "已考评"  # finals kept, footer read
        page.goto(base + "/region/德惠市")
        assert "填报人：王晓红" in page.inner_text("#footer")

        # 南关区's final ratings: copied from its self-ratings, one changed, saved
        page.goto(base + "/region/南关区")
        selects = page.locator('select[name^="final:"]')
        for i in range(selects.count()):
            selects.nth(i).select_option("")
        page.click("#copy-self")
        selects.nth(1).select_option("达标")
        assert "differs" in page.locator("table.ratings tbody tr").nth(1).get_attribute("class")
        page.click("#save")
        page.wait_for_selector("#saved")
        n = selects.count()
        assert f"考评 {n}/{n}" in page.inner_text("p.counts")

        # 南关区 sends its self-only return again: the finals entered stay
        page.goto(base + "/upload")
        page.set_input_files("#workbooks", [str(tmp_path / "南关区.xlsx")])
        page.click("#send")
        page.wait_for_selector("#batch-summary")
        assert "保留了此前已填写的考评等次" in page.inner_text("table.outcomes")
        page.goto(base + "/region/南关区")
        assert f"考评 {n}/{n}" in page.inner_text("p.counts")
        assert page.locator('select[name^="final:"]').nth(1).input_value() == "达标"

        # every document of the province, then the ZIP with the 通报
        page.goto(base + "/generate")
        page.click("#build")
        page.wait_for_selector("#finished", timeout=900_000)
        with page.expect_download() as info:
            page.click("#zip")
        names = zipfile.ZipFile(info.value.path()).namelist()
        assert any(n.startswith("通报/") for n in names) and "考评报告/南关区.pdf" in names
        if os.environ.get("UPDATE_SCREENSHOTS"):
            page.screenshot(path=str(DOCS / "web-generate.png"), full_page=False)

        # 九台区's results become incomplete: the old 通报 leaves the page and the ZIP
        page.goto(base + "/region/九台区")
        page.locator('select[name^="final:"]').nth(0).select_option("")
        page.click("#save")
        page.wait_for_selector("#saved")
        page.goto(base + "/generate")
        assert page.locator("a.summary-link").count() == 0 and page.locator("img.summary").count() == 0
        assert "已过期" in page.inner_text("main")
        with page.expect_download() as info:
            page.click("#zip")
        names = zipfile.ZipFile(info.value.path()).namelist()
        assert not any(n.startswith("通报/") for n in names) and "等次函/九台区.pdf" not in names
        page.click("#build")
        page.wait_for_selector("#finished", timeout=900_000)
        assert "通报/" in page.inner_text("#withdrawn")
        assert "九台区" in page.inner_text("#missing")
    finally:
        server.close()
