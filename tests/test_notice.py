"""The issued notice: every word of the source, laid out to GB/T 9704-2012."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from docx.oxml.ns import qn

from pipeline.content import load_content
from pipeline.views import official_date

from pipeline.documents import NOTICE_COLUMNS

from .pdfcheck import assert_in_order, docx_text, lines_of, mm, pdf_text, squash, table_columns
from .conftest import SOFFICE, Cli, ROOT, require

BOOK = load_content().tasks
NAME = "吉民发〔2016〕13号"


def source_units() -> list[str]:
    n = BOOK.notice
    units = [str(n.document_number), *n.title_lines, n.addressees + "：", *n.body,
             "附件：" + BOOK.table.title, n.signature, official_date(n.date), "附件", BOOK.table.title]
    for category in BOOK.table.categories:
        units.append(str(category.number))
        units.append(category.name)
        for task in category.tasks:
            units += [task.name, *task.excellent_lines, *task.standard_lines, *task.targets]
            if task.pilot_excluded:
                units.append("试点县（市、区）除外")
    units += [f"{i}.{note}" for i, note in enumerate(BOOK.table.notes, 1)]
    return units


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("notice")
    Cli(ROOT)("notice", "--out", out)
    return out


@pytest.fixture(scope="module")
def pdf(out):
    with pdfplumber.open(out / "通知" / f"{NAME}.pdf") as doc:
        yield doc


def test_manifest(out):
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    docs = {d["format"]: d for d in manifest["documents"]}
    assert set(docs) == {"docx", "pdf", "ofd"}
    assert docs["ofd"]["pages"] == docs["pdf"]["pages"]
    assert docs["pdf"]["kind"] == "notice" and docs["pdf"]["level"] is None
    assert docs["pdf"]["pages"] == len(pdfplumber.open(out / docs["pdf"]["path"]).pages)
    assert docs["docx"]["pages"] is None
    import hashlib
    for d in docs.values():
        assert hashlib.sha256((out / d["path"]).read_bytes()).hexdigest() == d["sha256"]


def test_every_source_unit_in_pdf_in_order(out):
    path = out / "通知" / f"{NAME}.pdf"
    text = pdf_text(path)
    assert "吉林省民政厅文件" in text  # drawn last on its page (a transformed layer)
    units = source_units()
    table_start = units.index(BOOK.table.title, units.index("附件"))
    assert_in_order(text.replace("吉林省民政厅文件", "", 1), units[:table_start + 1])
    # the table, column by column (rows break across pages): every cell whole and in order
    columns = dict(zip([c.key for c in NOTICE_COLUMNS],
                       table_columns(path, [c.width for c in NOTICE_COLUMNS])))
    tasks = list(BOOK.tasks())
    assert squash(columns["name"]) == "".join(squash(t.name) for t in tasks)
    assert squash(columns["excellent"]) == "".join(squash("".join(t.excellent_lines)) for t in tasks)
    assert squash(columns["standard"]) == "".join(squash("".join(t.standard_lines)) for t in tasks)
    targets = "".join("".join(t.targets) + ("试点县（市、区）除外" if t.pilot_excluded else "") for t in tasks)
    assert squash(columns["targets"]) == squash(targets)
    assert squash(columns["category"]).startswith("".join(c.name for c in BOOK.table.categories)[:20])
    notes = [f"{i}.{note}" for i, note in enumerate(BOOK.table.notes, 1)]
    assert_in_order(text, notes)


def test_every_source_unit_in_docx_in_order(out):
    assert_in_order(docx_text(out / "通知" / f"{NAME}.docx"), ["吉林省民政厅文件"] + source_units())


def test_reproducible(out, tmp_path):
    Cli(ROOT)("notice", "--out", tmp_path)
    for fmt in ("pdf", "docx"):
        a = (out / "通知" / f"{NAME}.{fmt}").read_bytes()
        b = (tmp_path / "通知" / f"{NAME}.{fmt}").read_bytes()
        assert a == b, fmt


# --- GB/T 9704 measured on the PDF ------------------------------------------------------


def test_page_size_and_margins(pdf):
    page = pdf.pages[0]
    assert abs(mm(page.width) - 210) < 0.5 and abs(mm(page.height) - 297) < 0.5
    body = [c for c in page.chars if round(c["size"]) == 16]
    assert abs(mm(min(c["x0"] for c in body)) - 28) < 0.5          # 订口 28 mm
    right = max(c["x1"] for c in body)
    assert 182.5 < mm(right) <= 184.3                               # 版心 156 mm


def test_masthead_red_and_placed(pdf):
    page = pdf.pages[0]
    mark = [c for c in page.chars if c["text"] in "吉林省民政厅文件" and c["size"] > 30]
    assert "".join(c["text"] for c in mark) == "吉林省民政厅文件"
    assert all(c["non_stroking_color"] in ((1, 0, 0), [1, 0, 0], (1.0, 0.0, 0.0)) for c in mark)
    assert abs(mm(min(c["top"] for c in mark)) - 72) < 1            # 35 mm below the 版心 top
    centre = (min(c["x0"] for c in mark) + max(c["x1"] for c in mark)) / 2
    assert abs(mm(centre) - 106) < 1
    assert mm(max(c["x1"] for c in mark) - min(c["x0"] for c in mark)) < 156


def test_document_number_and_red_rule(pdf):
    page = pdf.pages[0]
    line = next(l for l in lines_of(page) if "".join(c["text"] for c in l) == NAME)
    rules = [r for r in page.rects + page.lines if abs(mm(r["x1"] - r["x0"]) - 156) < 0.5]
    assert len(rules) == 1
    rule = rules[0]
    assert tuple(rule["non_stroking_color"] or rule["stroking_color"])[:3] == (1, 0, 0)
    assert abs(mm(rule["top"] - line[0]["bottom"]) - 4) < 0.8       # 4 mm below the 发文字号
    mark_bottom = max(c["bottom"] for c in page.chars if c["size"] > 30)
    assert abs(mm(line[0]["top"] - mark_bottom) - 2 * 10.227) < 1.5  # two blank lines


def test_title_and_body(pdf):
    page = pdf.pages[0]
    title = [l for l in lines_of(page) if round(l[0]["size"]) == 22]
    assert ["".join(c["text"] for c in l) for l in title] == BOOK.notice.title_lines
    assert all("GW-title" in c["fontname"] for l in title for c in l)
    for l in title:  # centred
        assert abs(mm((l[0]["x0"] + l[-1]["x1"]) / 2) - 106) < 1.5
    body = [l for l in lines_of(page) if round(l[0]["size"]) == 16 and l[0]["top"] > title[-1][0]["top"]]
    assert all("GW-fang" in c["fontname"] for l in body for c in l)
    tops = [l[0]["top"] for l in body]
    pitches = [b - a for a, b in zip(tops, tops[1:])]
    # §7.3.5.4: the first page's text tightened from the grid's 28.95 pt (22 lines in 225 mm)
    # to no less than 26 pt so that the body, 附件说明, 署名 and date all stand on page 1
    pitch = pitches[0]
    assert 26 <= pitch < 28.95
    assert all(abs(p - pitch) < 0.05 or abs(p - 2 * pitch) < 0.1 for p in pitches)
    full = [l for l in body if mm(l[-1]["x1"]) > 182]
    assert full and all(len(l) == 28 for l in full if all(ord(c["text"]) > 0x2000 for c in l))
    addressee = body[0]
    assert abs(mm(addressee[0]["x0"]) - 28) < 0.3                   # 主送 flush left
    first_body = next(l for l in body if l[0]["text"] == "《")
    assert abs(mm(first_body[0]["x0"]) - 28 - 2 * 5.571) < 0.5       # indented 2 characters


def test_page_numbers(pdf):
    for index in (0, 1, 2, 3):
        page = pdf.pages[index]
        number = index + 1
        chars = [c for c in page.chars if round(c["size"]) == 14 and c["top"] > page.height * 0.6
                 and c["text"].strip()]
        text = "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]) if c["text"].strip())
        assert text == f"—{number}—", text
        assert all("GW-song" in c["fontname"] for c in chars)
        bottom_of_text_block = page.height - mm_to_pt(35 if page.width < page.height else 26)
        assert abs(mm(min(c["top"] for c in chars) - bottom_of_text_block) - 7) < 1.5
        right_edge = page.width - mm_to_pt(26 if page.width < page.height else 35)
        left_edge = mm_to_pt(28 if page.width < page.height else 37)
        if number % 2:
            assert abs(mm(right_edge - max(c["x1"] for c in chars)) - 4.94) < 1
        else:
            assert abs(mm(min(c["x0"] for c in chars) - left_edge) - 4.94) < 1


def mm_to_pt(v: float) -> float:
    return v / 25.4 * 72


def test_attachment_landscape_with_repeated_header(pdf):
    table_pages = [p for p in pdf.pages if p.width > p.height]
    assert len(table_pages) >= 5
    first = table_pages[0]
    label = lines_of(first)[0]
    assert "".join(c["text"] for c in label) == "附件" and "GW-hei" in label[0]["fontname"]
    assert abs(mm(label[0]["x0"]) - 37) < 0.5 and abs(mm(label[0]["top"]) - 28) < 3
    for page in table_pages:
        text = "".join(c["text"] for c in page.chars)
        assert "序号考评项目考评内容" in text and "优秀达标" in text
        xs = [r["x0"] for r in page.rects + page.lines] + [r["x1"] for r in page.rects + page.lines]
        assert mm(min(xs)) > 36.5 and mm(max(xs)) < 262.5             # within the 225 mm 版心


def test_imprint_on_last_even_page(pdf):
    last = pdf.pages[-1]
    assert len(pdf.pages) % 2 == 0
    text = "".join(c["text"] for c in last.chars)
    # right after the attachment's last page, no blank page between: numbered (§7.5)
    assert text == f"吉林省民政厅办公室2016年3月29日印发— {len(pdf.pages)} —"
    rules = sorted(last.rects + last.lines, key=lambda r: r["top"])
    assert abs(mm(rules[-1]["bottom"]) - 262) < 0.8                  # on the 版心's bottom edge
    assert all(tuple(r["non_stroking_color"] or r["stroking_color"] or (0,))[:1] in ((0,), (0.0,))
               for r in rules)
    assert all(abs(mm(r["x1"] - r["x0"]) - 156) < 0.5 for r in rules)
    office = [c for c in last.chars if c["text"] == "吉"][0]
    assert abs(mm(office["x0"]) - 28 - 4.94) < 0.6                   # 1 character in


def test_fonts_embedded(out):
    from pypdf import PdfReader
    reader = PdfReader(out / "通知" / f"{NAME}.pdf")
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            names.add(str(font["/BaseFont"]).split("+")[-1])
    assert {"GW-title", "GW-fang", "GW-hei", "GW-song"} <= names


# --- the DOCX read back -----------------------------------------------------------------


@pytest.fixture(scope="module")
def docx(out):
    return Document(out / "通知" / f"{NAME}.docx")


def test_docx_sections(docx):
    portrait, landscape, imprint = docx.sections
    assert round(portrait.page_width.mm) == 210 and round(portrait.page_height.mm) == 297
    assert round(portrait.top_margin.mm) == 37 and round(portrait.left_margin.mm) == 28
    assert round(portrait.right_margin.mm) == 26 and round(portrait.bottom_margin.mm) == 35
    assert landscape.orientation == 1 and round(landscape.page_width.mm) == 297
    grid = portrait._sectPr.find(qn("w:docGrid"))
    # the 22 lines come from exact line spacing; LibreOffice would snap the 版头 to a line grid
    assert grid.get(qn("w:linePitch")) == "579" and grid.get(qn("w:type")) is None  # 28.95 pt: 22 lines fit
    assert imprint._sectPr.find(qn("w:type")).get(qn("w:val")) == "evenPage"


def test_docx_east_asian_fonts(docx):
    def east_asian(style):
        return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))
    assert east_asian(docx.styles["公文正文"]) == "仿宋_GB2312"
    assert east_asian(docx.styles["Title"]) == "方正小标宋简体"
    assert east_asian(docx.styles["发文机关标志"]) == "方正小标宋简体"
    assert east_asian(docx.styles["附件标识"]) == "黑体"
    assert east_asian(docx.styles["heading 2"]) == "楷体_GB2312"
    assert east_asian(docx.styles["页码"]) == "宋体"
    for style in docx.styles:
        rpr = style.element.rPr
        fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
        if fonts is not None:
            assert fonts.get(qn("w:eastAsiaTheme")) is None, style.name
    red = docx.styles["发文机关标志"].font.color.rgb
    assert str(red) == "FF0000"
    assert docx.styles["公文正文"].font.size.pt == 16 and docx.styles["Title"].font.size.pt == 22
    assert not docx.styles["heading 1"].font.bold


def test_docx_footers_odd_even(out, docx):
    with zipfile.ZipFile(out / "通知" / f"{NAME}.docx") as z:
        settings = z.read("word/settings.xml").decode()
        assert "<w:evenAndOddHeaders/>" in settings
        footers = [z.read(n).decode() for n in z.namelist() if n.startswith("word/footer")]
    assert sum("PAGE" in f for f in footers) >= 4
    section = docx.sections[0]
    assert section.footer.paragraphs[0].alignment == 2          # right on odd pages
    assert section.even_page_footer.paragraphs[0].alignment == 0  # left on even pages
    assert "— " in section.footer.paragraphs[0].text


def test_docx_table(docx):
    table = docx.tables[0]
    header = table.rows[0]._tr.trPr
    assert header.find(qn("w:tblHeader")) is not None
    assert table.rows[1]._tr.trPr.find(qn("w:tblHeader")) is not None
    # rows may break across pages (GBT9704.md "Tables"), the short ones stay whole
    split = [r._tr.trPr is None or r._tr.trPr.find(qn("w:cantSplit")) is None for r in table.rows[2:]]
    assert any(split) and not all(split)
    widths = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert len(widths) == 6 and all(w > 0 for w in widths)
    assert abs(sum(widths) / 56.6929 - 225) < 1
    assert table.cell(0, 3).text == "考评标准" and table.cell(1, 3).text == "优秀"


def test_docx_opens_in_libreoffice(out, tmp_path):
    src = out / "通知" / f"{NAME}.docx"
    subprocess.run([require(SOFFICE), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(src)], check=True, capture_output=True, timeout=180)
    converted = next(tmp_path.glob("*.pdf"))
    with pdfplumber.open(converted) as doc:
        pages = doc.pages
        assert pages[0].width < pages[0].height
        assert any(p.width > p.height for p in pages)                # landscape table section
        text = re.sub(r"\s", "", "".join(p.extract_text() or "" for p in pages))
        assert "吉林省民政厅文件" in text and "2016年全省民政工作目标责任制重点任务" in text
        last = pages[-1]
        rules = sorted(last.rects + last.lines, key=lambda r: r["top"])
        assert abs(mm(rules[-1]["bottom"]) - 262) < 1.5
