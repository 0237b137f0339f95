"""DocumentView + its PDF → OFD (GB/T 33190-2016, 电子文件存储与交换格式 版式文档).

The OFD is written from the PDF this project just made (``pdf_layout.read_pdf``): the same
glyphs at the same places, page for page, so the two cannot drift. Per page:

- every shown string is a ``TextObject`` (§11.2) with its ``TextCode`` (the characters, in the
  order the PDF shows them: reading order) and ``DeltaX`` (each glyph's advance, §11.3), in the
  document's embedded face (§11.1: ``Font`` with ``FontFile``), its colour and size;
- every painted path (rules, table borders, the red 版头 rule, the 样例 mark's frame) is a
  ``PathObject`` (§9.1) with its stroke or fill colour and line width, clipped as the PDF clips it.

The package (§7): ``OFD.xml`` (``DocInfo`` with a DocID derived from the inputs, §7.4),
``Doc_0/Document.xml`` (§7.5), ``PublicRes.xml`` (fonts, TrueType subsets: ofd_fonts.py),
``Pages/Page_N/Content.xml`` (§7.7), ``CustomTags.xml`` (§16) pointing at ``Tags/gongwen.xml``,
which names the 公文 elements (GB/T 9704) of the text objects. Every element in the ``ofd:``
prefix of ``http://www.ofdspec.org/2016``, in the order the standard's schema fixes; the zip with
fixed timestamps: the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .. import __version__
from ..layout import Layout, font_paths, load_layout
from ..output import Packed, atomic_write, write_zip
from ..views import Addressee, AttachmentNote, DocumentView, Masthead, Paragraph, Signature, Title
from .pdf_layout import BlankFormPage, CachedBlock, GlyphRun, LaidOutPage, Shape, read_filled, read_pdf

NS = "http://www.ofdspec.org/2016"
TAGS_NS = "urn:gongwen-pipeline:gbt9704-2012:elements"
KIND_GENRE = {"notice": "通知", "letter": "函", "summary": "通报"}
# the part of an em above and below the baseline a text object's Boundary takes in (Fandol:
# ascender 0.88, descender 0.12; a little room for readers that clip to the Boundary)
ASCENT, DESCENT = 1.0, 0.3


def num(value: float) -> str:
    """A length in mm to 0.001 mm."""
    text = "%.3f" % value
    return "0.000" if text == "-0.000" else text


def _factor(value: float) -> str:
    """A matrix factor, to 1e-6."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _color(rgb: tuple[int, int, int]) -> str:
    return f"{rgb[0]} {rgb[1]} {rgb[2]}"


@dataclass(eq=False)
class _FontUse:
    id: int
    role: str
    name: str  # the family name the DOCX uses (what a reader substitutes)
    source: str  # the Fandol file the PDF embedded
    glyphs: set
    unicodes: set
    file: "_Deflated | None" = None  # its subset, once made (a form's template faces keep theirs)


