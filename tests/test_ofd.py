"""OFD (GB/T 33190-2016): every document also as OFD, read back by a reader that is not ours.

The standard's XSD is not at hand under a licence we can ship, so the structural rules we rely
on are written out below, each with its clause. The independent readers are ``ofdkit`` (text runs
with positions, page sizes, DocInfo) and ``ofd.js`` in Chromium (glyphs as it draws them, see
the end of this file); page images are drawn from the OFD's own embedded fonts and paths by
``ofdraster`` (FreeType via Pillow) and compared with poppler's rendering of the PDF.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import ofdkit
import pdfplumber
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageFilter

from pipeline.layout import load_layout

from .conftest import ROOT, Cli
from .ofdraster import OfdPackage, render_page

NS = "http://www.ofdspec.org/2016"
O = "{%s}" % NS
MM = 25.4 / 72
SAMPLE = ROOT / "content" / "results_2016_sample.csv"
REGION = "九台区"
NOTICE = "通知/吉民发〔2016〕13号"
DOCS = {"notice": NOTICE, "checklist": f"考评表/地区/{REGION}", "report": f"考评报告/{REGION}",
        "letter": f"等次函/{REGION}", "summary": "通报/吉民发〔2017〕5号"}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ofd")
    cli = Cli(ROOT)
    cli("notice", "--out", out)
    cli("checklist", "--region", REGION, "--out", out)
    cli("report", "--results", SAMPLE, "--region", REGION, "--out", out)
    cli("summary", "--results", SAMPLE, "--out", out)
    return out


def summary_name(out: Path) -> str:
    return next((out / "通报").glob("*.ofd")).with_suffix("").relative_to(out).as_posix()


@pytest.fixture(scope="module")
def pairs(out) -> dict[str, tuple[Path, Path]]:
    names = dict(DOCS, summary=summary_name(out))
    return {kind: (out / f"{name}.ofd", out / f"{name}.pdf") for kind, name in names.items()}


def xml(package: zipfile.ZipFile, name: str) -> ET.Element:
    return ET.fromstring(package.read(name))


def local(element: ET.Element) -> str:
    assert element.tag.startswith(O), f"{element.tag} is not in the OFD namespace"
    return element.tag[len(O):]


def assert_order(parent: ET.Element, order: list[str], clause: str) -> None:
    """Children appear in the schema's sequence (each name at most where the sequence allows)."""
    names = [local(c) for c in parent]
    positions = [order.index(n) if n in order else -1 for n in names]
    assert -1 not in positions, f"{clause}: unexpected child in {local(parent)}: {names}"
    assert positions == sorted(positions), f"{clause}: {local(parent)} children out of order: {names}"


# --- the rules of GB/T 33190-2016 we rely on ------------------------------------------------------
DOCBODY_ORDER = ["DocInfo", "DocRoot", "Versions", "Signatures"]  # §7.3, 表 3
DOCINFO_ORDER = ["DocID", "Title", "Author", "Subject", "Abstract", "CreationDate", "ModDate",
                 "DocUsage", "Cover", "Keywords", "Creator", "CreatorVersion", "CustomDatas"]  # §7.4, 表 4
DOCUMENT_ORDER = ["CommonData", "Pages", "Outlines", "Permissions", "Actions", "VPreferences",
                  "Bookmarks", "Annotations", "CustomTags", "Attachments", "Extensions"]  # §7.5, 表 5
COMMONDATA_ORDER = ["MaxUnitID", "PageArea", "PublicRes", "DocumentRes", "TemplatePage", "DefaultCS"]  # 表 6
PAGE_ORDER = ["Template", "PageRes", "Area", "Content", "Actions"]  # §7.7, 表 11
TEXT_ORDER = ["Actions", "Clips", "FillColor", "StrokeColor", "CGTransform", "TextCode"]  # §11.2, 表 45
PATH_ORDER = ["Actions", "Clips", "StrokeColor", "FillColor", "AbbreviatedData"]  # §9.1, 表 35
TAG_ELEMENTS = ["发文机关标志", "发文字号", "标题", "主送机关", "正文", "附件说明", "发文机关署名",
                "成文日期", "印发机关和印发日期"]


