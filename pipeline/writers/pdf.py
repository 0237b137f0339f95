"""DocumentView → HTML (Jinja2) → PDF (WeasyPrint).

One ``PdfWriter`` per process: the stylesheet is parsed and the fonts registered once, then
reused for every document. WeasyPrint is imported here, not at start-up, so the CLI stays quick
and worker processes import it themselves.
"""

from __future__ import annotations

import functools
import logging
import os
from html import unescape
import re
from pathlib import Path

import jinja2

from ..errors import RenderError
from ..layout import TEMPLATES, Layout, font_paths, load_layout, template_cache
from ..pagination import BODY_STYLES, paginate, row_shape, wrap
from ..views import DocumentView, Paragraph, Section

HTML_TEMPLATES = TEMPLATES / "html"
LOG = logging.getLogger("pipeline")


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    # Autoescape always on: data is text, never markup. StrictUndefined: a typo in a
    # template is an error, not a silently empty field.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HTML_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        bytecode_cache=template_cache(),
    )


def check_harfbuzz_subset() -> None:
    """Refuse to run ~100× slower in silence (PITFALLS.md: fontTools fallback on CJK fonts)."""
    from . import import_weasyprint
    import_weasyprint()
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
    if not harfbuzz_subset or not harfbuzz.hb_version_atleast(4, 1, 0):
        raise RenderError(
            "未找到 HarfBuzz 字体子集库（Debian 软件包 libharfbuzz-subset0），生成 PDF 会慢约 100 倍。"
            "请运行 make setup，或执行 apt-get install libharfbuzz-subset0。")


# The parts of the stylesheet (gongwen.css.j2) each kind of document needs: fewer rules to match
# per element. The fonts are their own sheet, registered once per process.
STYLE_PARTS = {
    "notice": ("page", "file", "body", "attachment", "imprint"),
    "summary": ("page", "file", "body", "attachment", "imprint"),
    "letter": ("page", "letter", "body", "attachment"),
    "checklist": ("page", "attachment"),
    "report": ("page", "attachment"),
    "form": ("page", "attachment"),
    "overlay": ("page", "body", "attachment", "overlay"),  # forms.py: the filled texts
    # forms.py: a letter's first part with its filled texts on pages after it
    "letter+overlay": ("page", "letter", "body", "attachment", "overlay"),
}
ALL_PARTS = ("page", "file", "letter", "body", "attachment", "imprint", "overlay")


class PdfWriter:
    def __init__(self, layout: Layout | None = None):
        check_harfbuzz_subset()
        from weasyprint.text.fonts import FontConfiguration

        self.layout = layout or load_layout()
        self.fonts = font_paths(self.layout)
        self.allowed = {p.resolve().as_uri(): p for p in self.fonts.values()}
        self._covered: set[int] | None = None
        # whether the last document rendered had a blank page before its 版记 (§7.5): the DOCX
        # of the same view follows this decision
        self.imprint_after_blank = False
        self.fetcher = _ProjectOnlyFetcher(self.allowed)
        self.font_config = project_font_configuration(FontConfiguration)(self.allowed)
        self._sheets: dict[tuple[str, ...], object] = {}
        self.fonts_css = self._sheet(("fonts",))

    def _sheet(self, parts: tuple[str, ...]):
        """The stylesheet of these parts, parsed once per process."""
        if parts not in self._sheets:
            from weasyprint import CSS

            css_text = environment().get_template("gongwen.css.j2").render(
                L=self.layout, parts=parts,
                font_urls={role: p.resolve().as_uri() for role, p in self.fonts.items()})
            self._sheets[parts] = CSS(string=css_text, url_fetcher=self.fetcher, font_config=self.font_config,
                                      base_url=HTML_TEMPLATES.as_uri() + "/")
        return self._sheets[parts]

    def stylesheets(self, kind: str) -> list:
        """The fonts, and the parts of the stylesheet a kind of document needs."""
        return [self.fonts_css, self._sheet(STYLE_PARTS.get(kind, ALL_PARTS))]

    def html(self, view: DocumentView) -> str:
        layout = self.layout
        return environment().get_template("document.html.j2").render(
            doc=view, row_shape=lambda columns, row, spanned: row_shape(columns, row, spanned, layout))

    def _layout(self, html: str, kind: str = ""):
        from weasyprint import HTML

        return HTML(string=html, url_fetcher=self.fetcher,
                    base_url=HTML_TEMPLATES.as_uri() + "/").render(
            stylesheets=self.stylesheets(kind), font_config=self.font_config)

    def render(self, view: DocumentView) -> tuple[bytes, int]:
        """The PDF bytes and page count.

        Where the first section breaks was planned from estimated lines (pagination.py); the
        real layout is checked, and when the estimate was off the plan is made again from the
        measured lines and the document laid out once more."""
        view, html, document = self.laid_out(view)
        self.imprint_after_blank = view.imprint is not None and imprint_after_blank(document)
        pdf = document.write_pdf()
        self._check_glyphs(html)
        return pdf, len(document.pages)

    def laid_out(self, view: DocumentView, tail: str = ""):
        """The view laid out: (the view as laid out, its HTML, WeasyPrint's document). Where the
        first section breaks was planned from estimated lines (pagination.py); the real layout
        is checked, and when the estimate was off the plan is made again from the measured lines
        and the document laid out once more. ``tail``: pages' HTML laid out after the
        document's own, in the same pass (forms.py: a letter's filled texts)."""
        kind = view.kind + ("+overlay" if tail else "")
        html = _with_tail(self.html(view), tail)
        document = self._layout(html, kind)
        if not view.sections[0].landscape and any(b.kind == "signature" for b in view.sections[0].blocks):
            first = measure_first_section(document)
            if first.needs_replan(view.sections[0]):
                view = paginate(view, self.layout, first.starts(view.sections[0], self.layout.grid.chars))
                html = _with_tail(self.html(view), tail)
                document = self._layout(html, kind)
        return view, html, document

    def _check_glyphs(self, html: str) -> None:
        """A character the embedded faces lack is drawn from a system face or as a blank box:
        never silently — the clerk is told which characters."""
        if self._covered is None:
            self._covered = set()
            for path in self.fonts.values():
                self._covered |= font_characters(path)
        missing = sorted(ch for ch in set(html) if ord(ch) > 0x20 and ord(ch) not in self._covered)
        if missing:
            title = re.search(r"<title>(.*?)</title>", html)
            LOG.warning("《%s》中有字不在 Fandol 字体里，PDF 中会改用系统字体或显示为空框：%s",
                        unescape(title.group(1)) if title else "", "".join(missing))


