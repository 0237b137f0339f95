"""Section 四 (各地区考评情况) of the statistics: a region not yet fully rated keeps every figure
under its own heading, on the web page, in the XLSX and in the PDF, with and without last year."""

from __future__ import annotations

import io
import re

import pdfplumber
import pytest
from openpyxl import load_workbook

from pipeline.results import load_results

from .test_stats import CONTENT, write_year_on_year
from .test_web_stats import app, csrf, fill_store  # noqa: F401  (fixture)

HEAD = ["地区", "考评层次", "所属市（州）", "依据", "优秀项", "达标项", "未达标项", "项数", "优秀项占比", "总等次"]
PREVIOUS = ["上年优秀项占比", "占比增减", "上年总等次", "备注"]


def page_rows(html: str) -> tuple[list[str], dict[str, list[str]]]:
    table = re.search(r'id="table-regions">(.*?)</table>', html, re.S).group(1)
    head = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", tr)
        if cells:
            rows[cells[0]] = cells
    return head, rows


def pdf_row(data: bytes, region: str) -> tuple[list[str], list[str]]:
    """(headings, the region's row) of section 四 in the PDF, as its table's cells."""
    def flat(cells):
        return [re.sub(r"\s+", "", c or "") for c in cells]

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                for row in table:
                    if row and flat(row)[0] == region and "尚未评齐" in "".join(flat(row)):
                        return flat(table[0]), flat(row)
    raise AssertionError(f"{region} 的一行不在 PDF 中")


@pytest.mark.parametrize("with_previous", [False, True], ids=["this-year", "year-on-year"])
def test_unrated_regions_keep_their_columns(app, tmp_path, with_previous):  # noqa: F811
    client = app.test_client()
    current, previous = write_year_on_year(tmp_path)
    fill_store(app, load_results(current, CONTENT))  # 南关区: 5 of 32 rated; 宽城区: none
    head = HEAD + (PREVIOUS if with_previous else [])
    if with_previous:
        response = client.post("/stats/previous", data={"csrf_token": csrf(client),
                                                       "previous": (io.BytesIO(previous.read_bytes()), "2015.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 302

    # the page
    shown_head, rows = page_rows(client.get("/stats").get_data(as_text=True))
    assert shown_head == head
    assert all(len(cells) == len(head) for cells in rows.values()), [n for n, c in rows.items() if len(c) != len(head)]
    for name, rated in (("南关区", 5), ("宽城区", 0)):
        got = dict(zip(head, rows[name]))
        assert got["依据"] == f"尚未评齐（考评 {rated}/32）"
        assert got["项数"] == "32"
        assert [got[k] for k in ("优秀项", "达标项", "未达标项", "优秀项占比", "总等次")] == ["—"] * 5
        if with_previous:
            assert got["备注"] == "仅本年" and got["上年总等次"] == "—"
    assert dict(zip(head, rows["九台区"]))["项数"] == "42"

    # the XLSX, read back
    wb = load_workbook(io.BytesIO(client.get("/stats/export.xlsx").data))
    ws = wb["按地区"]
    assert [c.value for c in ws[2]] == head
    by_name = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    nanguan = dict(zip(head, by_name["南关区"]))
    assert nanguan["项数"] == 32 and nanguan["优秀项占比"] == "—" and nanguan["总等次"] == "—"
    assert len([v for v in by_name["南关区"] if v is not None]) == len(head)  # nothing past the last heading
    # the PDF: the row's cells in the order of the headings
    pdf_head, line = pdf_row(client.get("/stats/export.pdf").data, "南关区")
    assert pdf_head == head
    got = dict(zip(pdf_head, line))
    assert len(line) == len(head) and got["依据"] == "尚未评齐（考评5/32）" and got["项数"] == "32"
    assert [got[k] for k in ("优秀项", "达标项", "未达标项", "优秀项占比", "总等次")] == ["—"] * 5
    if with_previous:
        assert [got[k] for k in PREVIOUS] == ["—", "—", "—", "仅本年"]