def test_every_document_kind_has_an_ofd_in_the_manifest(out, pairs):
    import json
    manifest = {d["path"]: d for d in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]}
    for kind, (ofd, pdf) in pairs.items():
        entry = manifest[ofd.relative_to(out).as_posix()]
        assert entry["format"] == "ofd" and entry["kind"] == kind
        assert entry["pages"] == len(pdfplumber.open(pdf).pages) == len(ofdkit.open(ofd).pages)


@pytest.mark.parametrize("kind", list(DOCS))
def test_package_structure_follows_the_standard(pairs, kind):
    ofd_path, _ = pairs[kind]
    raw = ofd_path.read_bytes()
    package = zipfile.ZipFile(io.BytesIO(raw))
    names = package.namelist()
    # §7.2: the entry file OFD.xml at the package root
    assert "OFD.xml" in names
    entry_text = package.read("OFD.xml").decode("utf-8")
    # the ofd: prefix, never a default namespace (a default namespace crashes at least one reader)
    for name in names:
        if name.endswith(".xml") and not name.endswith("gongwen.xml"):
            text = package.read(name).decode("utf-8")
            assert f'xmlns:ofd="{NS}"' in text and 'xmlns="' not in text, name
            assert re.search(r"<(?!\?|ofd:|/ofd:)", text) is None, f"{name}: an element outside ofd:"
    root = ET.fromstring(entry_text)
    assert local(root) == "OFD" and root.get("Version") == "1.0" and root.get("DocType") == "OFD"  # 表 3
    body = root.find(O + "DocBody")
    assert_order(body, DOCBODY_ORDER, "§7.3")
    info = body.find(O + "DocInfo")
    assert_order(info, DOCINFO_ORDER, "§7.4")
    assert re.fullmatch(r"[0-9a-f]{32}", info.find(O + "DocID").text)  # 表 4: a 32-character id
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.find(O + "CreationDate").text)  # xs:date
    doc_root = body.find(O + "DocRoot").text
    document = xml(package, doc_root)
    base = doc_root.rsplit("/", 1)[0]
    assert_order(document, DOCUMENT_ORDER, "§7.5")
    common = document.find(O + "CommonData")
    assert_order(common, COMMONDATA_ORDER, "§7.5 表 6")
    max_id = int(common.find(O + "MaxUnitID").text)
    ids: list[int] = []
    # resources (§7.9): fonts with their files
    fonts = {}
    for res in common.findall(O + "PublicRes"):
        res_root = xml(package, f"{base}/{res.text}")
        for font in res_root.iter(O + "Font"):
            ids.append(int(font.get("ID")))
            file_name = f"{base}/{res_root.get('BaseLoc')}/{font.find(O + 'FontFile').text}"
            assert file_name.endswith(".ttf"), "font files are named by their real format"
            fonts[font.get("ID")] = TTFont(io.BytesIO(package.read(file_name)))
    used_chars: dict[str, set[str]] = {fid: set() for fid in fonts}
    text_ids: dict[str, set[str]] = {}
    templates = {}
    for template in common.findall(O + "TemplatePage"):  # §7.6: page blocks drawn beneath pages
        ids.append(int(template.get("ID")))
        templates[template.get("ID")] = xml(package, f"{base}/{template.get('BaseLoc')}")
    descriptions = [(page.get("ID"), xml(package, f"{base}/{page.get('BaseLoc')}"), True)
                    for page in document.find(O + "Pages")]
    descriptions += [(tid, content, False) for tid, content in templates.items()]
    for page_id, content, is_page in descriptions:
        ids.append(int(page_id)) if is_page else None
        assert_order(content, PAGE_ORDER, "§7.7")
        if is_page:
            box = [float(v) for v in content.find(f"{O}Area/{O}PhysicalBox").text.split()]
            assert box[:2] == [0, 0] and sorted(box[2:]) == [210, 297]  # A4, portrait or landscape
            for use in content.findall(O + "Template"):
                assert use.get("TemplateID") in templates
        text_ids[page_id] = set()
        for layer in content.find(O + "Content"):
            ids.append(int(layer.get("ID")))
            for obj in layer:
                ids.append(int(obj.get("ID")))
                assert len(obj.get("Boundary").split()) == 4  # CT_GraphicUnit: Boundary required
                if local(obj) == "TextObject":
                    assert_order(obj, TEXT_ORDER, "§11.2")
                    assert obj.get("Font") in fonts and float(obj.get("Size")) > 0  # 表 45: required
                    text_ids[page_id].add(obj.get("ID"))
                    for code in obj.findall(O + "TextCode"):
                        deltas = (code.get("DeltaX") or "").split()
                        assert len(deltas) == len(code.text) - 1  # §11.3: one advance between glyphs
                        used_chars[obj.get("Font")] |= set(code.text)
                else:
                    assert local(obj) == "PathObject"
                    assert_order(obj, PATH_ORDER, "§9.1")
                    assert re.fullmatch(r"([MLBQC]( -?[\d.]+)*\s*)+", obj.find(O + "AbbreviatedData").text)  # §9.3.2
    assert len(ids) == len(set(ids)), "§7.5: ids are unique in the document"
    assert max(ids) <= max_id, "表 6: MaxUnitID is the largest id"
    # every character has its glyph in the embedded face; the faces are TrueType (no CFF)
    for fid, font in fonts.items():
        assert "glyf" in font and "CFF " not in font
        cmap = font.getBestCmap()
        missing = {c for c in used_chars[fid] if ord(c) not in cmap and c != " "}
        assert not missing, f"font {fid} lacks {missing}"
        assert len(font.getGlyphOrder()) <= len(used_chars[fid]) + 2, "subset to the characters used"
    # §16 custom tags: every ObjectRef points at a text object on its page
    tags_loc = document.find(O + "CustomTags")
    if tags_loc is not None:
        tags = xml(package, f"{base}/{tags_loc.text}")
        for tag in tags.findall(O + "CustomTag"):
            tag_file = xml(package, f"{base}/{tags_loc.text.rsplit('/', 1)[0]}/{tag.find(O + 'FileLoc').text}")
            for ref in tag_file.iter(O + "ObjectRef"):
                assert ref.text in text_ids[ref.get("PageRef")]