class OfdWriter:
    """One per process: the layout's faces and their TrueType conversions are loaded once."""

    def __init__(self, layout: Layout | None = None):
        self.layout = layout or load_layout()
        self.fonts = {role: str(path) for role, path in font_paths(self.layout).items()}
        self._cmaps: dict[str, dict[int, int]] = {}
        # font ids fixed by role (1, 2, …): a page's XML does not depend on which faces others use
        self.font_ids = {role: n for n, role in enumerate(self.layout.fonts, 1)}
        self._fragments: dict[tuple, tuple] = {}  # (id(CachedBlock), font ids) → (block, XML pieces, texts, usage)
        self._templates: dict[tuple, dict] = {}  # (BlankFormPage.key, k) → a template page (_template)
        self._bases: dict[tuple, dict] = {}  # a form's template pages → their faces (_FontUse, with file)
        self._unbundled: set[tuple] = set()  # a form's template pages not bundled on disk yet (_preload)
        self._placed: dict[tuple, tuple] = {}  # a stamp's run (id, font id) → _text_parts

    def warm(self) -> None:
        """Load what every document needs once per process: each face's TrueType conversion
        (HarfBuzz, preprocessed for subsetting: a process that warms up writes many OFDs) and
        character map, the disk cache's naming."""
        from .ofd_fonts import face
        for role, source in self.fonts.items():
            face(source).prepare()
            face(source).subset(set(), {0})  # (HarfBuzz's subsetting functions bound, once)
            self._cmap(role)
        self._made_with  # (the disk cache's names: this code's and the faces' hashes)

    def _cmap(self, role: str) -> dict[int, int]:
        """The face's character → glyph id map (to check each PDF glyph is its character's)."""
        if role not in self._cmaps:
            from .ofd_fonts import character_map
            try:
                self._cmaps[role] = character_map(self.fonts[role])  # (HarfBuzz: ~8× fontTools' speed)
            except (OSError, AttributeError, ValueError):
                from fontTools.ttLib import TTFont
                font = TTFont(self.fonts[role], lazy=True)
                order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
                self._cmaps[role] = {code: order[name] for code, name in font.getBestCmap().items()}
        return self._cmaps[role]

    def render(self, view: DocumentView, pdf: bytes, fingerprint: str) -> tuple[bytes, int]:
        """The OFD bytes and page count. ``fingerprint``: what the document is made from
        (fingerprint.py); the DocID is derived from it."""
        # The reader and writer make no reference cycles (what they drop is freed as it goes):
        # the cyclic garbage collector is held off meanwhile, which would otherwise walk the
        # layout kept for later documents again and again (~8% of a notice's OFD).
        # A form filled in (forms.FilledPdf) comes with what was drawn on each page: its pages are
        # read from that (read_filled: the same pages), not from the PDF's bytes.
        fill = getattr(pdf, "fill", None)
        collecting = gc.isenabled()
        gc.disable()
        try:
            if fill is not None:
                self._preload(fill)
            pages = read_filled(fill, self._has_template) if fill is not None else read_pdf(pdf, self._has_template)
            try:
                return self.write(view, pages, fingerprint), len(pages)
            except _NeedsItems:  # a template page named but not read, and not at hand after all
                pages = read_filled(fill) if fill is not None else read_pdf(pdf)
                return self.write(view, pages, fingerprint), len(pages)
        finally:
            if collecting:
                gc.enable()

    def _has_template(self, key: str, k: int) -> bool:
        """Whether template page ``k`` of that blank form page is at hand: written in this
        process, or in the disk cache (template_cache: by what it draws and this writer's code)."""
        if (key, k) in self._templates:
            return True
        entry = _load_template(self._cache_key(key, k))
        if entry is None:
            return False
        self._keep_template((key, k), entry)
        return True

    def _cache_key(self, key: str, k: int) -> str:
        return hashlib.sha256(f"{key} {k} {self._made_with}".encode()).hexdigest()[:40]

    @functools.cached_property
    def _made_with(self) -> str:
        """What a kept file depends on besides its own key: this writer's code, the font ids, the faces."""
        from .ofd_fonts import _source_hash
        faces = sorted((role, _source_hash(path)) for role, path in self.fonts.items())
        return f"{_code_version()} {sorted(self.font_ids.items())} {faces}"

    def _preload(self, fill) -> None:
        """A filled form's template pages and their faces, when not at hand, read from the form's
        bundle on disk (one file: the first document of a form in a worker reads it, not a file
        per page and per face); a form not bundled yet is bundled once written (``write``)."""
        forms = tuple((fill.pages[i].name, k) for k, i in enumerate(sorted(fill.pages)))
        if forms in self._bases and all(key in self._templates for key in forms):
            return
        loaded = _load_bundle(self._cache_key(repr(forms), -2), len(forms))
        if loaded is None:
            self._unbundled.add(forms)
            return
        entries, files = loaded
        for key, entry in zip(forms, entries):
            self._keep_template(key, entry)
        found = {}
        for role, file in files.items():
            use = found[role] = self._use("GW-" + role)
            use.file = file
        self._bases[forms] = found

    def _load_bases(self, forms: tuple) -> dict | None:
        """A form's template faces (their subsets) as kept on disk by a process before."""
        record = _load_file(self._cache_key(repr(forms), -1))
        if record is None:
            return None
        try:
            data = record.data if record.method == 0 else zlib.decompress(record.data, -15)
            names = json.loads(data)
            found = {}
            for role, name in names.items():
                use = self._use("GW-" + role)
                use.file = _load_file(name)
                if use.file is None:
                    return None
                found[role] = use
            return found
        except (ValueError, KeyError, TypeError, zlib.error):
            return None

    def _keep_template(self, key: tuple, entry: dict) -> None:
        if len(self._templates) > 256:
            self._templates.clear()
            self._bases.clear()
        self._templates[key] = entry

    # --- the package --------------------------------------------------------------------------
    def write(self, view: DocumentView, pages: list[LaidOutPage], fingerprint: str) -> bytes:
        """A page that is a blank form's page filled in (a checklist's, a report's, a letter's
        attachment: forms.py marks them in the PDF, pdf_layout.BlankFormPage) has its blank form
        page as a template page (§7.6 TemplatePage: drawn beneath the page), written once per
        worker and shared by every document of that form; the page itself holds what was filled
        in. Every other page (a letter's first part, a document laid out on its own) has all on
        it, its 公文 elements tagged."""
        roles = len(self.font_ids)
        ids = _Ids()
        ids.max = 2 * roles  # font ids: the faces (1…n), then the faces again for filled texts
        templates: list[tuple[int, BlankFormPage]] = []  # (page, its blank form block)
        for number, page in enumerate(pages):
            if page.items and isinstance(page.items[0], BlankFormPage):
                templates.append((number, page.items[0]))
        # with template pages, the pages' own texts have faces of their own: the templates'
        # subsets are then the same files in every document of the form
        as_form = bool(templates)
        offset = roles if as_form else 0
        base: dict[str, _FontUse] = {}  # by role
        filled: dict[str, _FontUse] = {}
        fonts: dict[str, _FontUse] = {}  # the page contents' fonts, by the PDF's font name
        on_template = {number for number, _ in templates}
        for number, page in enumerate(pages):
            for item in (page.items[1:] if number in on_template else page.items):
                for name in (item.fonts() if isinstance(item, CachedBlock)
                             else [item.font] if isinstance(item, GlyphRun) else ()):
                    if name not in fonts:
                        role = self._role(name)
                        if as_form:
                            fonts[name] = filled.setdefault(role, self._use(name, roles))
                        else:
                            fonts[name] = base.setdefault(role, self._use(name))
        template_files, template_ids, entries = [], {}, []
        for k, (number, block) in enumerate(templates):
            tid, entry = self._template(k, block)
            template_ids[number] = tid
            template_files.append((f"Doc_0/Tpls/Tpl_{k}/Content.xml", entry["xml"]))
            entries.append(entry)
        if templates:  # the template pages' faces: the same for every document of the form
            forms = tuple((block.key, k) for k, (_, block) in enumerate(templates))
            found = self._bases.get(forms) or self._load_bases(forms)
            if found is None:
                found = {}
                for k, (_, block) in enumerate(templates):
                    usage = _usage(entries[k])
                    if usage is None:  # damaged in the disk cache: the page written again
                        if block.stub:
                            self._templates.pop((block.key, k), None)
                            raise _NeedsItems(block.key)
                        entries[k] = self._make_template(k, block)
                        template_files[k] = (template_files[k][0], entries[k]["xml"])
                        usage = entries[k]["usage"]
                    for role, (glyphs, unicodes) in usage.items():
                        use = found.setdefault(role, self._use("GW-" + role))
                        use.glyphs |= set(glyphs)
                        use.unicodes |= set(unicodes)
                names = {}
                for role, use in found.items():
                    use.file, names[role] = _font_file(use, keep=True)
                _store_file(self._cache_key(repr(forms), -1), _Deflated.of(json.dumps(names).encode()))
            self._bases[forms] = found
            base.update(found)
            if forms in self._unbundled:
                self._unbundled.discard(forms)
                _store_bundle(self._cache_key(repr(forms), -2), entries, found)
        page_ids = [ids.next() for _ in pages]
        contents, objects = [], []  # objects: (page index, object id, text) in painting order
        for number, page in enumerate(pages):
            items = page.items[1:] if number in template_ids else page.items
            contents.append(self._page(number, page, items, ids, fonts, objects, template_ids.get(number),
                                       offset))
        if ids.max >= TEMPLATE_IDS:
            raise OverflowError("too many objects for the template id ranges")
        max_id = max([ids.max] + [TEMPLATE_IDS + k * TEMPLATE_STRIDE + entry["count"] + 1
                                  for k, entry in enumerate(entries)])
        tags = tag_objects(view, objects)
        uses = sorted(list(base.values()) + list(filled.values()), key=lambda u: u.id)
        files: list = []
        files.append(("OFD.xml", self._ofd_xml(view, fingerprint).encode()))
        files.append(("Doc_0/Document.xml",
                      self._document_xml(pages, page_ids, max_id, bool(uses), bool(tags),
                                         [(template_ids[n], k) for k, (n, _) in enumerate(templates)]).encode()))
        if uses:
            files.append(("Doc_0/PublicRes.xml", self._public_res(uses).encode()))
            for use in uses:
                if use.file is None:
                    use.file = _font_file(use)[0]
                files.append((f"Doc_0/Res/font_{use.id}.ttf", use.file))
        files += template_files
        for number, content in enumerate(contents):
            files.append((f"Doc_0/Pages/Page_{number}/Content.xml", content.encode()))
        if tags:
            files.append(("Doc_0/Tags/CustomTags.xml", self._custom_tags().encode()))
            files.append(("Doc_0/Tags/gongwen.xml", self._tag_file(tags, page_ids).encode()))
        return _zip(files)

    def _template(self, k: int, block: BlankFormPage) -> tuple[int, dict]:
        """Template page ``k`` of a document showing this block: its id, XML (compressed once),
        object count and the glyphs it uses. Its ids are fixed by ``k``: the same file in every
        document of the form. Kept in the process and on disk (template_cache)."""
        key = (block.key, k)
        entry = self._templates.get(key)
        if entry is None and not self._has_template(block.key, k) and block.stub:
            raise _NeedsItems(block.key)
        entry = self._templates.get(key) or self._make_template(k, block)
        return TEMPLATE_IDS + k * TEMPLATE_STRIDE, entry

    def _make_template(self, k: int, block: BlankFormPage) -> dict:
        """Template page ``k`` written from the block's items, and kept (in the process, on disk)."""
        tid = TEMPLATE_IDS + k * TEMPLATE_STRIDE
        usage: dict[str, _FontUse] = {}
        parts = []
        for index, item in enumerate(block, 2):
            if isinstance(item, GlyphRun):
                role = self._role(item.font)
                use = usage.setdefault(role, self._use(item.font))
                parts.append(self._text(tid + index, item, use))
            else:
                parts.append(_path(tid + index, item))
        if len(block) + 2 >= TEMPLATE_STRIDE:
            raise OverflowError("too many objects on one template page")
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}"><ofd:Content>'
               f'<ofd:Layer ID="{tid + 1}" Type="Body">{"".join(parts)}</ofd:Layer></ofd:Content></ofd:Page>\n')
        entry = {"xml": _Deflated.of(xml.encode()), "count": len(block),
                 "usage": {role: (sorted(u.glyphs), sorted(u.unicodes)) for role, u in usage.items()}}
        self._keep_template((block.key, k), entry)
        _store_template(self._cache_key(block.key, k), entry)
        return entry

    def _use(self, pdf_font: str, offset: int = 0) -> _FontUse:
        role = self._role(pdf_font)
        return _FontUse(self.font_ids[role] + offset, role, self.layout.fonts[role].docx, self.fonts[role],
                        set(), set())

    def _role(self, pdf_font: str) -> str:
        """The layout's face a PDF font is: the stylesheet names each "GW <role>", WeasyPrint
        writes "GW-<role>". Any other font is a system face WeasyPrint fell back to for
        characters the Fandol faces lack (the PDF writer has warned which): their text is written
        in the body face, which lacks them too, so a reader substitutes (as the PDF shows them)."""
        role = pdf_font[3:] if pdf_font.startswith("GW-") else None
        return role if role in self.fonts else "fang"

    def _ofd_xml(self, view: DocumentView, fingerprint: str) -> str:
        """OFD.xml: the entry file (§7.3, 表 3) and DocInfo (§7.4, 表 4)."""
        doc_id = hashlib.sha256(f"ofd {fingerprint}".encode()).hexdigest()[:32]
        date = view.date.isoformat()
        info = [f"<ofd:DocID>{doc_id}</ofd:DocID>", f"<ofd:Title>{escape(view.title)}</ofd:Title>"]
        if view.author:
            info.append(f"<ofd:Author>{escape(view.author)}</ofd:Author>")
        info += [f"<ofd:CreationDate>{date}</ofd:CreationDate>",
                 "<ofd:Creator>gongwen-pipeline</ofd:Creator>",
                 f"<ofd:CreatorVersion>{escape(__version__)}</ofd:CreatorVersion>"]
        custom = metadata(view)
        if custom:
            info.append("<ofd:CustomDatas>" + "".join(
                f"<ofd:CustomData Name={quoteattr(k)}>{escape(v)}</ofd:CustomData>" for k, v in custom)
                + "</ofd:CustomDatas>")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.0" '
                f'DocType="OFD"><ofd:DocBody><ofd:DocInfo>{"".join(info)}</ofd:DocInfo>'
                "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>\n")

    def _document_xml(self, pages, page_ids, max_id: int, has_fonts: bool, has_tags: bool,
                      templates: list[tuple[int, int]]) -> str:
        """Document.xml (§7.5, 表 5): CommonData (MaxUnitID, PageArea, PublicRes, TemplatePage),
        Pages, then CustomTags — in the schema's order."""
        first = pages[0] if pages else LaidOutPage(210, 297)
        common = (f"<ofd:CommonData><ofd:MaxUnitID>{max_id}</ofd:MaxUnitID><ofd:PageArea>"
                  f"<ofd:PhysicalBox>0 0 {num(first.width)} {num(first.height)}</ofd:PhysicalBox>"
                  "</ofd:PageArea>" + ("<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>" if has_fonts else "")
                  + "".join(f'<ofd:TemplatePage ID="{tid}" BaseLoc="Tpls/Tpl_{k}/Content.xml"/>'
                            for tid, k in templates)
                  + "</ofd:CommonData>")
        listed = "".join(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{n}/Content.xml"/>'
                         for n, pid in enumerate(page_ids))
        tags = "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags>" if has_tags else ""
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}">{common}'
                f"<ofd:Pages>{listed}</ofd:Pages>{tags}</ofd:Document>\n")

    def _public_res(self, uses: list[_FontUse]) -> str:
        """PublicRes.xml (§7.9): the fonts (§11.1, 表 44), each with its embedded file."""
        items = []
        for use in uses:
            serif = "false" if use.role == "hei" else "true"
            items.append(f'<ofd:Font ID="{use.id}" FontName={quoteattr(use.name)} '
                         f'FamilyName={quoteattr(use.name)} Serif="{serif}">'
                         f"<ofd:FontFile>font_{use.id}.ttf</ofd:FontFile></ofd:Font>")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
                f"<ofd:Fonts>{''.join(items)}</ofd:Fonts></ofd:Res>\n")

    def _custom_tags(self) -> str:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:CustomTags xmlns:ofd="{NS}">'
                f'<ofd:CustomTag NameSpace="{TAGS_NS}"><ofd:FileLoc>gongwen.xml</ofd:FileLoc>'
                "</ofd:CustomTag></ofd:CustomTags>\n")

    def _tag_file(self, tags: list[tuple[str, list[tuple[int, int]]]], page_ids: list[int]) -> str:
        """The 公文 elements, each with the text objects that show it (§16: ObjectRef)."""
        body = []
        for element, refs in tags:
            inner = "".join(f'<ofd:ObjectRef PageRef="{page_ids[p]}">{oid}</ofd:ObjectRef>' for p, oid in refs)
            body.append(f"<gw:{element}>{inner}</gw:{element}>")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<gw:公文 xmlns:gw="{TAGS_NS}" xmlns:ofd="{NS}">'
                f"{''.join(body)}</gw:公文>\n")

    # --- a page -----------------------------------------------------------------------------------
    def _page(self, number: int, page: LaidOutPage, items: list, ids: "_Ids", fonts, objects: list,
              template: int | None, offset: int = 0) -> str:
        layer = ids.next()
        parts = []
        for item in items:
            if isinstance(item, CachedBlock):
                parts.append(self._block(number, item, ids, fonts, objects, offset))
                continue
            oid = ids.next()
            if isinstance(item, GlyphRun):
                parts.append(self._text(oid, item, fonts[item.font]))
                text = "".join(item.text)
                objects.append((number, oid, text, _squeeze(text)))
            else:
                parts.append(_path(oid, item))
        uses = f'<ofd:Template TemplateID="{template}" ZOrder="Background"/>' if template else ""
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}">{uses}<ofd:Area>'
                f"<ofd:PhysicalBox>0 0 {num(page.width)} {num(page.height)}</ofd:PhysicalBox></ofd:Area>"
                f'<ofd:Content><ofd:Layer ID="{layer}" Type="Body">{"".join(parts)}</ofd:Layer>'
                "</ofd:Content></ofd:Page>\n")

    def _block(self, number: int, block: CachedBlock, ids: "_Ids", fonts, objects: list,
               offset: int = 0) -> str:
        """The XML of a block many documents share, written once with placeholder ids (and
        once per font id ``offset``: the page contents' faces, see ``write``)."""
        _, template, count, texts, usage = self._fragment(block, offset)
        base = ids.max + 1
        ids.max += count
        for name, (glyphs, unicodes) in usage.items():
            fonts[name].glyphs |= glyphs
            fonts[name].unicodes |= unicodes
        for index, text, squeezed in texts:
            objects.append((number, base + index, text, squeezed))
        return template.format(*range(base, base + count))

    def _fragment(self, block: CachedBlock, offset: int) -> tuple:
        """A block's XML as a str.format template ("{}" where its objects' ids go, in order;
        braces of its own doubled), its object count, its texts (index, text, text without
        white space: tag_objects) and the glyphs
        and characters it uses by font; kept by the block's identity. A block made of parts (a
        page's stamps) is put together from theirs."""
        key = (id(block), offset)
        entry = self._fragments.get(key)
        if entry is None or entry[0] is not block:
            usage: dict[str, tuple[set, set]] = {}
            if block.parts:
                templates, texts, uses, count = [], [], {}, 0
                for part in block.parts:
                    _, more, more_count, more_texts, more_usage = self._fragment(part, offset)
                    templates.append(more)
                    if more_texts:
                        texts += [(count + index, text, squeezed) for index, text, squeezed in more_texts]
                    count += more_count
                    for name, used in more_usage.items():
                        uses.setdefault(name, []).append(used)
                template = "".join(templates)
                for name, used in uses.items():
                    usage[name] = (set().union(*(u[0] for u in used)), set().union(*(u[1] for u in used)))
            else:
                xml, texts, found = [], [], {}
                for index, item in enumerate(block):
                    if isinstance(item, GlyphRun):
                        if item.font not in found:
                            found[item.font] = self._use(item.font, offset)
                        xml.append(self._text("\x00", item, found[item.font]))
                        text = "".join(item.text)
                        texts.append((index, text, _squeeze(text)))
                    else:
                        xml.append(_path("\x00", item))
                template = "".join(xml).replace("{", "{{").replace("}", "}}").replace("\x00", "{}")
                count = len(xml)
                usage = {name: (use.glyphs, use.unicodes) for name, use in found.items()}
            entry = (block, template, count, texts, usage)
            if len(self._fragments) > FRAGMENTS_KEPT:
                self._fragments.clear()
            self._fragments[key] = entry
        return entry

    def _check_glyphs(self, run: GlyphRun, cmap: dict[int, int], use: _FontUse) -> None:
        from .pdf_layout import UnsupportedContent

        for gid, chars in zip(run.glyphs, run.text):
            if len(chars) != 1:
                raise UnsupportedContent(f"一个字形对应多个字（“{chars}”），OFD 需要字形变换，暂不支持")
            code = ord(chars)
            mapped = cmap.get(code)
            if mapped is None:
                # not in the face: the PDF shows a blank box there (the PDF writer has warned which
                # characters); the OFD keeps the character, which a reader draws as its face's
                # .notdef or from a system font
                continue
            if mapped != gid:
                raise UnsupportedContent(f"“{chars}”在 PDF 中用了字体的变体字形，OFD 需要字形变换，暂不支持")
            use.glyphs.add(gid)
            use.unicodes.add(code)

    def _text(self, oid, run: GlyphRun, use: _FontUse) -> str:
        """A TextObject (§11.2): upright runs in page mm; others with a CTM (§8.3.2). What does
        not depend on where the run is (its glyphs checked, its text, advances, colour) is kept
        for a stamp's run (pdf_layout._moved: the same run drawn at many places)."""
        origin = run.__dict__.get("origin")
        kept = self._placed.get((id(origin), use.id)) if origin is not None else None
        if kept is None or kept[0] is not origin:
            kept = self._text_parts(run, use)
            if origin is not None:
                if len(self._placed) >= FRAGMENTS_KEPT:
                    self._placed.clear()
                self._placed[(id(origin), use.id)] = (origin,) + kept[1:]
        _, codes, upright, middle, end = kept
        if codes is not None:
            use.glyphs.update(run.glyphs)  # (the usual case: every glyph its character's own)
            use.unicodes.update(codes)
        else:
            self._check_glyphs(run, self._cmap(use.role) if run.font.startswith("GW-") else {}, use)
        a, b, c, d, e, f = run.matrix
        if upright:
            size = run.size * a
            x0 = e + a * run.origins[0]
            y = f + d * run.rise
            left, right = x0 - 0.1 * size, e + a * run.end + 0.1 * size
            top = y - ASCENT * size
            return (f'<ofd:TextObject ID="{oid}" Boundary="{num(left)} {num(top)} {num(right - left)} '
                    f'{middle}<ofd:TextCode X="{num(x0 - left)}" Y="{num(y - top)}"{end}')
        # object space: text space with y down (units of the PDF text space); the CTM maps it to
        # the Boundary's space
        text, fill = escape("".join(run.text)), f'<ofd:FillColor Value="{_color(run.color)}"/>'
        size = run.size
        lo, hi = run.origins[0] - 0.1 * size, run.end + 0.1 * size
        corners = [(x, y) for x in (lo, hi) for y in (run.rise - DESCENT * size, run.rise + ASCENT * size)]
        points = [(a * x + c * y + e, b * x + d * y + f) for x, y in corners]
        left, top = min(p[0] for p in points), min(p[1] for p in points)
        right, bottom = max(p[0] for p in points), max(p[1] for p in points)
        ctm = " ".join(num(v) if i >= 4 else _factor(v) for i, v in enumerate((a, b, -c, -d, e - left, f - top)))
        deltas = " ".join(num(q - p) for p, q in zip(run.origins, run.origins[1:]))
        delta = f' DeltaX="{deltas}"' if deltas else ""
        return (f'<ofd:TextObject ID="{oid}" Boundary="{num(left)} {num(top)} {num(right - left)} '
                f'{num(bottom - top)}" CTM="{ctm}" Font="{use.id}" Size="{num(size)}">{fill}'
                f'<ofd:TextCode X="{num(run.origins[0])}" Y="{num(-run.rise)}"{delta}>{text}</ofd:TextCode>'
                "</ofd:TextObject>")


    def _text_parts(self, run: GlyphRun, use: _FontUse) -> tuple:
        """What of a TextObject does not depend on where its run is: (None, the characters' codes
        when each glyph is its character's own in the face, else None; whether it is upright; for
        an upright run, its XML after the Boundary's width up to the TextCode's X, and after the
        TextCode's Y: advances and text)."""
        cmap = self._cmap(use.role) if run.font.startswith("GW-") else {}
        joined = "".join(run.text)
        codes = [ord(ch) for ch in joined] if len(joined) == len(run.text) else None
        if codes is not None and [cmap.get(code) for code in codes] != run.glyphs:
            codes = None
        a, b, c, d = run.matrix[:4]
        if not (abs(b) < 1e-9 and abs(c) < 1e-9 and a > 0 and abs(a + d) < 1e-9):
            return None, codes, False, None, None
        size = run.size * a
        origins = run.origins
        deltas = " ".join(["%.3f" % (a * (q - p)) for p, q in zip(origins, origins[1:])])
        delta = f' DeltaX="{deltas}"' if deltas else ""
        fill = f'<ofd:FillColor Value="{_color(run.color)}"/>'
        middle = f'{num((ASCENT + DESCENT) * size)}" Font="{use.id}" Size="{num(size)}">{fill}'
        return None, codes, True, middle, f"{delta}>{escape(joined)}</ofd:TextCode></ofd:TextObject>"


