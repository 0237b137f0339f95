"""The writers' start-up shortcuts give the same bytes as the long way round.

- The OFD writer reads its faces' character maps with HarfBuzz: the same maps as fontTools'
  ``getBestCmap``.
- A face is subset as it is until it has been subset a number of times, then preprocessed for
  subsetting (ofd_fonts.PREPROCESS_AFTER): a subset is the same file before and after.
- The PDF writer has fontconfig scan the project's faces where they lie (no temporary copy):
  the same PDF bytes as WeasyPrint's own loading, each family matched to its file.
- WeasyPrint's sized cffi arrays get their types without a parse: the types the parse gives.
"""

from __future__ import annotations

import io
import random

import pytest
from fontTools.ttLib import TTFont

from pipeline.layout import font_paths, load_layout
from pipeline.writers import ofd_fonts

FONTS = font_paths(load_layout())


@pytest.mark.parametrize("role", sorted(FONTS))
def test_character_map_is_fonttools_best_cmap(role):
    source = FONTS[role]
    font = TTFont(source, lazy=True)
    order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    expected = {code: order[name] for code, name in font.getBestCmap().items()}
    found = ofd_fonts.character_map(source)
    assert len(found) > 7000  # (a CJK face: GB 2312 and more)
    assert found == expected
    # and of the TrueType conversion the OFD embeds (the same cmap, the same glyph order)
    assert ofd_fonts.character_map(ofd_fonts.truetype_path(source)) == expected


def test_source_hash_is_the_fonts_sha256():
    """The faces' hashes (naming the TrueType conversions and the disk cache) are the fingerprints'
    (noted by the file's stat), the files' sha256 as before."""
    import hashlib

    from pipeline import fingerprint

    for path in FONTS.values():
        assert ofd_fonts._source_hash(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
        assert fingerprint.font_notes()[str(path)][-1] == ofd_fonts._source_hash(str(path))


def test_character_map_of_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(OSError):
        ofd_fonts.character_map(tmp_path / "absent.ttf")


def _subsets(cmap: dict[int, int], glyph_count: int, seed: int) -> list[tuple[set, set]]:
    """Subset requests as the OFD writer makes them: characters of the face with their glyphs
    (a document's texts), sometimes glyphs without characters (a form's rules' faces), one empty."""
    rng = random.Random(seed)
    codes = sorted(cmap)
    asked = [(set(), {0})]
    for n in (1, 3, 12, 40, 150, 400, 1200):
        unicodes = set(rng.sample(codes, n))
        glyphs = {cmap[code] for code in unicodes}
        if n % 2:
            glyphs |= set(rng.sample(range(1, glyph_count), 3))
        asked.append((unicodes, glyphs))
    return asked


@pytest.mark.parametrize("role", sorted(FONTS))
def test_subset_is_the_same_before_and_after_preprocessing(role):
    source = FONTS[role]
    path = ofd_fonts.truetype_path(source)
    cmap = ofd_fonts.character_map(path)
    asked = _subsets(cmap, max(cmap.values()) + 1, seed=len(role))
    plain = ofd_fonts.Face(path, preprocess_after=10 ** 9)
    ready = ofd_fonts.Face(path, preprocess_after=0)
    switching = ofd_fonts.Face(path, preprocess_after=3)
    states = []
    for unicodes, glyphs in asked:
        a = plain.subset(unicodes, glyphs)
        b = ready.subset(unicodes, glyphs)
        c = switching.subset(unicodes, glyphs)
        states.append(switching.preprocessed)
        assert a == b == c, (role, len(unicodes), len(glyphs))
        assert unicodes <= set(TTFont(io.BytesIO(a))["cmap"].getBestCmap() or ())
    assert not plain.preprocessed and ready.preprocessed
    assert states == [False] * 3 + [True] * (len(asked) - 3)  # preprocessed at its 4th subset


def _child_face_preprocessed(source: str) -> tuple[bool, bool]:
    ofd_fonts.face.cache_clear()  # (not a face the parent made)
    made = ofd_fonts.face(source)
    made.subset(set(), {0})
    return ofd_fonts._writes_many(), made.preprocessed


def test_a_build_worker_preprocesses_at_once_a_lone_process_when_it_pays():
    """A build's worker (forked by multiprocessing) preprocesses a face at its first subset, as
    it will make many; a process rendering on its own (one region's change: 3-5 subsets a face)
    only after PREPROCESS_AFTER subsets; OfdWriter.warm (a process set to write many) at once."""
    import multiprocessing

    from pipeline.writers.ofd import OfdWriter

    source = str(FONTS["song"])
    assert not ofd_fonts._writes_many()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_child_face_preprocessed, (source,)) == (True, True)
    alone = ofd_fonts.Face(ofd_fonts.truetype_path(FONTS["song"]))
    for _ in range(ofd_fonts.PREPROCESS_AFTER):
        alone.subset(set(), {0})
    assert not alone.preprocessed
    alone.subset(set(), {0})
    assert alone.preprocessed
    assert 8 <= ofd_fonts.PREPROCESS_AFTER <= 32  # (the measured break-even: 14-19 subsets)
    writer = OfdWriter()
    writer.warm()
    assert all(ofd_fonts.face(path).preprocessed for path in writer.fonts.values())


# --- the PDF writer's start-up -------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_writer():
    from pipeline.writers.pdf import PdfWriter
    return PdfWriter()


