"""The 统计 page of `pipeline serve`: through Flask's test client, and in Debian's Chromium."""

from __future__ import annotations

import io
import os
import re
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.results import load_results
from pipeline.web import create_app

from .test_browser import browser  # noqa: F401  (fixture)
from .test_stats import CONTENT, LEAGUE_WORDS, SAMPLE, expected_from_sample, sheet, write_year_on_year

DOCS = Path(__file__).resolve().parent.parent / "docs"


def fill_store(app, results) -> None:
    """Put results into the store as the clerk's edits would (one current version per region)."""
    store = app.extensions["site"].store
    with store._connect() as db:
        db.execute("BEGIN IMMEDIATE")
        for name, rated in results.by_region.items():
            store._new_version(db, name, "edit", None, rated)
        db.execute("COMMIT")


@pytest.fixture
def app(tmp_path):
    app = create_app(CONTENT, tmp_path / "work")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def sample_app(app):
    fill_store(app, load_results(SAMPLE, CONTENT))
    return app


def csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/stats").get_data(as_text=True)).group(1)


def test_empty_store_shows_the_page_with_nothing_counted(app):
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'href="/stats">统计</a>' in html  # in the nav of every page
    response = client.get("/stats")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "已有总等次 0 个" in html and "尚未评齐 70 个" in html
    assert "全省通报尚未生成" in html
    for key in ("levels", "prefectures", "tasks", "adjustments"):
        svg = client.get(f"/stats/chart/{key}.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        ET.fromstring(svg.data)
    assert client.get("/stats/chart/nothing.svg").status_code == 404
    assert client.get("/stats/summary/1.png").status_code == 404


def test_page_tables_and_exports_match_the_sample(sample_app):
    client = sample_app.test_client()
    exp = expected_from_sample()
    html = client.get("/stats").get_data(as_text=True)
    row = re.search(r'<table class="sortable stats" id="table-levels">.*?<tfoot><tr>(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    total = {r: sum(c[r] for c in exp["by_level"].values()) for r in ("优秀", "达标", "未达标")}
    assert cells[:3] == ["全省", "70", str(total["优秀"])] and cells[6] == str(total["未达标"])
    assert re.search(r'<td data-sort="\d+" class="num failed">', html)  # 未达标 in colour
    regions = re.search(r'id="table-regions">(.*?)</table>', html, re.S).group(1)
    assert regions.count("<tr>") == 71  # header and the 70 regions
    for key in ("levels", "prefectures", "tasks", "adjustments"):
        assert f'src="/stats/chart/{key}.svg"' in html
    assert not any(word in html for word in LEAGUE_WORDS)

    xlsx = client.get("/stats/export.xlsx")
    assert xlsx.status_code == 200
    assert "filename*=UTF-8''2016" in xlsx.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(xlsx.data))
    levels = sheet(wb, "按考评层次")
    assert (levels["全省"]["优秀"], levels["全省"]["未达标"]) == (total["优秀"], total["未达标"])
    assert client.get("/stats/export.docx").status_code == 404


def test_last_years_file_uploaded_checked_kept_and_used(app, tmp_path):
    client = app.test_client()
    current, previous = write_year_on_year(tmp_path)
    fill_store(app, load_results(current, CONTENT))

    # a bad file: refused with its lines, kept aside, not used
    bad = b"\xef\xbb\xbf\xe5\x9c\xb0\xe5\x8c\xba,\xe7\xbc\x96\xe5\x8f\xb7,\xe7\xad\x89\xe6\xac\xa1\n" + \
        "长春市,1.1,很好\n".encode("utf-8")
    response = client.post("/stats/previous", data={"csrf_token": csrf(client),
                                                   "previous": (io.BytesIO(bad), "上年.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "上年.csv:2: 等次“很好”无效" in response.get_data(as_text=True)
    assert "上年：" not in client.get("/stats").get_data(as_text=True)
    assert client.post("/stats/previous", data={"previous": (io.BytesIO(bad), "x.csv")},
                       content_type="multipart/form-data").status_code == 400  # no CSRF token

    response = client.post("/stats/previous", data={"csrf_token": csrf(client),
                                                   "previous": (io.BytesIO(previous.read_bytes()), "2015年结果.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    html = client.get("/stats").get_data(as_text=True)
    assert "上年：2015年结果.csv" in html
    assert "今年名单中没有的地区" in html and "德惠县" in html and "仅上年" in html and "仅本年" in html
    assert "（仅上年有此编号）" in html
    kept = sorted(p.name for p in (tmp_path / "work" / "previous").iterdir())
    assert any(n.endswith(".refused") for n in kept) and any(n.endswith(".csv") for n in kept)

    # the PDF export carries last year too (the sample's PDF itself is checked in test_stats)
    pdf = client.get("/stats/export.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    assert float(reader.pages[0].mediabox.width) > float(reader.pages[0].mediabox.height)  # landscape
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    assert "一、各考评层次总等次" in text and "四、各地区考评情况" in text
    assert "上年结果：2015年结果.csv" in text and "德惠县" in text and "仅上年" in text

    client.post("/stats/previous/stop", data={"csrf_token": csrf(client)})
    html = client.get("/stats").get_data(as_text=True)
    assert "德惠县" not in html and "上年：" not in html
    assert any(n.endswith(".csv") for n in os.listdir(tmp_path / "work" / "previous"))  # nothing deleted


def test_every_page_of_the_summary_on_screen(sample_app):
    from pipeline.jobs import summary_job

    site = sample_app.extensions["site"]
    site.render([summary_job(CONTENT, site.store.results(CONTENT))])
    pages = len(PdfReader(site.summary_pdf()).pages)
    assert pages >= 2
    client = sample_app.test_client()
    html = client.get("/stats").get_data(as_text=True)
    assert f"全省通报（共 {pages} 页）" in html
    for n in range(1, pages + 1):
        assert f'src="/stats/summary/{n}.png"' in html
        image = client.get(f"/stats/summary/{n}.png")
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert client.get(f"/stats/summary/{pages + 1}.png").status_code == 404


# --- in Chromium ------------------------------------------------------------------------------------------


@pytest.fixture
def server(sample_app):
    from waitress.server import create_server

    server = create_server(sample_app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def test_stats_page_in_a_browser(server, browser):  # noqa: F811
    exp = expected_from_sample()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server + "/")
    page.click("header nav >> text=统计")
    page.wait_for_url("**/stats")
    page.wait_for_load_state("networkidle")
    # every chart loaded and drawn (the SVG files pass the page's Content-Security-Policy)
    for key in ("levels", "prefectures", "tasks", "adjustments"):
        assert page.evaluate(f"document.querySelector('#chart-{key} img').naturalWidth") > 300
    assert not blocked
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "web-stats.png"), full_page=False)
    # who is last: one click on 优秀项占比 puts the lowest share first
    header = page.locator("#table-regions th", has_text="优秀项占比")
    header.locator(".sort").click()
    assert header.get_attribute("aria-sort") == "ascending"
    shares = {name: sum(r["等次"] == "优秀" for r in rows) / len(rows) for name, rows in exp["by_region"].items()}
    lowest = min(shares.values())
    first = page.inner_text("#table-regions tbody tr:first-child td:first-child")
    assert shares[first] == lowest
    header.locator(".sort").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert shares[page.inner_text("#table-regions tbody tr:first-child td:first-child")] == max(shares.values())
    # the tasks that pull regions down: the first row has the most 未达标
    cells = page.locator("#table-tasks tbody tr:first-child td")
    most = max(c["未达标"] for c in exp["per_task_final"].values())
    assert cells.nth(5).inner_text() == str(most)
    # the 全省 row stays at the foot whatever the order
    page.locator("#table-levels th", has_text="未达标占比").locator(".sort").click()
    assert page.inner_text("#table-levels tfoot td:first-child") == "全省"
    # printable: the print style hides the forms and keeps the charts
    page.emulate_media(media="print")
    assert not page.is_visible("section.previous")
    assert page.is_visible("#chart-levels img")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.emulate_media(media="screen")
        page.evaluate("document.getElementById('tasks').scrollIntoView()")
        page.screenshot(path=str(DOCS / "web-stats-tasks.png"), full_page=False)