def _path(oid, shape: Shape) -> str:
    """A PathObject (§9.1, 表 35): AbbreviatedData relative to the Boundary (§9.3.2)."""
    xs, ys = [], []
    for sub in shape.subpaths:
        for seg in sub:
            xs += seg[1::2]
            ys += seg[2::2]
    pad = shape.line_width / 2 if shape.stroke else 0.0
    left, top = min(xs) - pad, min(ys) - pad
    width, height = max(xs) + pad - left, max(ys) + pad - top
    data = []
    for sub in shape.subpaths:
        for seg in sub:
            if seg[0] == "C":
                data.append("C")
            else:
                coords = " ".join(num(v - (left if i % 2 == 0 else top)) for i, v in enumerate(seg[1:]))
                data.append(f"{seg[0]} {coords}")
    attrs = [f'ID="{oid}"', f'Boundary="{num(left)} {num(top)} {num(width)} {num(height)}"']
    if shape.stroke:
        attrs.append(f'LineWidth="{num(shape.line_width)}"')
    else:
        attrs.append('Stroke="false"')
    if shape.fill:
        attrs.append('Fill="true"')
        if shape.even_odd:
            attrs.append('Rule="Even-Odd"')
    colors = ""
    if shape.stroke:
        colors += f'<ofd:StrokeColor Value="{_color(shape.stroke)}"/>'
    if shape.fill:
        colors += f'<ofd:FillColor Value="{_color(shape.fill)}"/>'
    return (f"<ofd:PathObject {' '.join(attrs)}>{colors}"
            f"<ofd:AbbreviatedData>{' '.join(data)}</ofd:AbbreviatedData></ofd:PathObject>")