def pdf_chars(page) -> list[dict]:
    return [c for c in page.chars]


@pytest.mark.parametrize("kind", list(DOCS))
def test_text_and_positions_agree_with_the_pdf(pairs, kind):
    """ofdkit's runs: the same characters in the same order as the PDF's glyphs, each run starting
    within 0.2 mm of the PDF's glyph; page sizes equal. Every glyph (DeltaX) checked too."""
    ofd_path, pdf_path = pairs[kind]
    with ofdkit.open(ofd_path) as doc, pdfplumber.open(pdf_path) as pdf:
        assert len(doc.pages) == len(pdf.pages)
        package = OfdPackage(ofd_path.read_bytes())
        for number, (page, pdf_page) in enumerate(zip(doc.pages, pdf.pages)):
            assert abs(page.width - pdf_page.width * MM) < 0.01 and abs(page.height - pdf_page.height * MM) < 0.01
            chars = pdf_chars(pdf_page)
            runs = page.runs
            assert "".join(r.text for r in runs) == "".join(c["text"] for c in chars)
            at = 0
            for run in runs:
                first = chars[at]
                x, baseline = first["matrix"][4] * MM, (pdf_page.height - first["matrix"][5]) * MM
                assert abs(run.x - x) <= 0.2 and abs(run.y - baseline) <= 0.2, (run, x, baseline)
                at += len(run.text)
            # every glyph: X + the DeltaX advances before it, against the PDF glyph's origin
            glyphs = list(glyph_origins(package, number))
            assert len(glyphs) == len(chars)
            for (char, gx, gy), c in zip(glyphs, chars):
                assert char == c["text"]
                assert abs(gx - c["matrix"][4] * MM) <= 0.2 and abs(gy - (pdf_page.height - c["matrix"][5]) * MM) <= 0.2