def test_project_faces_are_registered_in_place(pdf_writer):
    """The faces are scanned by fontconfig where they lie: no temporary copy (WeasyPrint's
    folder is never made), and each family matches its own file, not a system face."""
    config = pdf_writer.font_config
    assert config._folder is None
    for role, path in pdf_writer.fonts.items():
        assert config.file_of(f"GW {role}") == path.resolve()
    assert config.file_of("GW no such role") not in {p.resolve() for p in pdf_writer.fonts.values()}


def test_pdf_is_the_same_as_with_weasyprints_own_font_loading(pdf_writer):
    """A document drawing every face (the notice: 小标宋 masthead and title, 仿宋 text, 黑体 and 楷体
    headings, 宋体 page numbers) gives the same PDF bytes as with WeasyPrint's way of loading an
    @font-face (the file fetched and copied into a temporary folder)."""
    import shutil

    from weasyprint.text.fonts import FontConfiguration

    from pipeline.content import load_content
    from pipeline.jobs import notice_job
    from pipeline.writers.pdf import PdfWriter

    view = notice_job(load_content()).view
    ours, _ = pdf_writer.render(view)
    theirs = PdfWriter(pdf_writer.layout)
    theirs.font_config = FontConfiguration()
    theirs._sheets.clear()
    theirs.fonts_css = theirs._sheet(("fonts",))
    # and every face, the 楷体 too (which the sample's documents do not use), each in a line
    from weasyprint import HTML

    lines = "".join(f'<p style="font-family: \'GW {role}\'">{role}：吉林省民政厅 2016 年度考评</p>'
                    for role in pdf_writer.fonts)

    def every_face(writer):
        return HTML(string=f"<html><body>{lines}</body></html>").render(
            stylesheets=[writer.fonts_css], font_config=writer.font_config).write_pdf()

    try:
        assert theirs.font_config._folder is not None  # (WeasyPrint's way indeed)
        assert theirs.render(view)[0] == ours
        faces = every_face(pdf_writer)
        assert every_face(theirs) == faces
    finally:
        shutil.rmtree(theirs.font_config._folder, ignore_errors=True)
    from pypdf import PdfReader

    def used(pdf):
        return {str(font["/BaseFont"]).split("+", 1)[1] for page in PdfReader(io.BytesIO(pdf)).pages
                for font in page["/Resources"]["/Font"].values()}

    assert used(ours) == {"GW-title", "GW-fang", "GW-hei", "GW-song"}
    assert used(faces) == {f"GW-{role}" for role in pdf_writer.fonts}


def test_other_font_rules_go_weasyprints_way(pdf_writer, tmp_path):
    """A rule that is not one of the project's plain ones (more descriptors than a family and a
    source; a project file under a second family) is left to WeasyPrint: loaded all the same."""
    import shutil

    from weasyprint import CSS

    from pipeline.writers.pdf import project_font_configuration
    from weasyprint.text.fonts import FontConfiguration

    config = project_font_configuration(FontConfiguration)(pdf_writer.allowed)
    url = next(iter(pdf_writer.allowed))
    try:
        CSS(string=f'@font-face {{ font-family: "GW x"; src: url("{url}"); }}', font_config=config,
            url_fetcher=pdf_writer.fetcher)
        assert config._folder is None  # ours: in place
        CSS(string=f'@font-face {{ font-family: "GW y"; src: url("{url}"); }}'
                   f'@font-face {{ font-family: "GW z"; src: url("{url}"); font-weight: bold }}',
            font_config=config, url_fetcher=pdf_writer.fetcher)
        assert config._folder is not None and len(list(config._folder.iterdir())) == 2
        path = pdf_writer.allowed[url].resolve()
        assert config.file_of("GW x") == path
        assert config.file_of("GW y") is not None and config.file_of("GW y").parent == config._folder
    finally:
        if config._folder:
            shutil.rmtree(config._folder, ignore_errors=True)


def test_types_made_without_parsing_each_are_the_types_cffi_parses():
    """WeasyPrint's ``ffi.new(f"hb_codepoint_t[{n}]")``: the type made for each length without
    parsing is the very type cffi's parser gives; so are the types parsed together at start-up."""
    from pipeline.writers import import_weasyprint

    import_weasyprint()
    from weasyprint.text.ffi import ffi

    for cdecl in ("hb_codepoint_t[3]", "hb_codepoint_t[7191]", "char[4]", "unsigned int[2]", "hb_tag_t[100]"):
        made = ffi.typeof(cdecl)
        with ffi._lock:
            parsed = ffi._get_cached_btype(ffi._parser.parse_type(cdecl))
        assert made is parsed, cdecl
    assert list(ffi.new("hb_codepoint_t[4]", [7, 8, 9])) == [7, 8, 9, 0]
    # the types parsed together at start-up: those parsing each alone gives
    from pipeline.writers import USED_TYPES

    for cdecl in USED_TYPES:
        assert cdecl in ffi._parsed_types, cdecl
        with ffi._lock:
            parsed = ffi._get_cached_btype(ffi._parser.parse_type(cdecl))
        assert ffi.typeof(cdecl) is parsed, cdecl
    from cffi import CDefError

    with pytest.raises(CDefError, match="no_such_type"):
        ffi.typeof("no_such_type[3]")  # (cffi's own error)