def font_characters(path: Path) -> set[int]:
    """The characters a font file maps (its best Unicode cmap), read by HarfBuzz as the OFD
    writer reads its faces' maps (a few ms for a CJK face; fontTools, the fallback, takes ~25)."""
    from .ofd_fonts import characters
    try:
        return characters(path)
    except (OSError, AttributeError, ValueError):
        from fontTools.ttLib import TTFont
        return set(TTFont(path, lazy=True).getBestCmap())


def _with_tail(html: str, tail: str) -> str:
    if not tail:
        return html
    at = html.rindex("</body>")
    return html[:at] + tail + html[at:]


def imprint_after_blank(document) -> bool:
    """§7.5: when a blank page stands before the 版记 page (the last page), neither is numbered.
    The blank page's number is off by its ``:blank`` page rule; the 版记 page's is taken off
    here, after layout. Returns whether it was."""
    from weasyprint.formatting_structure import boxes

    pages = document.pages
    if len(pages) < 2 or not pages[-2]._page_box.page_type.blank:
        return False
    page_box = pages[-1]._page_box
    page_box.children = [child for child in page_box.children
                         if not (isinstance(child, boxes.MarginBox)
                                 and child.at_keyword in ("@bottom-left", "@bottom-right"))]
    return True


@functools.lru_cache(maxsize=None)
def project_font_configuration(base: type) -> type:
    """WeasyPrint's font configuration (``base``), which registers the project's faces with
    fontconfig where they lie.

    WeasyPrint reads the file of each ``@font-face`` rule through the URL fetcher and writes it
    into a temporary folder of its own, which fontconfig then scans under the rule's family: 31 MB
    read and written at each process's start (~40 ms), and a folder to remove at its exit. The
    project's faces are files on this disk already: fontconfig scans them in place, with the same
    configuration WeasyPrint gives a face (the rule's family put first, before the face's own
    names), so Pango finds and draws the very same face, and the PDF is the same, byte for byte
    (tests/test_writer_startup.py). That this family now means this file is checked as Pango
    will look for it (fontconfig's best match: never a system face); where it does not (or a rule
    is not one of ours: another file, more than a family and one source), WeasyPrint's own way."""

    class ProjectFonts(base):
        def __init__(self, allowed: dict[str, Path]):
            super().__init__()
            self._allowed = allowed
            self._registered: dict[Path, str] = {}  # face file → its family

        def add_font_face(self, rule_descriptors, url_fetcher):
            path = self._project_face(rule_descriptors)
            family = rule_descriptors.get("font_family")
            if path is None or self._registered.get(path, family) != family:
                return super().add_font_face(rule_descriptors, url_fetcher)
            if path in self._registered:
                return None  # (the same rule in another stylesheet)
            from xml.sax.saxutils import escape

            from weasyprint.text.ffi import ffi, fontconfig, pangoft2

            config = (f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                      f'<fontconfig><match target="scan"><test name="file" compare="eq">'
                      f"<string>{escape(path.as_posix())}</string></test>"
                      f'<edit name="family" mode="prepend"><string>{escape(family)}</string></edit>'
                      f"</match></fontconfig>").encode()
            if not (fontconfig.FcConfigParseAndLoadFromMemory(self._config, config, True)
                    and fontconfig.FcConfigAppFontAddFile(self._config, os.fsencode(path))
                    and self.file_of(family) == path):
                return super().add_font_face(rule_descriptors, url_fetcher)
            self._registered[path] = family
            return pangoft2.pango_fc_font_map_config_changed(ffi.cast("PangoFcFontMap *", self.font_map))

        def _project_face(self, rule_descriptors) -> Path | None:
            """The project's face file a rule names (its only source), else None."""
            sources = rule_descriptors.get("src") or ()
            if set(rule_descriptors) != {"font_family", "src"} or len(sources) != 1:
                return None
            kind, url = sources[0]
            path = self._allowed.get(url) if kind == "external" else None
            return path.resolve() if path is not None and path.is_file() else None

        def file_of(self, family: str) -> Path | None:
            """The face file fontconfig matches to this family (as Pango asks it)."""
            from weasyprint.text.ffi import ffi, fontconfig

            pattern = ffi.gc(fontconfig.FcPatternCreate(), fontconfig.FcPatternDestroy)
            fontconfig.FcPatternAddString(pattern, b"family", family.encode())
            fontconfig.FcConfigSubstitute(self._config, pattern, fontconfig.FcMatchPattern)
            fontconfig.FcDefaultSubstitute(pattern)
            result = ffi.new("FcResult *")
            found = fontconfig.FcFontMatch(self._config, pattern, result)
            if found == ffi.NULL:
                return None
            found = ffi.gc(found, fontconfig.FcPatternDestroy)
            name = ffi.new("FcChar8 **")
            if fontconfig.FcPatternGetString(found, b"file", 0, name) != fontconfig.FcResultMatch:
                return None
            return Path(os.fsdecode(ffi.string(name[0])))

    return ProjectFonts