def glyph_origins(package: OfdPackage, number: int):
    for obj in (o for layer in package.layers(number) for o in layer.iter(O + "TextObject")):
        bx, by = (float(v) for v in obj.get("Boundary").split()[:2])
        a, b, c, d, e, f = [float(v) for v in (obj.get("CTM") or "1 0 0 1 0 0").split()]
        for code in obj.findall(O + "TextCode"):
            x, y = float(code.get("X")), float(code.get("Y"))
            deltas = [float(v) for v in (code.get("DeltaX") or "").split()]
            for i, char in enumerate(code.text):
                yield char, a * x + c * y + e + bx, b * x + d * y + f + by
                if i < len(deltas):
                    x += deltas[i]


def page_difference(ofd: Image.Image, reference: Image.Image) -> tuple[float, float]:
    """Mean grey difference (of 255) per pixel, and the share of pixels differing by more than 32,
    after a 1 px blur: two rasterisers anti-alias and hint differently (that is what the blur
    forgives); text out of place by 0.2 mm (0.8 px at 100 dpi) still shows (checked below)."""
    a = ofd.convert("L").filter(ImageFilter.GaussianBlur(1.0))
    b = reference.convert("L").crop((0, 0) + ofd.size).filter(ImageFilter.GaussianBlur(1.0))
    histogram = ImageChops.difference(a, b).histogram()
    n = sum(histogram)
    return sum(i * c for i, c in enumerate(histogram)) / n, sum(histogram[33:]) / n


def poppler(pdf: Path, page: int, tmp_path: Path) -> Image.Image:
    target = tmp_path / f"ref-{page}"
    subprocess.run(["pdftoppm", "-r", "100", "-f", str(page + 1), "-l", str(page + 1), "-png",
                    "-singlefile", str(pdf), str(target)], check=True)
    return Image.open(f"{target}.png").convert("RGB")


@pytest.mark.parametrize("kind,page", [("notice", 0), ("checklist", 1), ("letter", 0)])
def test_page_rendered_from_the_ofd_matches_the_pdf(pairs, kind, page, tmp_path):
    ofd_path, pdf_path = pairs[kind]
    reference = poppler(pdf_path, page, tmp_path)
    package = OfdPackage(ofd_path.read_bytes())
    image = render_page(package, page, 100)
    mean, share = page_difference(image, reference)
    assert mean < 2.0 and share < 0.012, (mean, share)
    # colours too: the red 版头 (notice) and the red 样例 mark (letter) are red in both
    # (the red ink: how much redder than grey each pixel is, summed; anti-aliasing cannot shift it much)
    red = lambda im: sum(max(0, r - max(g, b)) for r, g, b in im.get_flattened_data()) / 255
    if kind in ("notice", "letter"):
        assert red(image) > 1000 and abs(red(image) - red(reference)) < 0.1 * red(reference), (red(image), red(reference))
    # and the comparison can fail: the same page with its text moved by 0.2 mm does
    moved = _shift_text(ofd_path.read_bytes(), page, 0.2)
    mean_moved, share_moved = page_difference(render_page(OfdPackage(moved), page, 100), reference)
    assert mean_moved > mean + 0.5 and share_moved > 1.5 * share, (mean, mean_moved, share, share_moved)


