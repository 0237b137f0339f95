"""The fonts an OFD embeds: the PDF's Fandol faces, as TrueType, subset per document.

The Fandol faces are OpenType with CFF (cubic) outlines. OFD readers differ on CFF: some parse
only TrueType (``glyf``) outlines, some choose the parser by the file's extension, and a reader
that fails on a face falls back to a system font in silence. So each face is converted once to
TrueType (fontTools' cu2qu: cubic curves approximated by quadratic ones within 1 font unit, the
glyph order, metrics and ``cmap`` unchanged) and kept on disk; each document then embeds a
HarfBuzz subset of it (the glyphs it uses, ``cmap`` for their characters), ~0.1-1.5 ms a face.

The converted faces live in the user's cache (``$GONGWEN_CACHE_DIR``, else
``$XDG_CACHE_HOME/gongwen-pipeline``, else ``~/.cache/gongwen-pipeline``), named by the source
font's hash and the fontTools version: conversion takes ~6 s a face, once per machine.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import sys
from pathlib import Path

from ..output import atomic_write

CU2QU_MAX_ERR = 1.0  # font units (of 1000 per em): 0.016 mm at 16 pt


def cache_root() -> Path:
    return _cache_root(os.environ.get("GONGWEN_CACHE_DIR"), os.environ.get("XDG_CACHE_HOME"),
                       os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _cache_root(own: str | None, xdg: str | None, home: str | None) -> Path:
    """(By the variables it depends on: Path.home() and the joins took ~0.1 ms a call.)"""
    if own:
        return Path(own)
    base = xdg or str(Path.home() / ".cache")
    return Path(base) / "gongwen-pipeline"


@functools.lru_cache(maxsize=None)
def _source_hash(path: str) -> str:
    """The font file's sha256: the one the fingerprints use (fingerprint._file_hash), noted with
    the file's stat by a build, so a build's process does not read and hash the faces again
    (31 MB, ~40 ms CPU a process)."""
    from ..fingerprint import _file_hash
    return _file_hash(path)


def truetype_path(source: Path) -> Path:
    """The TrueType conversion of a CFF face, made once (under a lock: parallel workers wait for
    the one converting) and kept in the cache."""
    import fontTools

    key = hashlib.sha256(f"{_source_hash(str(source))} fonttools {fontTools.version} "
                         f"cu2qu {CU2QU_MAX_ERR}".encode()).hexdigest()[:24]
    target = cache_root() / "ofd-fonts" / f"{source.stem}-{key}.ttf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            atomic_write(target, cff_to_truetype(source.read_bytes()))
    return target


def cff_to_truetype(data: bytes) -> bytes:
    """A CFF-flavoured OpenType font as TrueType: same glyph order, metrics, cmap and names."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(io.BytesIO(data))
    if "CFF " not in font:
        return data
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        # CFF contours run counter-clockwise, TrueType's clockwise: reverse them
        glyph_set[name].draw(Cu2QuPen(pen, CU2QU_MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr, value in (("maxZones", 1), ("maxTwilightPoints", 0), ("maxStorage", 0),
                        ("maxFunctionDefs", 0), ("maxInstructionDefs", 0), ("maxStackElements", 0),
                        ("maxSizeOfInstructions", 0), ("maxComponentElements", 0)):
        setattr(maxp, attr, value)
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 3.0  # no glyph names: a CJK face has thousands of uniXXXX names
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    out = io.BytesIO()
    font.save(out, reorderTables=True)
    return out.getvalue()


# --- HarfBuzz subsetting (libharfbuzz-subset, already required for the PDF) -------------------

_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef void (*hb_destroy_func_t) (void *user_data);
hb_blob_t *hb_blob_create (const char *data, unsigned int length, int mode, void *user_data,
                           hb_destroy_func_t destroy);
void hb_blob_destroy (hb_blob_t *blob);
const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t *hb_face_reference_blob (hb_face_t *face);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set (hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set (hb_subset_input_t *input);
hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
hb_face_t *hb_subset_preprocess (hb_face_t *source);
const char *hb_version_string (void);
hb_blob_t *hb_blob_create_from_file (const char *file_name);
unsigned int hb_blob_get_length (hb_blob_t *blob);
typedef struct hb_font_t hb_font_t;
hb_font_t *hb_font_create (hb_face_t *face);
void hb_font_destroy (hb_font_t *font);
unsigned int hb_font_get_nominal_glyphs (hb_font_t *font, unsigned int count,
    const hb_codepoint_t *first_unicode, unsigned int unicode_stride,
    hb_codepoint_t *first_glyph, unsigned int glyph_stride);
hb_set_t *hb_set_create (void);
void hb_set_destroy (hb_set_t *set);
unsigned int hb_set_get_population (const hb_set_t *set);
unsigned int hb_set_next_many (const hb_set_t *set, hb_codepoint_t codepoint, hb_codepoint_t *out,
                               unsigned int size);
void hb_face_collect_unicodes (hb_face_t *face, hb_set_t *out);
"""
HB_MEMORY_MODE_READONLY = 1
HB_SUBSET_FLAGS_NO_HINTING = 0x1
HB_SUBSET_SETS_DROP_TABLE_TAG = 3
# tables an OFD reader does not use to draw placed glyphs (the layout is already done)
DROPPED_TABLES = (b"GSUB", b"GPOS", b"GDEF", b"BASE", b"JSTF", b"DSIG", b"vhea", b"vmtx")


@functools.lru_cache(maxsize=1)
def _harfbuzz():
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(_CDEF)
    return ffi, _dlopen(ffi, "harfbuzz"), _dlopen(ffi, "harfbuzz-subset")


def _dlopen(ffi, name: str):
    """The library by its exact Linux name first (find_library runs ldconfig: ~5 ms a name, in
    every process that writes a PDF, whose glyph check reads the faces through here)."""
    try:
        return ffi.dlopen(f"lib{name}.so.0")
    except OSError:
        import ctypes.util
        return ffi.dlopen(ctypes.util.find_library(name) or f"lib{name}.so.0")


def harfbuzz_version() -> str:
    """HarfBuzz's version (what a subset's bytes may depend on: cached subsets are named by it)."""
    ffi, hb, _ = _harfbuzz()
    return ffi.string(hb.hb_version_string()).decode()


# A face is preprocessed for subsetting (hb_subset_preprocess: its tables parsed and indexed once)
# at its first subset in a process that writes many OFDs (a build's worker, or a process that
# warms the writer up: OfdWriter.warm), elsewhere only once it has been subset this many times in
# the process: the break-even. Preprocessing a Fandol face takes 15-21 ms, and saves ~1.1 ms a
# subset (1.1-1.5 ms → 0.06-0.4 ms for 10-150 characters), so it pays after 14-19 subsets
# (HarfBuzz 6.0, 2 cores). A build that renders a few documents in its own process (one region's
# change: its report, letter and the 通报, 3-5 subsets a face) never pays for it. The bytes are
# the same either way (tests/test_writer_startup.py).
PREPROCESS_AFTER = 16


class Face:
    """A TrueType face held by HarfBuzz for the life of the process (its file mapped, not
    copied), subset as it is until it has been subset ``PREPROCESS_AFTER`` times, then
    preprocessed for subsetting (HarfBuzz ≥ 6: each subset then ~0.1-0.4 ms instead of ~1.1-1.5)."""

    def __init__(self, path: Path, preprocess_after: int = PREPROCESS_AFTER):
        ffi, hb, hbs = _harfbuzz()
        blob = hb.hb_blob_create_from_file(os.fsencode(path))
        try:
            if not hb.hb_blob_get_length(blob):
                raise OSError(f"cannot read {path}")
            # the face as read, kept with a face preprocessed from it (HarfBuzz counts references)
            self._source = ffi.gc(hb.hb_face_create(blob, 0), hb.hb_face_destroy)
        finally:
            hb.hb_blob_destroy(blob)  # (the face holds its own reference)
        self.face = self._source
        self.preprocessed = False
        self._subsets_left = preprocess_after

    def _preprocess(self) -> None:
        ffi, hb, hbs = _harfbuzz()
        self.face = ffi.gc(hbs.hb_subset_preprocess(self._source), hb.hb_face_destroy)
        self.preprocessed = True

    def prepare(self) -> None:
        """Preprocess the face now (a process about to write many OFDs)."""
        if not self.preprocessed:
            self._preprocess()

    def subset(self, unicodes: set[int], glyphs: set[int]) -> bytes:
        """The face with only these glyphs (and .notdef), and ``cmap`` entries for these characters."""
        ffi, hb, hbs = _harfbuzz()
        if not self.preprocessed:
            self._subsets_left -= 1
            if self._subsets_left < 0:
                self._preprocess()
        plan = ffi.gc(hbs.hb_subset_input_create_or_fail(), hbs.hb_subset_input_destroy)
        if plan == ffi.NULL:
            raise MemoryError("HarfBuzz subset input")
        unicode_set = hbs.hb_subset_input_unicode_set(plan)
        for code in sorted(unicodes):
            hb.hb_set_add(unicode_set, code)
        glyph_set = hbs.hb_subset_input_glyph_set(plan)
        for gid in sorted(glyphs):
            hb.hb_set_add(glyph_set, gid)
        drop = hbs.hb_subset_input_set(plan, HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in DROPPED_TABLES:
            hb.hb_set_add(drop, int.from_bytes(tag, "big"))
        hbs.hb_subset_input_set_flags(plan, HB_SUBSET_FLAGS_NO_HINTING)
        face = hbs.hb_subset_or_fail(self.face, plan)
        if face == ffi.NULL:
            raise RuntimeError("HarfBuzz could not subset the face")
        face = ffi.gc(face, hb.hb_face_destroy)
        blob = hb.hb_face_reference_blob(face)
        try:
            length = ffi.new("unsigned int *")
            data = hb.hb_blob_get_data(blob, length)
            return bytes(ffi.buffer(data, length[0]))
        finally:
            hb.hb_blob_destroy(blob)


def character_map(path: str | Path) -> dict[int, int]:
    """A font's character → glyph id map (its best Unicode ``cmap`` subtable, as fontTools'
    ``getBestCmap`` gives it), read by HarfBuzz: ~3 ms for a Fandol face, where fontTools
    takes ~25 ms (tests/test_writer_startup.py: the same maps)."""
    return _read_cmap(path, glyphs=True)


def characters(path: str | Path) -> set[int]:
    """The characters a font maps (``character_map``'s keys, without looking their glyphs up):
    what the PDF writer checks a document's text against."""
    return set(_read_cmap(path, glyphs=False))


def _read_cmap(path: str | Path, glyphs: bool) -> dict[int, int] | list[int]:
    ffi, hb, _ = _harfbuzz()
    blob = hb.hb_blob_create_from_file(os.fsencode(path))
    face = hb.hb_face_create(blob, 0)
    font = hb.hb_font_create(face)
    found = hb.hb_set_create()
    try:
        if not hb.hb_blob_get_length(blob):
            raise OSError(f"cannot read {path}")
        hb.hb_face_collect_unicodes(face, found)
        size = hb.hb_set_get_population(found)
        codes = ffi.new("hb_codepoint_t[]", size)
        size = hb.hb_set_next_many(found, 0xFFFFFFFF, codes, size)  # from the start
        if not glyphs:
            return ffi.unpack(codes, size)
        ids = ffi.new("hb_codepoint_t[]", size)
        if hb.hb_font_get_nominal_glyphs(font, size, codes, 4, ids, 4) != size:
            raise ValueError(f"{path}: a character without its glyph")
        return dict(zip(ffi.unpack(codes, size), ffi.unpack(ids, size)))
    finally:
        hb.hb_set_destroy(found)
        hb.hb_font_destroy(font)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


@functools.lru_cache(maxsize=None)
def face(source: str) -> Face:
    """The TrueType face converted from this source font (per process)."""
    return Face(truetype_path(Path(source)), 0 if _writes_many() else PREPROCESS_AFTER)


def _writes_many() -> bool:
    """Whether this process is a build's worker (forked by multiprocessing: it renders its share
    of the build's documents)."""
    found = sys.modules.get("multiprocessing")  # (not imported: not a worker)
    return found is not None and found.parent_process() is not None