class _Ids:
    """Object ids (ST_ID, §5.4): unique in the document, from 1; MaxUnitID is the largest."""

    def __init__(self):
        self.max = 0

    def next(self) -> int:
        self.max += 1
        return self.max


FRAGMENTS_KEPT = 16384  # blocks' XML kept: each stamp at each place is one (pdf_layout._STAMPS)
TEMPLATE_IDS = 1_000_000  # template k's ids: TEMPLATE_IDS + k × TEMPLATE_STRIDE + i
TEMPLATE_STRIDE = 100_000


class _Deflated(Packed):
    """A file's bytes deflated once (raw deflate, level 1), with its CRC and size: kept for files
    many documents share (template pages, font subsets) and copied into each package as is."""

    __slots__ = ()

    @classmethod
    def of(cls, raw: bytes) -> "_Deflated":
        if len(raw) < STORED_BELOW:  # (a page holding its template's reference and little else)
            return cls(raw, zlib.crc32(raw), len(raw), 0)
        packer = zlib.compressobj(1, zlib.DEFLATED, -15)
        return cls(packer.compress(raw) + packer.flush(), zlib.crc32(raw), len(raw))


# Files stored (APPNOTE method 0), not deflated: XML under 4 KB (a filled form's page: its
# template's reference, the texts filled in, the stamps) and the font subsets of a document's
# own texts under 160 glyphs (~80 KB: a report's filled texts, a letter's first part): deflating
# them took ~1 ms of a report's ~4 ms and of a letter's ~5 ms, for ~50 KB more in a ~400 KB file
# and ~20 KB in a ~200 KB one. Larger subsets (a form's template faces, kept across documents; a
# notice's) are deflated and kept on disk.
STORED_BELOW = 4096
SUBSET_STORED_BELOW = 160