def _shift_text(data: bytes, page: int, dx: float) -> bytes:
    """The OFD with every text object of one page (and of the templates) moved right by ``dx`` mm."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith(f"Page_{page}/Content.xml") or "/Tpls/" in name:  # (its template too)
                content = re.sub(rb'(<ofd:TextObject ID="\d+" Boundary=")([-\d.]+)',
                                 lambda m: m.group(1) + f"{float(m.group(2)) + dx:.3f}".encode(), content)
            target.writestr(name, content)
    return out.getvalue()


def test_metadata_docinfo_and_custom_datas(pairs):
    with ofdkit.open(pairs["notice"][0]) as doc:
        info = doc.info
        assert info.title.startswith("吉林省民政厅关于印发") and info.author == "吉林省民政厅"
        assert info.creation_date == "2016-03-29"
        assert info.custom_data == {"发文字号": "吉民发〔2016〕13号", "发文机关": "吉林省民政厅",
                                    "成文日期": "2016年3月29日",
                                    "主送机关": info.custom_data["主送机关"], "文种": "通知"}
        assert info.custom_data["主送机关"].startswith("各市（州）民政局")
    with ofdkit.open(pairs["letter"][0]) as doc:
        data = doc.info.custom_data
        assert data["文种"] == "函" and data["主送机关"] == f"{REGION}民政局" and "发文字号" in data
    with ofdkit.open(pairs["summary"][0]) as doc:
        assert doc.info.custom_data["文种"] == "通报"


def test_custom_tags_mark_the_gongwen_elements(pairs):
    package = zipfile.ZipFile(pairs["notice"][0])
    tags = ET.fromstring(package.read("Doc_0/Tags/gongwen.xml"))
    with ofdkit.open(pairs["notice"][0]) as doc:
        by_id = {}
        for page in doc.pages:
            for run in page.runs:
                by_id[run.object_id] = run.text
    found = {}
    for element in tags:
        name = element.tag.split("}")[1]
        found[name] = "".join(by_id[ref.text] for ref in element)
    assert list(found) == TAG_ELEMENTS
    assert found["发文机关标志"] == "吉林省民政厅文件" and found["发文字号"] == "吉民发〔2016〕13号"
    assert found["标题"] == "吉林省民政厅关于印发《2016年全省民政工作目标责任制重点任务》的通知"
    assert found["主送机关"].endswith("各直属事业单位：") and found["成文日期"] == "2016年3月29日"
    assert found["附件说明"].startswith("附件：") and found["发文机关署名"] == "吉林省民政厅"
    assert "吉林省民政厅办公室" in found["印发机关和印发日期"]


LETTER_FIRST_PAGE = ["发文机关标志", "发文字号", "标题", "主送机关", "正文", "附件说明", "发文机关署名", "成文日期"]


def test_letter_first_page_is_its_own_with_its_gongwen_tags(pairs):
    """A letter is filled in as a form (forms.py: its attachment a blank form) but its first part
    is laid out per region: page 0 is ordinary page content (no template page) whose text objects
    carry the letter's 公文 elements (a 信函 has no 版记: no 印发机关和印发日期); only the
    attachment's pages draw their blank form as a template page, which holds nothing filled in."""
    package = zipfile.ZipFile(pairs["letter"][0])
    document = xml(package, "Doc_0/Document.xml")
    page_ids = [p.get("ID") for p in document.find(O + "Pages")]
    pages = [xml(package, f"Doc_0/Pages/Page_{n}/Content.xml") for n in range(len(page_ids))]
    assert pages[0].find(O + "Template") is None, "the letter's first page is its own, not a template"
    assert all(p.find(O + "Template") is not None for p in pages[1:]), "the attachment: its blank form"
    templates = [xml(package, f"Doc_0/{t.get('BaseLoc')}") for t in document.iter(O + "TemplatePage")]
    assert len(templates) == len(pages) - 1
    template_text = "".join(c.text for t in templates for c in t.iter(O + "TextCode"))
    assert "附件" in template_text and REGION not in template_text and "优秀" not in template_text
    on_first = {o.get("ID"): "".join(c.text for c in o.iter(O + "TextCode"))
                for o in pages[0].iter(O + "TextObject")}
    assert "样例" in on_first.values()
    found: dict[str, list[str]] = {}
    for element in ET.fromstring(package.read("Doc_0/Tags/gongwen.xml")):
        name = element.tag.split("}")[1]
        refs = list(element)
        if refs[0].get("PageRef") != page_ids[0]:
            assert name == "正文" and name in found, f"{name} off the first page"  # the attachment's note
            continue
        assert all(r.get("PageRef") == page_ids[0] for r in refs), name
        found.setdefault(name, []).append("".join(on_first[r.text] for r in refs))
    assert list(found) == LETTER_FIRST_PAGE
    assert found["发文机关标志"] == ["吉林省民政厅"] and found["发文机关署名"] == ["吉林省民政厅"]
    assert re.fullmatch(r"吉民函〔\d{4}〕\d+号", found["发文字号"][0])
    assert found["标题"][0].startswith(f"吉林省民政厅关于{REGION}") and found["标题"][0].endswith("的函")
    assert found["主送机关"] == [f"{REGION}民政局："]
    assert len(found["正文"]) >= 2 and found["正文"][0].startswith("根据")
    assert found["附件说明"][0].startswith("附件：") and REGION in found["附件说明"][0]
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", found["成文日期"][0])