class _ProjectOnlyFetcher:
    """Serves the font files of the layout and nothing else: no file://, no network.

    Data is escaped and never reaches here, but if markup ever slipped through, an
    ``<img src="file:///etc/passwd">`` would still fetch nothing.
    """

    def __init__(self, allowed: dict[str, Path]):
        self.allowed = allowed

    def __call__(self, url: str):
        from weasyprint.urls import URLFetcherResponse

        path = self.allowed.get(url)
        if path is None:
            raise ValueError(f"blocked URL: {url}")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": "font/otf"})

    fetch = __call__


class FirstSection:
    """The real lines of the first section's text blocks, as laid out: (page, block, text)."""

    def __init__(self, lines: list[tuple[int, int, str]]):
        self.lines = lines

    def _texts(self, block: int) -> list[str]:
        return [text for _, b, text in self.lines if b == block]

    def starts(self, section: Section, chars: int) -> dict[int, list[int]]:
        """Measured line starts of the addressee and the paragraphs. A paragraph the plan split
        keeps its real lines before the split; after it the estimate goes on (the split itself
        changed those lines)."""
        measured = {}
        for block, b in enumerate(section.blocks):
            if b.kind not in ("paragraph", "addressee"):
                continue
            offsets, at = [], 0
            for text in self._texts(block):
                offsets.append(at)
                at += len(text)
            if not offsets:
                continue
            if isinstance(b, Paragraph) and b.break_at:
                kept = [o for o in offsets if o < b.break_at]
                last = kept[-1]
                rest = wrap(b.text[last:], chars, 0 if last else BODY_STYLES.get(b.style, 0))
                offsets = kept[:-1] + [last + o for o in rest]
            measured[block] = offsets
        return measured

    def needs_replan(self, section: Section) -> bool:
        """The closing rule broken, or the plan's split fell inside a line."""
        body = [page for page, b, _ in self.lines if section.blocks[b].kind == "paragraph"]
        closing = [page for page, b, _ in self.lines
                   if section.blocks[b].kind in ("attachment_note", "signature")]
        if not body or not closing:
            return False
        last = body[-1]
        if any(page != last for page in closing) or body.count(last) < 2:
            return True
        if section.pitch_pt is not None and last != 0:
            return True
        for block, b in enumerate(section.blocks):
            if isinstance(b, Paragraph) and b.break_at:
                at = 0
                for text in self._texts(block):
                    if at < b.break_at < at + len(text):
                        return True
                    at += len(text)
        return False


def measure_first_section(document) -> FirstSection:
    from weasyprint.formatting_structure import boxes

    lines = []
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            if isinstance(box, boxes.LineBox) and box.element is not None:
                block = box.element.get("data-block")
                if block is not None:
                    text = "".join(t.text for t in box.descendants() if isinstance(t, boxes.TextBox))
                    lines.append((number, int(block), text))
    return FirstSection(lines)