class _NeedsItems(Exception):
    """A template page the reader did not read (it was at hand) is needed after all."""


# --- the template cache ---------------------------------------------------------------------------
# A blank form's page as a template page (its XML deflated, object count, glyphs by face) kept on
# disk beside the TrueType faces (ofd_fonts.cache_root()/ofd-templates), named by what the page
# draws (BlankFormPage.key: its content stream bytes, graphics state, fonts), its place k among
# the document's template pages, the faces and this writer's code: the first document of a form
# in a worker reads it instead of the page (~40 ms for a checklist's 13 pages); likewise the
# template pages' font subsets (_font_file). Each is the same file that writing it would give:
# the output does not depend on the cache.
TEMPLATE_CACHE_FILES = 4000  # past that, the older half is removed


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    from pathlib import Path

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("ofd.py", "pdf_layout.py", "ofd_fonts.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def _template_dir():
    from .ofd_fonts import cache_root
    return cache_root() / "ofd-templates"


def _load_file(name: str, meta: dict | None = None) -> "_Deflated | None":
    """A deflated file kept in the cache (its header: a JSON line; ``meta`` gets the header, and
    as "tail" the bytes kept after the file)."""
    try:
        raw = (_template_dir() / f"{name}.bin").read_bytes()
        head, data = raw.split(b"\n", 1)
        found = json.loads(head)
        length = found["length"]
        if len(data) != length + found.get("tail", 0) or found["name"] != name or zlib.adler32(data) != found["check"]:
            return None  # (cut short, or damaged: the checksum of what is stored)
        if meta is not None:
            meta.update(found, tail=data[length:])
        return _Deflated(data[:length] if found.get("tail") else data, found["crc"], found["size"], found["method"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: made again


def _store_file(name: str, file: "_Deflated", tail: bytes = b"", **extra) -> None:

    head = json.dumps({"name": name, "length": len(file.data), "crc": file.crc, "size": file.size,
                       "method": file.method, "tail": len(tail), "check": zlib.adler32(file.data + tail), **extra},
                      separators=(",", ":")).encode()
    directory = _template_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / f"{name}.bin", head + b"\n" + file.data + tail)
        _STORES[0] += 1
        if _STORES[0] % 64 == 1:  # (the folder listed at a process's first store and every 64th)
            files = list(directory.glob("*.bin"))
            if len(files) > TEMPLATE_CACHE_FILES:
                for old in sorted(files, key=lambda f: f.stat().st_mtime)[:len(files) // 2]:
                    old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache: a document is written all the same


_STORES = [0]


def _load_template(name: str) -> dict | None:
    """A template page kept on disk; its glyphs by face (JSON after the XML) read only when
    needed (_usage: a form's faces not kept yet)."""
    meta: dict = {}
    xml = _load_file(name, meta)
    if xml is None:
        return None
    try:
        return {"xml": xml, "count": int(meta["count"]), "usage_json": meta["tail"]}
    except (KeyError, TypeError, ValueError):
        return None


def _store_bundle(name: str, entries: list[dict], faces: dict[str, _FontUse]) -> None:
    """A form's template pages (their XML, object counts and glyphs by face) and their faces'
    subsets kept as one file (_preload)."""
    parts, chunks = [], []
    for entry in entries:
        usage = entry.get("usage_json")
        if usage is None:
            usage = json.dumps(entry["usage"], separators=(",", ":")).encode()
        xml = entry["xml"]
        parts.append(["page", entry["count"], len(xml.data), xml.crc, xml.size, xml.method, len(usage)])
        chunks += [xml.data, usage]
    for role, use in sorted(faces.items()):
        file = use.file
        parts.append(["face", role, len(file.data), file.crc, file.size, file.method, 0])
        chunks.append(file.data)
    body = b"".join(chunks)
    _store_file(name, _Deflated(body, 0, len(body), 0), parts=parts)


def _load_bundle(name: str, pages: int) -> tuple[list[dict], dict[str, "_Deflated"]] | None:
    """A form's bundle (_store_bundle): its template page entries and its faces' subsets; None
    when absent or damaged."""
    meta: dict = {}
    kept = _load_file(name, meta)
    if kept is None:
        return None
    try:
        data, at, entries, faces = kept.data, 0, [], {}
        for kind, key, length, crc, size, method, extra in meta["parts"]:
            file = _Deflated(data[at:at + length], crc, size, method)
            at += length
            if kind == "page":
                entries.append({"xml": file, "count": int(key), "usage_json": data[at:at + extra]})
                at += extra
            else:
                faces[str(key)] = file
        if at != len(data) or len(entries) != pages:
            return None
        return entries, faces
    except (KeyError, TypeError, ValueError):
        return None


def _usage(entry: dict) -> dict | None:
    """A template page's glyphs by face; None when the disk cache's copy is damaged."""
    if "usage" not in entry:
        try:
            entry["usage"] = {role: (list(glyphs), list(unicodes))
                              for role, (glyphs, unicodes) in json.loads(entry["usage_json"]).items()}
        except (ValueError, TypeError, AttributeError):
            return None
    return entry["usage"]


def _store_template(name: str, entry: dict) -> None:
    _store_file(name, entry["xml"], json.dumps(entry["usage"], separators=(",", ":")).encode(), count=entry["count"])


_FONT_FILES: dict[tuple, tuple] = {}


def _font_file(use: _FontUse, keep: bool = False) -> tuple[_Deflated, str | None]:
    """The face subset to these glyphs (kept in the process: every document of a form has the
    same), and the name it is kept under on disk (a large subset, or ``keep``), else None."""
    from .ofd_fonts import face

    key = (use.source, tuple(sorted(use.glyphs)), tuple(sorted(use.unicodes)), keep)
    found = _FONT_FILES.get(key)
    if found is None:
        # a large subset (a form's template faces: ~1,000 glyphs, ~5 ms to make and deflate) is
        # kept on disk too, by the face, the glyphs and characters, HarfBuzz's version and this code
        name, file = None, None
        if keep or len(key[1]) >= SUBSET_STORED_BELOW:
            from .ofd_fonts import _source_hash, harfbuzz_version
            name = "font-" + hashlib.sha256(repr((_source_hash(use.source), key[1], key[2], harfbuzz_version(),
                                                  _code_version())).encode()).hexdigest()[:40]
            file = _load_file(name)
        if file is None:
            subset = face(use.source).subset(use.unicodes, use.glyphs)
            if name is None:  # a document's own few glyphs: stored (SUBSET_STORED_BELOW)
                file = _Deflated(subset, zlib.crc32(subset), len(subset), 0)
            else:
                file = _Deflated.of(subset)
                _store_file(name, file)
        found = (file, name)
        if len(_FONT_FILES) >= 64:
            _FONT_FILES.pop(next(iter(_FONT_FILES)))
        _FONT_FILES[key] = found
    return found


def _zip(files: list) -> bytes:
    """The package: each file deflated at level 1 (or stored when small) unless already packed."""
    return write_zip([(name, content if isinstance(content, Packed) else _Deflated.of(content))
                      for name, content in files])


# --- 公文 metadata and element tags --------------------------------------------------------------

def _blocks(view: DocumentView):
    return [b for section in view.sections for b in section.blocks]


def metadata(view: DocumentView) -> list[tuple[str, str]]:
    """CustomDatas (§7.4): 发文字号, 发文机关, 成文日期, 主送机关, 文种 — those the document has."""
    from ..views import official_date

    blocks = _blocks(view)
    number = next((b.number for b in blocks if isinstance(b, Masthead) and b.number), None)
    addressee = next((b.text for b in blocks if isinstance(b, Addressee)), None)
    signed = next((b.date for b in blocks if isinstance(b, Signature)), None)
    items = [("发文字号", number), ("发文机关", view.author or None),
             ("成文日期", signed or official_date(view.date)), ("主送机关", addressee),
             ("文种", KIND_GENRE.get(view.kind))]
    return [(k, v) for k, v in items if v]


def _elements(view: DocumentView) -> list[tuple[str, str]]:
    """The 公文 elements (GB/T 9704-2012 §7) in the order they are laid out, with their text."""
    found = []
    for block in _blocks(view):
        if isinstance(block, Masthead):
            found.append(("发文机关标志", block.text))
            if block.number:
                found.append(("发文字号", block.number))
        elif isinstance(block, Title):
            found.append(("标题", "".join(block.lines)))
        elif isinstance(block, Addressee):
            found.append(("主送机关", block.text + "："))
        elif isinstance(block, Paragraph):
            found.append(("正文", block.text))
        elif isinstance(block, AttachmentNote):
            if len(block.titles) == 1:
                found.append(("附件说明", "附件：" + block.titles[0]))
            else:
                found.append(("附件说明", "附件：" + "".join(f"{i}.{t}" for i, t in enumerate(block.titles, 1))))
        elif isinstance(block, Signature):
            found.append(("发文机关署名", block.issuer))
            found.append(("成文日期", block.date))
    if view.imprint is not None:
        found.append(("印发机关和印发日期", view.imprint.office + view.imprint.date))
    return found


def _squeeze(text: str) -> str:
    return "".join(text.split())


def tag_objects(view: DocumentView, objects: list[tuple[int, int, str, str]]) -> list[tuple[str, list]]:
    """Which text objects show which 公文 element: each element's text is found as a run of
    consecutive text objects (a paragraph's lines, a title's lines; a page number drawn between
    two lines is passed over), the first such run not yet taken. Objects that belong to no
    element (page numbers, tables, marks) stay untagged. ``objects``: (page, id, text, the
    text without white space)."""
    squeezed = [o[3] for o in objects]
    used: set[int] = set()
    tagged = []
    for element, text in _elements(view):
        want = _squeeze(text)
        if not want:
            continue
        for i, got in enumerate(squeezed):
            if i in used or not got or not want.startswith(got):
                continue
            refs, rest, j, skipped = [], want, i, 0
            while j < len(objects) and rest and skipped <= 3:
                piece = squeezed[j]
                if piece and j not in used and rest.startswith(piece):
                    refs.append(j)
                    rest = rest[len(piece):]
                elif piece:  # a page number or mark drawn between two lines
                    skipped += 1
                j += 1
            if not rest:
                used.update(refs)
                tagged.append((element, [objects[k][:2] for k in refs]))
                break
    return tagged