def test_fonts_carry_the_docx_family_names(pairs):
    layout = load_layout()
    package = zipfile.ZipFile(pairs["notice"][0])
    res = ET.fromstring(package.read("Doc_0/PublicRes.xml"))
    names = {f.get("FontName") for f in res.iter(O + "Font")}
    assert names <= {face.docx for face in layout.fonts.values()}
    assert {"仿宋_GB2312", "方正小标宋简体"} <= names


def test_sample_mark_and_page_numbers(pairs):
    with ofdkit.open(pairs["letter"][0]) as doc:
        texts = [r.text for page in doc.pages for r in page.runs]
        assert texts.count("样例") == len(doc.pages)
        assert "— 2 —" in texts  # 信函: no number on page 1 (§10.1.1), numbers after it
    package = zipfile.ZipFile(pairs["letter"][0])
    first = package.read("Doc_0/Pages/Page_0/Content.xml").decode()
    assert re.search(r'<ofd:TextObject [^>]*><ofd:FillColor Value="255 0 0"/><ofd:TextCode[^>]*>样例<', first)
    # its frame: a 1 pt red border, which WeasyPrint paints as a ring (two rectangles, even-odd)
    frame = re.search(r'<ofd:PathObject [^>]*Rule="Even-Odd"><ofd:FillColor Value="255 0 0"/>'
                      r'<ofd:AbbreviatedData>M 0.353 0.353 [^<]*M 0.000 0.000 [^<]*</ofd:AbbreviatedData></ofd:PathObject>'
                      r'<ofd:TextObject [^>]*><ofd:FillColor Value="255 0 0"/><ofd:TextCode[^>]*>样例<', first)
    assert frame, "the 样例 mark in its red frame"


def test_byte_reproducible(out, tmp_path):
    Cli(ROOT)("notice", "--format", "ofd", "--out", tmp_path)
    again = (tmp_path / f"{NOTICE}.ofd").read_bytes()
    assert again == (out / f"{NOTICE}.ofd").read_bytes()
    # a letter (a form: template pages shared within a process) is the same whatever the process
    # made before it (here: its blank forms and blocks already read, by the first build)
    Cli(ROOT)("report", "--results", SAMPLE, "--region", REGION, "--format", "ofd", "--out", tmp_path)
    assert (tmp_path / f"{DOCS['letter']}.ofd").read_bytes() == (out / f"{DOCS['letter']}.ofd").read_bytes()
    # the DocID is the document's, not a random one: a different document has another
    ids = {ofdkit.open(p).info.doc_id for p, _ in [(out / f"{NOTICE}.ofd", 0),
                                                    (out / f"等次函/{REGION}.ofd", 0)]}
    assert len(ids) == 2


