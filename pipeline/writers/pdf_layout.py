"""The laid-out pages of a PDF this project wrote: glyph runs and painted paths, in mm.

The OFD is made from the PDF, not laid out a second time: one layout, so the two cannot drift.
This reads the page content streams (pikepdf parses them, qpdf in C++) and follows the PDF
graphics model (PDF 32000-1 §8, §9): the current transformation matrix, q/Q, colours, line
width, clipping paths, text state and text matrices (§9.4), form XObjects (§8.10, the layers
forms.py lays over a blank form). Glyph ids are the original font's (WeasyPrint subsets with
retained glyph ids); characters come from each font's ToUnicode map.

Everything is returned in OFD page space: millimetres, origin top left, y down.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import re
import struct
from dataclasses import dataclass, field

from ..errors import RenderError

MM_PER_PT = 25.4 / 72
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF row-vector convention: m × n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


@dataclass
class GlyphRun:
    """One shown string (a TJ): its font, glyphs and characters, where each glyph's origin is.

    ``matrix`` maps text space (unscaled by the font size, y up) to page mm (y down);
    ``origins`` are the glyph origins in text space along the baseline (x only, y = rise)."""

    font: str  # the PDF font's base name without the subset tag, e.g. GW-fang
    size: float  # text space units per em (the Tf size)
    matrix: Matrix
    rise: float
    glyphs: list[int]
    text: list[str]  # the characters of each glyph (usually one)
    origins: list[float]
    end: float  # text-space x after the last glyph's advance
    color: tuple[int, int, int]


@dataclass
class Shape:
    """A painted path: subpaths of ('M', x, y) / ('L', x, y) / ('B', x1, y1, x2, y2, x3, y3) /
    ('C',) in page mm."""

    subpaths: list[list[tuple]]
    stroke: tuple[int, int, int] | None
    fill: tuple[int, int, int] | None
    line_width: float  # mm
    even_odd: bool


class CachedBlock(list):
    """Items read once from a block many documents share (see _BLOCKS); the same object each time.
    ``parts``: the blocks it is made of, when it is their items one after the other (a page's
    stamps: each stamp at its place is a block of its own, shared more widely than the page's)."""

    __hash__ = object.__hash__
    parts: tuple = ()

    def fonts(self) -> list[str]:
        """The fonts its glyph runs show, in order of first use (found once: read, it is not changed)."""
        found = self.__dict__.get("_fonts")
        if found is None:
            found = self._fonts = list(dict.fromkeys(item.font for item in self if isinstance(item, GlyphRun)))
        return found


class BlankFormPage(CachedBlock):
    """A blank form's page under a filled form's texts: the block forms.py marks (BLANK_FORM),
    the same in every document filling that form (the OFD draws it as a template page).

    ``key`` names what it draws (its bytes, the graphics state it starts in, its fonts); a
    ``stub`` holds no items: the reader was told (``read_pdf``'s ``known``) that its reader has
    that template page already, so it was not read."""

    def __init__(self, key: str, stub: bool = False):
        super().__init__()
        self.key, self.stub = key, stub


# How forms.py opens a page's content that is its blank form's page, as it lays texts over it:
# the blank page isolated in q … Q and marked as marked content (PDF 32000-1 §14.6, tag
# GWBlankForm; readers pass over tags they do not know), the texts laid over it after the Q.
BLANK_FORM = b"q\n/GWBlankForm BMC\n"
BLANK_FORM_END = b"EMC\nQ\n"


@dataclass
class LaidOutPage:
    width: float  # mm
    height: float
    items: list = field(default_factory=list)  # GlyphRun | Shape | CachedBlock, in painting order

    def flat(self):
        """GlyphRun and Shape items, cached blocks opened."""
        for item in self.items:
            if isinstance(item, CachedBlock):
                yield from item
            else:
                yield item


@dataclass
class _Font:
    name: str
    widths: dict[int, float]
    default_width: float
    to_unicode: dict[int, str]


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    fill: tuple[int, int, int] = (0, 0, 0)
    stroke: tuple[int, int, int] = (0, 0, 0)
    line_width: float = 1.0
    clips: tuple = ()  # convex polygons in device space; None entry: a clip we cannot resolve
    font: _Font | None = None
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0

    def copy(self) -> "_State":
        new = object.__new__(_State)  # (not through __init__: q is frequent)
        new.__dict__.update(self.__dict__)
        return new

    def key(self) -> tuple:
        return (self.ctm, self.fill, self.stroke, self.line_width, self.clips,
                self.font.name if self.font else None, self.size, self.char_spacing,
                self.word_spacing, self.scale, self.leading, self.rise)


# PDF 32000-1 §7.2: numbers, names, hex and literal strings, array brackets (a "<<" too, to
# refuse it), operators. WeasyPrint's content streams hold nothing else (no inline images).
# The first alternative takes a whole "[…] TJ" of hex strings and numbers (how WeasyPrint shows
# text: most of a page's tokens) in one match, its parts split by _TJ_PART.
# The second takes a whole ruled line as WeasyPrint draws each table border: "q q /name gs
# r g b RG w w x y m x y l S Q Q" (a quarter of a table page's tokens).
_N = rb"([-+]?(?:\d+\.?\d*|\.\d+))"
_TOKEN = re.compile(rb"\[((?:<[0-9A-Fa-f]*>|[-+]?[0-9.]+|\s)*)\]\s*TJ(?![\w'\"*])"
                    rb"|q\s+q\s+/[^\s/\[\]<>(){}%]+\s+gs\s+" + _N + rb"\s+" + _N + rb"\s+" + _N + rb"\s+RG\s+"
                    + _N + rb"\s+w\s+" + _N + rb"\s+" + _N + rb"\s+m\s+" + _N + rb"\s+" + _N
                    + rb"\s+l\s+S\s+Q\s+Q(?=\s|$)"
                    rb"|([-+]?(?:\d+\.?\d*|\.\d+))(?![\w.])|(/[^\s/\[\]<>(){}%]*)|(<[0-9A-Fa-f\s]*>)"
                    rb"|(\((?:\\.|[^\\()])*\))|(\[|\]|<<|>>)|([A-Za-z'\"*]+|%[^\n]*)")
_TJ_PART = re.compile(rb"<([0-9A-Fa-f]*)>|([-+]?(?:\d+\.?\d*|\.\d+))")
unhexlify = binascii.unhexlify


def _literal(raw: bytes) -> bytes:
    """A literal string's bytes (escapes of PDF 32000-1 §7.3.4.2; no nested parentheses)."""
    out, i = bytearray(), 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1]
            if 0x30 <= nxt <= 0x37:
                j = i + 1
                while j < len(raw) and j < i + 4 and 0x30 <= raw[j] <= 0x37:
                    j += 1
                out.append(int(raw[i + 1:j], 8) & 0xFF)
                i = j
                continue
            out += {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
                    ord("f"): b"\f"}.get(nxt, bytes([nxt]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return bytes(out)


class UnsupportedContent(RenderError):
    """The PDF uses a construct this reader does not translate (it says which)."""

    def __init__(self, what: str):
        super().__init__(f"无法写出 OFD：{what}")


def _num(value) -> float:
    return float(value)


def _rgb(values) -> tuple[int, int, int]:
    return tuple(max(0, min(255, round(float(v) * 255))) for v in values)  # type: ignore[return-value]


def _gray(value) -> tuple[int, int, int]:
    g = max(0, min(255, round(float(value) * 255)))
    return (g, g, g)


def _cmyk(values) -> tuple[int, int, int]:
    c, m, y, k = (float(v) for v in values)
    return tuple(round(255 * (1 - min(1.0, x + k))) for x in (c, m, y))  # type: ignore[return-value]


_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")


def _utf16(hex_text: bytes) -> str:
    return binascii.unhexlify(hex_text).decode("utf-16-be", errors="replace")


def parse_to_unicode(data: bytes) -> dict[int, str]:
    """A ToUnicode CMap (PDF 32000-1 §9.10.3): bfchar and bfrange entries."""
    mapping: dict[int, str] = {}
    for block in _BFCHAR.findall(data):
        codes = _HEX.findall(block)
        mapping.update({int(src, 16): _utf16(dst) for src, dst in zip(codes[0::2], codes[1::2])})
    for block in _BFRANGE.findall(data):
        for line in block.splitlines():
            parts = _HEX.findall(line)
            if len(parts) < 3:
                continue
            low, high = int(parts[0], 16), int(parts[1], 16)
            if b"[" in line:
                for offset, dst in enumerate(parts[2:]):
                    mapping[low + offset] = _utf16(dst)
            else:
                start = bytes.fromhex(parts[2].decode())
                base = int.from_bytes(start, "big")
                for offset in range(high - low + 1):
                    value = (base + offset).to_bytes(len(start), "big")
                    mapping[low + offset] = value.decode("utf-16-be", errors="replace")
    return mapping


_W_TOKEN = re.compile(rb"\[|\]|[^\s\[\]]+")


def _widths(w) -> dict[int, float] | None:
    """A CIDFont's W array (PDF 32000-1 §9.7.4.3) read from its text (pikepdf's objects one by
    one took ~0.1 ms a font); None when it is not numbers and brackets alone."""
    raw = w.unparse()
    if not (raw.startswith(b"[") and raw.endswith(b"]")) or b"R" in raw:
        return None
    tokens = _W_TOKEN.findall(raw, 1, len(raw) - 1)
    widths: dict[int, float] = {}
    try:
        i, count = 0, len(tokens)
        while i < count:
            first = int(tokens[i])
            if tokens[i + 1] == b"[":
                end = tokens.index(b"]", i + 2)
                widths.update(zip(range(first, first + end - i - 2), map(float, tokens[i + 2:end])))
                i = end + 1
            else:
                last, value = int(tokens[i + 1]), float(tokens[i + 2])
                for cid in range(first, last + 1):
                    widths[cid] = value
                i += 3
    except (ValueError, IndexError):
        return None
    return widths


def _font(obj) -> _Font:
    import pikepdf

    if obj.get("/Subtype") != pikepdf.Name.Type0:
        raise UnsupportedContent(f"字体 {obj.get('/BaseFont')} 不是 CID 字体（不支持）")
    descendant = obj.DescendantFonts[0]
    widths: dict[int, float] = {}
    w = descendant.get("/W")
    if w is not None and (found := _widths(w)) is not None:
        widths = found
    elif w is not None:
        items = list(w)
        i = 0
        while i < len(items):
            first = int(items[i])
            if isinstance(items[i + 1], pikepdf.Array):
                for offset, value in enumerate(items[i + 1]):
                    widths[first + offset] = float(value)
                i += 2
            else:
                last, value = int(items[i + 1]), float(items[i + 2])
                for cid in range(first, last + 1):
                    widths[cid] = value
                i += 3
    to_unicode = parse_to_unicode(obj.ToUnicode.read_bytes()) if "/ToUnicode" in obj else {}
    name = str(obj.get("/BaseFont", "/unknown"))[1:]
    return _Font(name.split("+", 1)[-1], widths, float(descendant.get("/DW", 1000)), to_unicode)


# Laid-out blocks already read, by their bytes, the state they start in and the fonts they
# name: a form filled per region (forms.py) repeats its blank form's pages in every document,
# wrapped in one q … Q block; a worker reads each such block once.
_BLOCKS: dict[tuple, list] = {}
_BLOCKS_KEPT = 160  # a worker's forms have ~100 pages; ~150 KB each (letters' pages pass through)
_MIN_BLOCK = 4096  # bytes: smaller blocks are read again (cheaper than keeping them)
_Q = re.compile(rb"(?:^|(?<=\s))([qQ])(?=\s|$)")


def _chunks(data: bytes):
    """The content stream cut at its outermost q … Q blocks: ("block", bytes) / ("plain", bytes)."""
    depth, start, block_start = 0, 0, None
    for match in _Q.finditer(data):
        if match.group(1) == b"q":
            if depth == 0:
                if match.start() > start:
                    yield "plain", data[start:match.start()]
                block_start = match.start()
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                yield "block", data[block_start:match.end()]
                start = match.end()
            elif depth < 0:
                raise UnsupportedContent("PDF 内容流中 Q 多于 q")
    if depth:
        yield "plain", data[block_start:]
    elif start < len(data):
        yield "plain", data[start:]


_FONTS: dict[tuple, _Font] = {}


def _font_key(obj) -> tuple:
    """A font dictionary's identity across documents: its name (WeasyPrint's: the face, from its
    description) and ToUnicode map (stored bytes), and the length of its widths array. The widths
    themselves are the face's for the glyphs the map lists (WeasyPrint keeps the face's glyph
    ids and maps every glyph it shows), so they are not hashed (that took ~0.2 ms a face)."""
    descendants = obj.get("/DescendantFonts")
    widths = descendants[0].get("/W") if descendants is not None else None
    return (str(obj.get("/BaseFont")),
            hashlib.sha1(obj.ToUnicode.read_raw_bytes() + repr(obj.ToUnicode.get("/Filter")).encode()).digest()
            if "/ToUnicode" in obj else b"",
            len(widths) if widths is not None else -1)


def _shared_font(obj) -> _Font:
    """The font read once per worker: a form's fonts are the same in every document filling it."""
    key = _font_key(obj)
    font = _FONTS.get(key)
    if font is None:
        font = _font(obj)
        if len(_FONTS) >= 256:
            _FONTS.pop(next(iter(_FONTS)))
        _FONTS[key] = font
    return font


_KNOWN_STARTS: dict[bytes, list[tuple[bytes, bytes]]] = {}  # a block's first bytes → (block, its sha1) that start a stream
# Stamps (forms.py's _place_stamps: the ratings, the 样例 mark), each a form XObject named by what
# it shows ("/GWStamp" + a hash of its text and box: the same name always draws the same), read
# once per worker at each place it is drawn (a rating's cell and text repeat from region to
# region). Any other form XObject (the filled layer, "/GWFilledN", named by page) is read each time.
_STAMPS: dict[tuple, CachedBlock] = {}
_STAMP_BLOCKS: dict[tuple, CachedBlock] = {}  # a page's stamps, by the bytes drawing them all
_STAMP_FORMS: dict[tuple, list] = {}  # a stamp drawn at the page's origin


def _moved(item, dx: float, dy: float):
    """A glyph run or painted path moved by (dx, dy) mm."""
    if isinstance(item, GlyphRun):
        a, b, c, d, e, f = item.matrix
        moved = GlyphRun(item.font, item.size, (a, b, c, d, e + dx, f + dy), item.rise, item.glyphs, item.text,
                         item.origins, item.end, item.color)
        moved.origin = item  # (the same run elsewhere: what does not depend on the place is written once)
        return moved
    subpaths = [[seg if seg[0] == "C" else (seg[0],) + tuple(v + (dx if i % 2 == 0 else dy) for i, v in enumerate(seg[1:]))
                 for seg in sub] for sub in item.subpaths]
    return Shape(subpaths, item.stroke, item.fill, item.line_width, item.even_odd)


_STAMPS_KEPT = 8192  # a few items each; a worker's forms have ~2,000 rated cells
_STAMP = re.compile(rb"q 1 0 0 1 (-?[0-9.]+) (-?[0-9.]+) cm /(GWStamp[0-9a-f]+) Do Q")
_STREAMS: dict[bytes, list] = {}  # a whole content stream's chunks, by its hash (a page repeated)


# Whole pages already read, by their content stream's stored (compressed) bytes, page box and
# fonts: a filled form's pages that hold nothing filled in (most of a region's checklist) are the
# same stream in every document of the form, and are not even decompressed again. Only pages
# whose content draws no form XObject but stamps (named by content) are kept: any other XObject
# (the filled layer) may draw something else under the same name.
_PAGES: dict[tuple, list] = {}
_PAGES_KEPT = 400
_OTHER_DO = re.compile(rb"/(?!GWStamp[0-9a-f]+\s)[^\s/\[\]<>(){}%]+\s+Do\b")


_STARTS: dict[str, tuple] = {}  # a blank form page's size and the state its content starts in


class _Resources:
    """A page's resource dictionary, looked up when first used (most filled pages' stamps were
    read before: the page itself is not looked at)."""

    __slots__ = ("_pdf", "_number", "_found")

    def __init__(self, pdf, number: int):
        self._pdf, self._number, self._found = pdf, number, None

    def __getattr__(self, name: str):
        if self._found is None:
            self._found = self._pdf.pages[self._number].obj.get("/Resources")
        return getattr(self._found, name)


def _content(contents) -> bytes:
    """A page's content (one stream or an array of them, joined) or a form XObject's, decoded."""
    import pikepdf

    if isinstance(contents, pikepdf.Array):
        return b"\n".join(c.read_bytes() for c in contents)
    return contents.read_bytes()


class _Reader:
    def __init__(self, known=None):
        self.fonts: dict = {}
        self.signatures: dict = {}
        self.known = known  # (template key, k) → whether the caller has that template page
        self.blanks = 0  # blank form pages met so far in the document (k of the next)
        self._whole = False  # the page last read draws no form XObject but stamps

    @staticmethod
    def _start(page) -> tuple[LaidOutPage, _State, list[float]]:
        """An empty page of this page's size, the state its content starts in, its box (pt)."""
        box = [float(v) for v in page.mediabox]
        if int(page.obj.get("/Rotate", 0)) % 360:
            raise UnsupportedContent("PDF 页面带旋转（不支持）")
        width, height = box[2] - box[0], box[3] - box[1]
        out = LaidOutPage(width * MM_PER_PT, height * MM_PER_PT)
        # device space: PDF points, then to mm with y down
        to_mm: Matrix = (MM_PER_PT, 0.0, 0.0, -MM_PER_PT, -box[0] * MM_PER_PT, box[3] * MM_PER_PT)
        return out, _State(ctm=to_mm), box

    def page(self, page) -> LaidOutPage:
        import pikepdf

        obj = page.obj
        out, state, box = self._start(page)
        resources = obj.get("/Resources")
        contents = obj.get("/Contents")
        key = None
        if self.known is not None and isinstance(contents, pikepdf.Stream):
            key = (hashlib.sha1(contents.read_raw_bytes()).digest(), repr(contents.get("/Filter")),
                   tuple(box), self._signature(resources))
            found = _PAGES.get(key)
            if found is not None:
                self.blanks += sum(isinstance(item, BlankFormPage) for item in found)
                out.items = list(found)
                return out
        self._run(obj, resources, state, out.items, 0)
        if key is not None and self._whole:
            if len(_PAGES) >= _PAGES_KEPT:
                _PAGES.pop(next(iter(_PAGES)))
            _PAGES[key] = list(out.items)
        return out

    def filled(self, pdf, number: int, fill: "FilledPage") -> LaidOutPage:
        """Page ``number`` of ``pdf``, which forms.py filled, read from what it says the page draws
        (``fill``) as ``page`` would read its content: the blank form page (a stub when
        ``known``), the stamps, the filled texts. Neither the page's content nor (when its stamps
        were read before) its resources are looked at unless needed."""
        start = _STARTS.get(fill.name)  # (the page's box is its blank form page's)
        if start is None:
            out, state, _ = self._start(pdf.pages[number])
            if len(_STARTS) >= _BLOCKS_KEPT:
                _STARTS.pop(next(iter(_STARTS)))
            start = _STARTS[fill.name] = (out.width, out.height, state)
        out, state = LaidOutPage(start[0], start[1]), start[2].copy()
        resources = _Resources(pdf, number)
        k, self.blanks = self.blanks, self.blanks + 1
        if self.known is not None and self.known(fill.name, k):
            out.items.append(BlankFormPage(fill.name, stub=True))
        else:
            data = _content(pdf.pages[number].obj.get("/Contents"))
            end = data.rfind(BLANK_FORM_END)
            if not data.startswith(BLANK_FORM) or end < 0:
                raise UnsupportedContent("表单页缺少空白表单标记")
            block = BlankFormPage(fill.name)
            self._interpret(data[:end + len(BLANK_FORM_END)], resources, state.copy(), block, 0)
            out.items.append(block)
        if fill.stamps and not self._stamps(fill.stamps, resources, state, out.items):
            state = self._interpret(fill.stamps, resources, state, out.items, 0)
        if fill.layer:
            self._interpret(fill.layer, resources, state, out.items, 0)
        return out

    def _font_of(self, resources, name):
        obj = resources.Font[name]
        key = obj.objgen if obj.objgen != (0, 0) else id(obj)
        if key not in self.fonts:
            self.fonts[key] = _shared_font(obj)
        return self.fonts[key]

    def _chunks(self, data: bytes):
        """_chunks(data) as (kind, bytes, digest or None), skipping the scan (and the hash) of a
        block already seen at the start of a stream (a filled form's page: its blank page wrapped
        in q … Q, then the filled layer)."""
        for block, digest in _KNOWN_STARTS.get(data[:256], ()):
            if data.startswith(block) and data[len(block):len(block) + 1] in (b"", b"\n", b" ", b"\r"):
                return [("block", block, digest)] + [(k, c, None) for k, c in _chunks(data[len(block):])]
        if data.startswith(BLANK_FORM):  # (forms.py's mark: the blank page ends at its last EMC Q)
            end = data.rfind(BLANK_FORM_END)
            if end > 0:
                end += len(BLANK_FORM_END) - 1  # (up to the Q)
                return [("block", data[:end], None)] + [(k, c, None) for k, c in _chunks(data[end:])]
        key = hashlib.sha1(data).digest()
        found = _STREAMS.get(key)
        if found is None:
            found = [(k, c, None) for k, c in _chunks(data)]
            if len(_STREAMS) >= _BLOCKS_KEPT:
                _STREAMS.pop(next(iter(_STREAMS)))
            _STREAMS[key] = found
        return found

    def _stamps(self, chunk: bytes, resources, state: _State, items: list) -> bool:
        """A block of stamps only (forms.py's _place_stamps: "q", then one "q 1 0 0 1 x y cm
        /GWStamp… Do Q" per stamp, then "Q"): each stamp, at its place, read once per worker
        (_STAMPS). False (nothing read) for any other block."""
        if b"/GWStamp" not in chunk or state.clips:  # (moved stamps: no clip of the page's)
            return False
        base = state.key()
        whole = _STAMP_BLOCKS.get((chunk, base))  # the same stamps at the same places (a page
        if whole is not None:                      # whose ratings are the same as another region's)
            items.append(whole)
            return True
        placed = _STAMP.findall(chunk)
        if not placed or _STAMP.sub(b"", chunk).split() != [b"q", b"Q"]:
            return False
        whole, parts = CachedBlock(), []
        a, b, c, d = state.ctm[:4]
        for x, y, name in placed:
            key = (name, x, y, base)
            cached = _STAMPS.get(key)
            if cached is None:
                # the stamp drawn at the page's origin, read once, then moved where it goes
                # (always so, wherever it was met first: the same numbers in every process)
                drawn = _STAMP_FORMS.get((name, base))
                if drawn is None:
                    drawn = []
                    self._interpret(b"q 1 0 0 1 0 0 cm /%s Do Q" % name, resources, state.copy(), drawn, 0)
                    if len(_STAMP_FORMS) >= _STAMPS_KEPT:
                        _STAMP_FORMS.pop(next(iter(_STAMP_FORMS)))
                    _STAMP_FORMS[(name, base)] = drawn
                tx, ty = float(x), float(y)
                cached = CachedBlock(_moved(item, a * tx + c * ty, b * tx + d * ty) for item in drawn)
                if len(_STAMPS) >= _STAMPS_KEPT:
                    _STAMPS.pop(next(iter(_STAMPS)))
                _STAMPS[key] = cached
            whole.extend(cached)
            parts.append(cached)
        whole.parts = tuple(parts)
        if len(_STAMP_BLOCKS) >= _STAMPS_KEPT:
            _STAMP_BLOCKS.pop(next(iter(_STAMP_BLOCKS)))
        _STAMP_BLOCKS[(chunk, base)] = whole
        items.append(whole)
        return True

    def _signature(self, resources) -> tuple:
        """What the font names of a resource dictionary stand for (their maps and widths)."""
        key = resources.objgen if resources.objgen != (0, 0) else id(resources)
        if key not in self.signatures:
            fonts = resources.get("/Font") or {}
            items = [(name, _font_key(fonts[name])) for name in sorted(fonts.keys())]
            self.signatures[key] = hashlib.sha1(repr(items).encode()).hexdigest()
        return self.signatures[key]

    def _run(self, holder, resources, state: _State, items: list, depth: int) -> None:
        if depth > 8:
            raise UnsupportedContent("PDF 表单对象嵌套过深")
        contents = holder.get("/Contents") if depth == 0 else holder
        if contents is None:
            return
        data = _content(contents)
        if depth == 0 and b"(" not in data:  # (no literal strings: q and Q found by bytes alone)
            chunks = self._chunks(data)
            # the page may be kept whole (_PAGES) when what is drawn over its blank form (whose
            # block is kept by its bytes all the same) uses no form XObject but stamps
            self._whole = not any(_OTHER_DO.search(chunk) for kind, chunk, _ in chunks
                                  if b"Do" in chunk and not (kind == "block" and chunk.startswith(BLANK_FORM)))
            for kind, chunk, digest in chunks:
                blank = kind == "block" and chunk.startswith(BLANK_FORM)
                if kind == "block" and not blank and self._stamps(chunk, resources, state, items):
                    continue
                if blank or (kind == "block" and len(chunk) >= _MIN_BLOCK and b" Do" not in chunk):
                    digest = digest or hashlib.sha1(chunk).digest()
                    key = (digest, state.key(), self._signature(resources))
                    if blank:
                        name = hashlib.sha1(repr(key).encode()).hexdigest()
                        k, self.blanks = self.blanks, self.blanks + 1
                    if data.startswith(chunk) and not any(c == chunk for c, _ in _KNOWN_STARTS.get(chunk[:256], ())):
                        _KNOWN_STARTS.setdefault(chunk[:256], []).append((chunk, digest))
                    cached = _BLOCKS.get(key)
                    if cached is None and blank and self.known is not None and self.known(name, k):
                        items.append(BlankFormPage(name, stub=True))
                        continue
                    if cached is None:
                        cached = BlankFormPage(name) if blank else CachedBlock()
                        self._interpret(chunk, resources, state.copy(), cached, depth)
                        if len(_BLOCKS) >= _BLOCKS_KEPT:
                            _BLOCKS.pop(next(iter(_BLOCKS)))
                            _KNOWN_STARTS.clear()
                        _BLOCKS[key] = cached
                    items.append(cached)
                else:
                    state = self._interpret(chunk, resources, state, items, depth)
            return
        if depth == 0:
            self._whole = False
        self._interpret(data, resources, state, items, depth)

    def _interpret(self, data: bytes, resources, state: _State, items: list, depth: int) -> "_State":
        """Run a content stream's operators; the state it ends in."""
        import pikepdf

        stack: list[_State] = []
        path: list[list[tuple]] = []
        current: list[tuple] | None = None
        pending_clip: str | None = None
        tm = tlm = IDENTITY
        args: list = []
        array: list | None = None
        for shown, r, g, b, width, x0, y0, x1, y1, number, name, hexstring, literal, bracket, o in _TOKEN.findall(data):
            if r and not path:  # a ruled line (q … Q: the state after it is the state before)
                ruled = state.copy()
                ruled.stroke, ruled.line_width = _rgb((r, g, b)), float(width)
                ctm = state.ctm
                self._paint(items, [[("M", *apply(ctm, float(x0), float(y0))),
                                     ("L", *apply(ctm, float(x1), float(y1)))]], ruled, True, False, False)
                continue
            if r:
                raise UnsupportedContent("PDF 内容流中路径未结束就有 q（不支持）")
            if shown:
                args = []
                tm = self._show_tj(items, shown, tm, state)
                continue
            if not (number or name or hexstring or literal or bracket or o):
                args = []  # "[] TJ" (the first alternative, empty): shows nothing
                continue
            if number:
                (array if array is not None else args).append(float(number))
                continue
            if name:
                args.append(name[1:].decode("latin-1"))
                continue
            if hexstring:
                value = bytes.fromhex(hexstring[1:-1].decode())
                (array if array is not None else args).append(value)
                continue
            if literal:
                value = _literal(literal[1:-1])
                (array if array is not None else args).append(value)
                continue
            if bracket:
                if bracket == b"[":
                    array = []
                elif bracket == b"]":
                    args.append(array)
                    array = None
                else:
                    raise UnsupportedContent("PDF 内容流中有字典（不支持）")
                continue
            if o[:1] == b"%":
                continue  # a comment
            o = o.decode("latin-1")
            operands, args = args, []
            if o in ("m", "l", "c", "v", "y", "h", "re"):
                ctm = state.ctm
                if o == "m":
                    current = [("M", *apply(ctm, operands[0], operands[1]))]
                    path.append(current)
                elif o == "l":
                    current.append(("L", *apply(ctm, operands[0], operands[1])))
                elif o == "re":
                    x, y, w, h = operands
                    current = [("M", *apply(ctm, x, y)), ("L", *apply(ctm, x + w, y)),
                               ("L", *apply(ctm, x + w, y + h)), ("L", *apply(ctm, x, y + h)), ("C",)]
                    path.append(current)
                    current = None
                elif o == "h":
                    current.append(("C",))
                else:
                    pts = operands
                    last = current[-1]
                    here = (last[-2], last[-1]) if last[0] != "C" else current[0][1:3]
                    if o == "c":
                        p1, p2, p3 = apply(ctm, pts[0], pts[1]), apply(ctm, pts[2], pts[3]), apply(ctm, pts[4], pts[5])
                    elif o == "v":
                        p1, p2, p3 = here, apply(ctm, pts[0], pts[1]), apply(ctm, pts[2], pts[3])
                    else:
                        p1, p2, p3 = apply(ctm, pts[0], pts[1]), apply(ctm, pts[2], pts[3]), apply(ctm, pts[2], pts[3])
                    current.append(("B", *p1, *p2, *p3))
            elif o in ("S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"):
                if o in ("s", "b", "b*") and path:
                    path[-1].append(("C",))
                if o != "n" and path:
                    stroke = o in ("S", "s", "B", "B*", "b", "b*")
                    fill = o not in ("S", "s")
                    self._paint(items, path, state, stroke, fill, o.endswith("*"))
                if pending_clip is not None:
                    state.clips = state.clips + (_clip_polygon(path),)
                    pending_clip = None
                path, current = [], None
            elif o in ("W", "W*"):
                pending_clip = o
            elif o == "q":
                stack.append(state.copy())
            elif o == "Q":
                state = stack.pop()
            elif o == "cm":
                state.ctm = multiply(tuple(operands), state.ctm)
            elif o == "w":
                state.line_width = operands[0]
            elif o == "rg":
                state.fill = _rgb(operands)
            elif o == "RG":
                state.stroke = _rgb(operands)
            elif o == "g":
                state.fill = _gray(operands[0])
            elif o == "G":
                state.stroke = _gray(operands[0])
            elif o == "k":
                state.fill = _cmyk(operands)
            elif o == "K":
                state.stroke = _cmyk(operands)
            elif o == "BT":
                tm = tlm = IDENTITY
            elif o == "ET":
                pass
            elif o == "Tf":
                state.font = self._font_of(resources, "/" + operands[0])
                state.size = operands[1]
            elif o == "Tm":
                tm = tlm = tuple(operands)
            elif o in ("Td", "TD"):
                tx, ty = operands[0], operands[1]
                if o == "TD":
                    state.leading = -ty
                tm = tlm = multiply((1, 0, 0, 1, tx, ty), tlm)
            elif o == "T*":
                tm = tlm = multiply((1, 0, 0, 1, 0, -state.leading), tlm)
            elif o == "Tc":
                state.char_spacing = operands[0]
            elif o == "Tw":
                state.word_spacing = operands[0]
            elif o == "Tz":
                state.scale = operands[0] / 100
            elif o == "TL":
                state.leading = operands[0]
            elif o == "Ts":
                state.rise = operands[0]
            elif o in ("TJ", "Tj", "'", '"'):
                if o in ("'", '"'):
                    if o == '"':
                        state.word_spacing, state.char_spacing = operands[0], operands[1]
                    tm = tlm = multiply((1, 0, 0, 1, 0, -state.leading), tlm)
                parts = operands[0] if o == "TJ" else [operands[-1]]
                tm = self._show(items, parts, tm, state)
            elif o == "Do":
                xobject = resources.XObject["/" + operands[0]]
                if xobject.get("/Subtype") != pikepdf.Name.Form:
                    raise UnsupportedContent(f"PDF 中有图像 {operands[0]}（不支持）")
                inner = state.copy()
                if "/Matrix" in xobject:
                    inner.ctm = multiply(tuple(float(v) for v in xobject.Matrix), inner.ctm)
                if "/BBox" in xobject:
                    x0, y0, x1, y1 = (float(v) for v in xobject.BBox)
                    box = [[("M", *apply(inner.ctm, x0, y0)), ("L", *apply(inner.ctm, x1, y0)),
                            ("L", *apply(inner.ctm, x1, y1)), ("L", *apply(inner.ctm, x0, y1)), ("C",)]]
                    inner.clips = inner.clips + (_clip_polygon(box),)
                self._run(xobject, xobject.get("/Resources", resources), inner, items, depth + 1)
            elif o in ("gs", "d", "J", "j", "M", "ri", "i", "BX", "EX", "cs", "CS", "MP", "DP",
                       "BMC", "BDC", "EMC"):
                pass  # alpha 1, solid lines only (checked: WeasyPrint writes these as defaults)
            else:
                raise UnsupportedContent(f"PDF 操作符 {o}（不支持）")
        return state

    def _show_tj(self, items: list, shown: bytes, tm: Matrix, state: _State) -> Matrix:
        """``_show`` of a TJ's array as the page's text has it (hex strings and numbers between
        the brackets), read as it goes: not made into objects first."""
        return self._show(items, (unhexlify(hexed) if hexed or not number else float(number)
                                  for hexed, number in _TJ_PART.findall(shown)), tm, state)

    def _show(self, items: list, parts, tm: Matrix, state: _State) -> Matrix:
        font = state.font
        size, scale, spacing = state.size, state.scale, state.char_spacing
        width, default, unicode = font.widths.get, font.default_width, font.to_unicode.get
        x = 0.0
        glyphs, text, origins = [], [], []
        for part in parts:
            if isinstance(part, bytes):
                if len(part) == 2:  # (one glyph: a letter-spaced line is a string and a number per glyph)
                    cids = (part[0] << 8 | part[1],)
                else:
                    count = len(part) // 2
                    if not count:
                        continue
                    cids = struct.unpack(">%dH" % count, part[:2 * count] if len(part) % 2 else part)
                glyphs += cids
                text += [unicode(cid, "\ufffd") for cid in cids]
                for cid in cids:
                    origins.append(x)
                    x += (width(cid, default) / 1000 * size + spacing) * scale
            else:
                x -= float(part) / 1000 * size * scale
        return self._shown(items, glyphs, text, origins, x, tm, state)

    @staticmethod
    def _shown(items: list, glyphs: list, text: list, origins: list, x: float, tm: Matrix,
               state: _State) -> Matrix:
        """The glyph run shown (when it has glyphs), and the text matrix after it."""
        font, size, scale = state.font, state.size, state.scale
        if glyphs:
            matrix = multiply(tm, state.ctm)
            if scale != 1.0:
                matrix = multiply((scale, 0, 0, 1, 0, 0), matrix)
                origins = [o / scale for o in origins]
                end = x / scale
            else:
                end = x
            items.append(GlyphRun(font.name, size, matrix, state.rise, glyphs, text, origins, end,
                                  state.fill))
            if state.clips:
                _check_text_clip(items[-1], state.clips)
        return multiply((1, 0, 0, 1, x, 0), tm)

    def _paint(self, items, path, state: _State, stroke: bool, fill: bool, even_odd: bool) -> None:
        ctm = state.ctm
        # line width in device mm: the CTM's scale (uniform in these documents)
        scale = (abs(ctm[0] * ctm[3] - ctm[1] * ctm[2])) ** 0.5
        width = state.line_width * scale
        shape = Shape([list(s) for s in path], state.stroke if stroke else None,
                      state.fill if fill else None, width, even_odd)
        if state.clips:
            shape = _clip_shape(shape, state.clips)
            if shape is None:
                return
        last = items[-1] if items else None  # (a CachedBlock is never merged into)
        if (shape.fill is None and isinstance(last, Shape) and last.fill is None
                and last.stroke == shape.stroke and last.line_width == shape.line_width):
            # one stroked path after another, alike: one path of several subpaths paints the
            # same (subpaths are stroked each on its own); table borders become one object
            last.subpaths += shape.subpaths
            return
        items.append(shape)


# --- clipping ------------------------------------------------------------------------------------

EPS = 1e-6


def _clip_polygon(path: list[list[tuple]]):
    """A clipping path as one convex polygon (its points, counter-clockwise in mm-y-down terms:
    any consistent orientation), or None when it is not one convex polygon."""
    if len(path) != 1:
        return None
    points = []
    for seg in path[0]:
        if seg[0] in ("M", "L"):
            points.append((seg[1], seg[2]))
        elif seg[0] == "B":
            return None
    if len(points) > 1 and abs(points[0][0] - points[-1][0]) < EPS and abs(points[0][1] - points[-1][1]) < EPS:
        points.pop()
    if len(points) < 3:
        return None
    sign = 0
    n = len(points)
    for i in range(n):
        (x0, y0), (x1, y1), (x2, y2) = points[i], points[(i + 1) % n], points[(i + 2) % n]
        cross = (x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1)
        if abs(cross) > EPS:
            s = 1 if cross > 0 else -1
            if sign and s != sign:
                return None
            sign = s
    if sign == 0:
        return None
    return points if sign > 0 else points[::-1]


def _inside(point, a, b) -> float:
    return (b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0])


def _clip_points(points: list, clip: list) -> list:
    """Sutherland–Hodgman: a polygon clipped by a convex one."""
    output = points
    n = len(clip)
    for i in range(n):
        a, b = clip[i], clip[(i + 1) % n]
        source, output = output, []
        if not source:
            break
        prev = source[-1]
        prev_in = _inside(prev, a, b) >= -EPS
        for point in source:
            here_in = _inside(point, a, b) >= -EPS
            if here_in != prev_in:
                dx, dy = point[0] - prev[0], point[1] - prev[1]
                ex, ey = b[0] - a[0], b[1] - a[1]
                denom = ex * dy - ey * dx
                if abs(denom) > EPS:
                    t = (ey * (prev[0] - a[0]) - ex * (prev[1] - a[1])) / denom
                    output.append((prev[0] + t * dx, prev[1] + t * dy))
            if here_in:
                output.append(point)
            prev, prev_in = point, here_in
    return output


def _bounds(points):
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _polygons(shape: Shape):
    """The subpaths as point lists, or None when one has curves."""
    result = []
    for sub in shape.subpaths:
        points = []
        for seg in sub:
            if seg[0] == "B":
                return None
            if seg[0] in ("M", "L"):
                points.append((seg[1], seg[2]))
        result.append(points)
    return result


def _contains(clip, points) -> bool:
    n = len(clip)
    return all(_inside(p, clip[i], clip[(i + 1) % n]) >= -1e-4 for p in points for i in range(n))


def _stroke_outline(points: list, closed: bool, width: float) -> list[list]:
    """A stroked polyline as rectangles (butt caps): what a clipped rule paints."""
    rects = []
    pairs = list(zip(points, points[1:] + ([points[0]] if closed else [])))
    half = width / 2
    for (x0, y0), (x1, y1) in pairs:
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        if length < EPS:
            continue
        nx, ny = -(y1 - y0) / length * half, (x1 - x0) / length * half
        rects.append([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)])
    return rects


