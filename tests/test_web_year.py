"""A year the clerk can finish on the page (issue #16): each thing seen wrong, through Flask's
client — nothing entered lost, one state for board and region page, nothing stale handed out,
generation counted in files, pages a clerk reads at once."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from urllib.parse import unquote

from pipeline.jobs import notice_job, summary_job

from .conftest import ROOT, Cli
from .test_classes import COUNTY
from .test_web import (CONTENT, app, blanks, client, delete_task_row, filled, region_form, status_of,  # noqa: F401
                       store_results, token, upload)


def finals_of(client, region: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(client.get("/results.csv").data.decode("utf-8-sig")))
    return {r["编号"]: r["等次"] for r in rows if r["地区"] == region}


def enter_finals(client, region: str, tasks, rating: str = "优秀"):
    form = region_form(client, region)
    form.update({f"final:{t}": rating for t in tasks})
    return client.post(f"/region/{region}/ratings", data=form)


# --- reading a return -------------------------------------------------------------------------------------


def test_a_return_with_its_footer_filled_is_accepted_and_its_footer_shown(client, blanks):
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区", footer=True))).get_data(as_text=True)
    assert "接收 1 个，未接收 0 个" in html
    page = client.get("/region/九台区").get_data(as_text=True)
    footer = re.search(r'<p class="footer-fields" id="footer">(.*?)</p>', page).group(1)
    assert footer == ("填报单位（盖章）：九台区民政局　填报人：王晓红　联系电话：0431-82345678　"
                      "填报日期：2016年12月20日")


def test_a_deleted_task_row_is_refused_naming_the_task(client, blanks):
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区", footer=True, edit=delete_task_row("7.1")))
                  ).get_data(as_text=True)
    task = CONTENT.tasks.task("7.1")
    assert "接收 0 个，未接收 1 个" in html and f"第 7.1 项“{task.name}”这一行被删除了" in html
    assert status_of(client, "九台区") == "有误"


# --- nothing entered is lost ------------------------------------------------------------------------------


def test_a_self_only_return_keeps_the_finals_entered(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    assert enter_finals(client, "九台区", COUNTY).status_code == 302
    assert status_of(client, "九台区") == "已考评"
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区"))).get_data(as_text=True)  # again, self only
    assert f"保留了此前已填写的考评等次 {len(COUNTY)} 项" in html
    assert set(finals_of(client, "九台区").values()) == {"优秀"}
    assert status_of(client, "九台区") == "已考评"
    page = client.get("/region/九台区").get_data(as_text=True)
    assert f"考评 {len(COUNTY)}/{len(COUNTY)}" in page and "第 3 版" in page


def test_differing_finals_wait_for_the_clerks_choice(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    enter_finals(client, "九台区", COUNTY, "优秀")
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="达标"))).get_data(as_text=True)
    assert f"有 {len(COUNTY)} 项考评等次与已填写的不同" in html
    assert set(finals_of(client, "九台区").values()) == {"优秀"}  # nothing became current
    board = client.get("/").get_data(as_text=True)
    assert "待选择" in board
    page = client.get("/region/九台区").get_data(as_text=True)
    assert 'id="choice"' in page and "<td>优秀</td><td>达标</td>" in page
    version = re.search(r'name="version" value="(\d+)"><input type="hidden" name="keep" value="returned"', page).group(1)
    form = {"csrf_token": token(client, "/region/九台区"), "version": version}
    response = client.post("/region/九台区/choose", data={**form, "keep": "entered"})
    assert response.status_code == 302
    assert set(finals_of(client, "九台区").values()) == {"优秀"}
    assert "待选择" not in client.get("/").get_data(as_text=True)
    # again, choosing the return's this time
    upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="达标")))
    page = client.get("/region/九台区").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"><input type="hidden" name="keep" value="returned"', page).group(1)
    client.post("/region/九台区/choose", data={**form, "version": version, "keep": "returned"})
    assert set(finals_of(client, "九台区").values()) == {"达标"}
    assert "已按您的选择保存" in client.get("/region/九台区?saved=chosen").get_data(as_text=True)


def test_two_returns_for_one_region_in_one_upload_are_refused_together(client, blanks):
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区")), ("九台区（改）.xlsx", filled(blanks, "九台区")),
                  ("朝阳区.xlsx", filled(blanks, "朝阳区"))).get_data(as_text=True)
    assert "接收 1 个，未接收 2 个" in html
    assert html.count("九台区有 2 份考评表，都未接收") == 2
    assert status_of(client, "九台区") == "有误" and status_of(client, "朝阳区") == "已自评"


def test_a_return_under_another_regions_name_is_accepted_for_its_form_with_a_warning(client, blanks):
    html = upload(client, ("朝阳区.xlsx", filled(blanks, "九台区"))).get_data(as_text=True)
    assert "文件名写的是朝阳区，表内填写的地区是九台区；已作为九台区的考评表接收" in html
    rows = re.findall(r'<tr class="([^"]+)">', html)
    assert rows[0] == "accepted warned"
    assert status_of(client, "朝阳区") == "未交" and status_of(client, "九台区") == "已自评"


# --- one state for the board and the region page ---------------------------------------------------------


def test_board_and_region_page_agree_on_a_refused_return(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    enter_finals(client, "九台区", COUNTY)
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="很好"))).get_data(as_text=True)
    assert "未接收" in html
    assert status_of(client, "九台区") == "有误"
    page = client.get("/region/九台区").get_data(as_text=True)
    assert '<span class="status 有误" id="status">有误</span>' in page and 'id="refused"' in page
    assert "考评等次“很好”无效" in page
    enter_finals(client, "九台区", COUNTY, "达标")  # the clerk fixes the ratings on the page
    assert status_of(client, "九台区") == "已考评"
    assert '<span class="status 已考评" id="status">' in client.get("/region/九台区").get_data(as_text=True)


# --- nothing stale handed out --------------------------------------------------------------------------


def test_documents_that_no_longer_match_are_marked_and_withheld(client, app):
    from pipeline.cli import load_for_results

    site = app.extensions["site"]
    _, sample = load_for_results(None, None, None)
    store_results(site.store, sample)
    results = site.store.results(CONTENT)
    site.render([summary_job(CONTENT, results), notice_job(CONTENT)])
    summary = next(p for p in site.manifest() if p.startswith("通报/") and p.endswith(".pdf"))
    assert client.get("/file", query_string={"path": summary}).status_code == 200
    assert summary in zipfile.ZipFile(io.BytesIO(client.get("/all.zip").data)).namelist()
    assert client.get("/summary.png").status_code == 200
    # one region's results become incomplete again
    form = region_form(client, "九台区")
    client.post("/region/九台区/ratings", data={**form, "final:1.1": ""})
    page = client.get("/generate").get_data(as_text=True)
    assert "已过期" in page and f'<a href="/file?path={summary}' not in page
    assert client.get("/file", query_string={"path": summary}).status_code == 404
    names = zipfile.ZipFile(io.BytesIO(client.get("/all.zip").data)).namelist()
    assert summary not in names and any(n.startswith("通知/") for n in names)
    assert client.get("/summary.png").status_code == 404
    assert "九台区</a></td><td>1 项</td>" in page, re.findall(r'<table class="missing".*?</table>', page, re.S)


def test_build_withdraws_a_summary_the_results_no_longer_support(tmp_path):
    from pipeline.cli import load_for_results
    from pipeline.output import OutputDir
    from pipeline.web import Site

    content, sample = load_for_results(None, None, None)
    site = Site(content, tmp_path / "w")
    site.output = tmp_path / "out"
    site.render([summary_job(content, sample)])
    out = OutputDir(tmp_path / "out")
    assert any(p.startswith("通报/") for p in out.manifest())
    text = (ROOT / "content" / "results_2016_sample.csv").read_text(encoding="utf-8-sig").splitlines()
    incomplete = tmp_path / "results_2016_sample.csv"  # same sample mark, one rating fewer
    incomplete.write_text("\n".join(text[:1] + text[2:]) + "\n", encoding="utf-8")
    result = Cli(ROOT)("build", "--results", incomplete, "--format", "xlsx", "--out", tmp_path / "out", expect=1)
    assert "已删除与当前考评结果不符的旧文件：通报/" in result.stderr
    assert not any(p.startswith("通报/") for p in out.manifest())
    assert not list((tmp_path / "out" / "通报").glob("*.pdf"))


# --- pages a clerk reads at once --------------------------------------------------------------------------


def test_upload_result_starts_with_a_summary_and_refusals_first(client, blanks):
    html = upload(client, ("九台区.xlsx", filled(blanks, "九台区")), ("笔记.xlsx", b"x"),
                  ("朝阳区.xlsx", filled(blanks, "朝阳区"))).get_data(as_text=True)
    assert "本次上传 3 个文件：接收 2 个，未接收 1 个。" in html
    rows = re.findall(r'<tr class="([^"]+)">\s*<td>([^<]+)</td>', html)
    assert rows[0] == ("rejected", "笔记.xlsx")


def test_distinct_download_names_and_local_times(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    enter_finals(client, "九台区", COUNTY)
    for path, name in (("/region/九台区/report/pdf", "考评报告-九台区.pdf"),
                       ("/region/九台区/letter/pdf", "等次函-九台区.pdf"),
                       ("/checklist/九台区/xlsx", "考评表-九台区.xlsx")):
        response = client.get(path)
        assert response.status_code == 200
        assert unquote(response.headers["Content-Disposition"]).endswith(name), path
    page = client.get("/region/九台区").get_data(as_text=True)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d", page) and not re.search(r"\d{4}-\d\d-\d\dT", page)
    assert "第 1 版" in page and "第 2 版" in page


def test_no_command_names_or_jargon_on_pages(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    for path in ("/", "/checklists", "/upload", "/generate", "/region/九台区", "/upload/batch/1"):
        text = re.sub(r"<[^>]+>", " ", client.get(path).get_data(as_text=True).split("<main>", 1)[1])
        for word in ("pipeline", "CSV", "MiB", "KiB", "collect", "build"):
            assert word not in text, (path, word)


def test_region_page_marks_rows_names_the_failing_task_and_confirms(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    form = region_form(client, "九台区")
    form.update({f"final:{t}": "优秀" for t in COUNTY})
    form[f"final:{COUNTY[0]}"] = "未达标"
    form[f"final:{COUNTY[1]}"] = "达标"
    response = client.post("/region/九台区/ratings", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已保存：考评等次已存为第 2 版" in page
    task = CONTENT.tasks.task(COUNTY[0])
    assert f"未达标：{task.id} {task.name}" in page
    assert re.search(rf'<tr data-task="{re.escape(COUNTY[0])}" class="differs below">', page)
    assert re.search(rf'<tr data-task="{re.escape(COUNTY[1])}" class="differs">', page)
    assert 'id="copy-self"' in page and "region.js" in page and 'data-confirm="把第 1 版设为当前结果' in page
    script = client.get("/static/region.js").get_data(as_text=True)
    assert "beforeunload" in script and "copy-self" in script
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "@media print" in css and "size: A4" in css and ".print-only { display: inline; }" in css


def test_blank_workbooks_in_one_zip_by_prefecture_and_the_notice_beside_them(client):
    page = client.get("/checklists").get_data(as_text=True)
    assert 'id="regions-zip"' in page and 'id="notice-pdf"' in page
    archive = zipfile.ZipFile(io.BytesIO(client.get("/checklists/地区考评表.zip").data))
    names = archive.namelist()
    assert len(names) == len(CONTENT.regions.regions)
    assert "长春市/考评表-九台区.xlsx" in names and "长春市/考评表-长春市.xlsx" in names
    notice = client.get("/notice/pdf")
    assert notice.status_code == 200 and notice.data.startswith(b"%PDF")


def test_generate_page_lists_missing_finals_as_a_table_and_offers_a_draft(client, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区")))
    page = client.get("/generate").get_data(as_text=True)
    assert '<table class="missing" id="missing">' in page
    assert f'九台区</a></td><td>{len(COUNTY)} 项</td>' in page
    assert 'id="draft"' in page and "尚无结果的地区 69 个" in page


def test_the_draft_button_makes_a_marked_summary_offered_at_the_top(client, app, blanks):
    upload(client, ("九台区.xlsx", filled(blanks, "九台区", final="优秀")))
    site = app.extensions["site"]
    response = client.post("/generate", data={"csrf_token": token(client, "/generate"), "draft": "1"})
    assert response.status_code == 302
    site.generation_thread.join(timeout=600)
    assert not site.generation.failures, site.generation.failures
    page = client.get("/generate").get_data(as_text=True)
    top = page.split('<form method="post" class="generate">', 1)[0]
    assert "全省通报（征求意见稿）：" in top and 'class="summary-link"' in top and 'src="/summary.png"' in top
    draft = next(p for p in site.manifest() if "征求意见稿" in p and p.endswith(".pdf"))
    pdf = client.get("/file", query_string={"path": draft})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert unquote(pdf.headers["Content-Disposition"]).endswith(f"通报-{draft.split('/')[-1]}")
    # results change: the draft no longer matches them and is withheld
    enter_finals(client, "九台区", ["1.1"], "达标")
    assert client.get("/file", query_string={"path": draft}).status_code == 404