def test_disk_cache_does_not_change_the_bytes(out, tmp_path):
    """The OFD writer keeps converted template pages and font subsets on disk (by content): a
    process that writes them (empty cache) and one that reads them back make the same bytes as
    this process did, page for page of every form (a report, a letter, a region's checklist); so
    does one finding every kept file damaged."""
    import os
    import shutil
    import sys

    from pipeline.writers.ofd_fonts import cache_root

    cache = tmp_path / "cache"
    # the TrueType faces (minutes to convert) shared; the templates and subsets start empty
    shutil.copytree(cache_root() / "ofd-fonts", cache / "ofd-fonts", ignore=shutil.ignore_patterns("*.lock"))
    env = dict(os.environ, GONGWEN_CACHE_DIR=str(cache))
    made = []
    for run in ("cold", "warm", "damaged"):
        if run == "damaged":  # a byte changed in each kept file: each is found out and made again
            for kept in (cache / "ofd-templates").glob("*.bin"):
                data = bytearray(kept.read_bytes())
                data[-1 - len(data) // 3] ^= 0x01
                kept.write_bytes(bytes(data))
        target = tmp_path / run
        for args in (("report", "--results", SAMPLE, "--region", REGION), ("checklist", "--region", REGION)):
            subprocess.run([sys.executable, "-m", "pipeline", *map(str, args), "--format", "ofd", "--out", str(target)],
                           cwd=ROOT, env=env, check=True, capture_output=True)
        made.append(target)
        if run == "cold":
            assert list((cache / "ofd-templates").glob("*.bin")), "the first run keeps its template pages"
    for name in (DOCS["report"], DOCS["letter"], DOCS["checklist"]):
        reference = (out / f"{name}.ofd").read_bytes()
        assert all((target / f"{name}.ofd").read_bytes() == reference for target in made), name


def test_filled_form_ofd_is_the_ofd_of_its_pdf(tmp_path):
    """A filled form's OFD is written from what the form filler drew on each page (its blank
    form's page, the stamps, the texts laid out for the document: forms.FilledPdf), not by reading
    the PDF back: the same file as reading the PDF's bytes gives, for reports, letters and
    regions' checklists (regions whose ratings, names and page counts differ)."""
    import pickle

    from pipeline.cli import load_for_results
    from pipeline.jobs import checklist_job, report_jobs
    from pipeline.output import OutputDir
    from pipeline.render import Renderer
    from pipeline.writers.ofd import OfdWriter

    content, results = load_for_results(None, None, None)
    renderer, out = Renderer(), OutputDir(tmp_path)
    from_pdf = OfdWriter(renderer.pdf.layout)
    kinds = set()
    for name in (REGION, "南关区", "长白山管委会", "前郭尔罗斯蒙古族自治县"):
        region = content.region(name)
        for job in report_jobs(content, results, [region]) + [checklist_job(content, region.assessment_class, region)]:
            data, pages = renderer.forms(out).fill_pdf(job.view, job.base)
            assert data.fill is not None, (name, job.kind)
            assert type(pickle.loads(pickle.dumps(data))) is bytes  # (sent to a process: the bytes)
            key = job.fingerprint("ofd")
            made, count = renderer.ofd.render(job.view, data, key)
            assert count == pages
            assert made == from_pdf.render(job.view, bytes(data), key)[0], (name, job.kind)
            kinds.add(job.kind)
    assert kinds == {"report", "letter", "checklist"}


def test_characters_the_fandol_faces_lack(workdir, wcli):
    """Drawn in the PDF from a system face (☃, DejaVu) or as a box (𠀀, in no face here), the
    clerk warned; the OFD keeps the characters, in order and in place, and is written all the same.
    (pdfminer cannot read a page whose ToUnicode maps a character outside the BMP: the PDF
    comparison is on ☃ alone.)"""
    from .conftest import edit
    tasks = workdir / "content" / "tasks_2016.yaml"
    edit(tasks, "  signature: 吉林省民政厅", "  signature: 吉林省民政厅☃")
    result = wcli("notice", "--format", "pdf", "--format", "ofd", "--out", "o")
    assert "不在 Fandol 字体里" in result.stderr
    ofd, pdf = workdir / "o" / f"{NOTICE}.ofd", workdir / "o" / f"{NOTICE}.pdf"
    with ofdkit.open(ofd) as doc, pdfplumber.open(pdf) as reference:
        assert "吉林省民政厅☃" in doc.text()
        for page, pdf_page in zip(doc.pages, reference.pages):
            assert "".join(r.text for r in page.runs) == "".join(c["text"] for c in pdf_page.chars)
    edit(tasks, "  signature: 吉林省民政厅☃", "  signature: 吉林省民政厅𠀀")
    wcli("notice", "--format", "ofd", "--out", "o")
    with ofdkit.open(ofd) as doc:
        assert "吉林省民政厅𠀀" in doc.text()


def test_draft_summary_carries_its_mark_on_every_page(workdir, wcli):
    results = workdir / "content" / "results_2016_sample.csv"
    rows = results.read_text(encoding="utf-8-sig").splitlines()
    results.write_text("\n".join(r for r in rows if not r.startswith("九台区,")) + "\n", encoding="utf-8")
    wcli("summary", "--results", results, "--draft", "--format", "ofd", "--out", "o")
    [path] = (workdir / "o" / "通报").glob("*.ofd")
    with ofdkit.open(path) as doc:
        assert all("征求意见稿" in page.text() for page in doc.pages)
        assert "九台区" in doc.text()


# --- a second reader: ofd.js in Chromium ----------------------------------------------------------
# ofd.js 0.2.6 (npm; the last release whose UMD bundle reads OFD without an authorisation code:
# 1.x is a shell around a licensed core), installed by `make setup-test` from tests/ofdjs's lock
# file into .venv/ofdjs, run in Debian's Chromium (Playwright). It parses the package itself
# (its own zip and XML code) and draws each glyph as an SVG <text> at the place it computes from
# Boundary, CTM, TextCode X/Y and DeltaX, templates included.
OFDJS = ROOT / ".venv" / "ofdjs" / "node_modules" / "ofd.js" / "lib" / "ofd.umd.js"
OFDJS_GLYPHS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const docs = await new Promise((resolve, reject) => ofd.parseOfdDocument({
      ofd: bytes.buffer, success: resolve, fail: (e) => reject(new Error(String(e)))}));
  const holder = document.getElementById('pages');
  const pages = [];
  for (const div of ofd.renderOfd(1000, docs[0])) {
    holder.appendChild(div);
    const frame = div.getBoundingClientRect();
    const glyphs = [];
    for (const t of div.querySelectorAll('text')) {  // each glyph's origin, in px of the page
      const at = new DOMPoint(parseFloat(t.getAttribute('x')), parseFloat(t.getAttribute('y')))
          .matrixTransform(t.getScreenCTM());
      glyphs.push([t.textContent, at.x - frame.left, at.y - frame.top]);
    }
    pages.push({width: frame.width, height: frame.height, glyphs});
    holder.removeChild(div);
  }
  return pages;
}"""


@pytest.fixture(scope="module")
def ofdjs_page():
    from playwright.sync_api import sync_playwright

    from .conftest import CHROMIUM, require

    chromium = require(CHROMIUM)
    if not OFDJS.is_file():
        pytest.fail(f"测试需要 ofd.js（{OFDJS.relative_to(ROOT)}）：请运行 make setup-test", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content("<!DOCTYPE html><html><body style='margin:0'><div id='pages'></div></body></html>")
        page.add_script_tag(path=str(OFDJS))
        yield page, errors
        browser.close()


@pytest.mark.parametrize("kind", ["notice", "checklist", "letter"])
def test_ofdjs_reads_the_same_text_at_the_same_places(pairs, ofdjs_page, kind):
    """ofd.js: as many pages as the PDF, each page's glyphs the PDF's characters in the PDF's
    order, each glyph's origin within 0.2 mm of the PDF glyph's."""
    import base64

    page, errors = ofdjs_page
    ofd_path, pdf_path = pairs[kind]
    pages = page.evaluate(OFDJS_GLYPHS, base64.b64encode(ofd_path.read_bytes()).decode())
    assert not errors, errors
    with pdfplumber.open(pdf_path) as pdf:
        assert len(pages) == len(pdf.pages)
        for number, (got, pdf_page) in enumerate(zip(pages, pdf.pages)):
            px_per_mm = got["width"] / (pdf_page.width * MM)
            assert abs(got["height"] / px_per_mm - pdf_page.height * MM) < 0.1
            chars = pdf_chars(pdf_page)
            assert chars, f"page {number + 1} has text"
            assert "".join(g[0] for g in got["glyphs"]) == "".join(c["text"] for c in chars), f"page {number + 1}"
            for (char, x, y), c in zip(got["glyphs"], chars):
                dx = x / px_per_mm - c["matrix"][4] * MM
                dy = y / px_per_mm - (pdf_page.height - c["matrix"][5]) * MM
                assert abs(dx) <= 0.2 and abs(dy) <= 0.2, (number + 1, char, dx, dy)
    if kind == "letter":  # and the comparison can fail: the first page's text moved by 0.3 mm
        moved = page.evaluate(OFDJS_GLYPHS, base64.b64encode(_shift_text(ofd_path.read_bytes(), 0, 0.3)).decode())
        with pdfplumber.open(pdf_path) as pdf:
            first = pdf_chars(pdf.pages[0])
            px_per_mm = moved[0]["width"] / (pdf.pages[0].width * MM)
            shifts = [x / px_per_mm - c["matrix"][4] * MM for (_, x, _), c in zip(moved[0]["glyphs"], first)]
        assert min(shifts) > 0.25, min(shifts)