def _clip_shape(shape: Shape, clips) -> Shape | None:
    """The part of a painted path inside the clipping polygons, as the path itself when it lies
    wholly inside (the usual case), else as polygons cut by Sutherland–Hodgman."""
    polygons = _polygons(shape)
    if any(c is None for c in clips) or polygons is None:
        raise UnsupportedContent("PDF 中有非凸多边形的裁剪路径或被裁剪的曲线（不支持）")
    pad = shape.line_width / 2 if shape.stroke else 0.0
    every = [p for poly in polygons for p in poly]
    if not every:
        return None
    x0, y0, x1, y1 = _bounds(every)
    corners = [(x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]
    if all(_contains(clip, corners) for clip in clips):
        return shape
    if shape.stroke and shape.fill:
        raise UnsupportedContent("PDF 中有被裁剪且同时填充和描边的路径（不支持）")
    if shape.stroke:
        pieces = []
        for sub, points in zip(shape.subpaths, polygons):
            pieces += _stroke_outline(points, sub[-1][0] == "C", shape.line_width)
        color, even_odd = shape.stroke, False
    else:
        pieces, color, even_odd = polygons, shape.fill, shape.even_odd
    clipped = []
    for points in pieces:
        for clip in clips:
            points = _clip_points(points, clip)
        if len(points) >= 3:
            area = sum(points[i][0] * points[(i + 1) % len(points)][1]
                       - points[(i + 1) % len(points)][0] * points[i][1] for i in range(len(points)))
            if abs(area) > 1e-6:
                clipped.append([("M", *points[0])] + [("L", *p) for p in points[1:]] + [("C",)])
    if not clipped:
        return None
    return Shape(clipped, None, color, 0.0, even_odd)


def _check_text_clip(run: GlyphRun, clips) -> None:
    """Text is never clipped in these documents; say so if that ever changes."""
    if any(c is None for c in clips):
        raise UnsupportedContent("PDF 中的文字处在非凸多边形的裁剪路径下（不支持）")


@dataclass(frozen=True)
class FilledPage:
    """What forms.py drew on a page of a document it filled: its blank form page (``name``: the
    form's identity and the page's number), then ``stamps`` (the block drawing the stamps,
    forms._place_stamps) and ``layer`` (the block drawing the texts laid out for the document,
    forms._lay_over), each b"" when there is none."""

    name: str
    stamps: bytes = b""
    layer: bytes = b""


@dataclass(eq=False)
class FormFill:
    """A document forms.py made by filling a blank form, as the OFD writer reads it without
    reading the saved PDF back: ``pdf``, the pikepdf.Pdf it saved (kept open), and what each of
    its filled pages draws (by page index). A page not listed (a letter's first part) is read
    from its content as any page is. ``keep``: other Pdfs whose objects the pages draw."""

    pdf: object
    pages: dict[int, FilledPage]
    keep: list = field(default_factory=list)


def read_filled(fill: FormFill, known=None) -> list[LaidOutPage]:
    """``read_pdf`` of a filled form's PDF (the same pages, item for item), from what forms.py
    tells of it (``FormFill``): no PDF parsed again, no blank form page read when ``known``."""
    reader = _Reader(known)
    pages = []
    for index in range(len(fill.pdf.pages)):
        filled = fill.pages.get(index)
        pages.append(reader.page(fill.pdf.pages[index]) if filled is None else reader.filled(fill.pdf, index, filled))
    return pages


def read_pdf(data: bytes, known=None) -> list[LaidOutPage]:
    """Every page of the PDF, its text runs and paths in painting order. ``known(key, k)``: whether
    the caller already has what the k-th blank form page of the document (named ``key``) draws;
    such a page is then a stub (BlankFormPage.stub), not read, and pages seen before may be
    reused whole (_PAGES)."""
    import pikepdf

    reader = _Reader(known)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [reader.page(page) for page in pdf.pages]
