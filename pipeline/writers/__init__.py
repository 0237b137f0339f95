"""The writers: a view to DOCX, PDF, OFD, XLSX."""

from __future__ import annotations

import re
import sys


def import_weasyprint() -> None:
    """Import WeasyPrint's library bindings, without the helper processes its library search
    starts. WeasyPrint tries each library under several names (Windows' and macOS' too) and
    cffi asks ``ctypes.util.find_library`` about each name that fails, which on Linux runs
    ``ldconfig -p``, then gcc and ld, for every one of them (about 0.2 s CPU per process that
    imports it). Here the search reads one ``ldconfig -p`` listing for all of them and does not
    go on to gcc and ld; WeasyPrint's list holds each library's exact Linux name, which loads
    directly."""
    if "weasyprint.text.ffi" in sys.modules or not sys.platform.startswith("linux"):
        _sized_arrays_unparsed()
        return
    import ctypes.util
    import os
    import struct
    import subprocess

    original = ctypes.util.find_library
    listing: list[bytes] = []

    def find_library(name: str) -> str | None:
        if not listing:
            try:
                listing.append(subprocess.run(["/sbin/ldconfig", "-p"], stdin=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                              env={"LC_ALL": "C", "LANG": "C"}).stdout)
            except OSError:
                return original(name)
        # the pattern ctypes.util uses on the same listing
        machine = os.uname().machine + ("-32" if struct.calcsize("l") == 4 else "-64")
        abi = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit", "sparc64-64": "libc6,64bit",
               "s390x-64": "libc6,64bit", "ia64-64": "libc6,IA-64"}.get(machine, "libc6")
        found = re.search(os.fsencode(r"\s+(lib%s\.[^\s]+)\s+\(%s" % (re.escape(name), abi)), listing[0])
        return os.fsdecode(found.group(1)) if found else None

    ctypes.util.find_library = find_library
    try:
        import weasyprint.text.ffi  # noqa: F401
    finally:
        ctypes.util.find_library = original
    _sized_arrays_unparsed()


_SIZED_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_ ]*?) ?\[([0-9]+)\]")


class _ParsedTypes(dict):
    """cffi's cache of the C types it has parsed from strings, by the string, which also makes a
    sized array's type (``"hb_codepoint_t[222]"``) from its item's pointer type, without parsing.

    WeasyPrint asks for an array of the exact length it fills (``ffi.new(f"hb_codepoint_t[{n}]",
    …)``, each font's glyphs at each PDF it writes) and cffi parses every new length's string
    again (pycparser, with a declaration for each of WeasyPrint's ~500 C names: ~2 ms each; 14 of
    the 25 types parsed in one region's change, more with every new length in a build's worker).
    The type made here is the very one the parse gives (cffi keeps one object per C type:
    tests/test_writer_startup.py)."""

    def __init__(self, ffi, parsed: dict):
        super().__init__(parsed)
        self.ffi = ffi

    def __missing__(self, key):
        found = _SIZED_ARRAY.fullmatch(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(key)
        try:
            pointer = self.ffi.typeof(found.group(1) + " *")
            made = self.ffi._backend.new_array_type(pointer, int(found.group(2)))
        except Exception:  # (a type cffi's parser refuses: it says why)
            raise KeyError(key) from None
        self[key] = (made, False)  # (the type, "is a function type")
        return self[key]


# The C types WeasyPrint (and pdf.py's font configuration) name in strings while making any PDF,
# and the item pointer types of its sized arrays: parsed at once (one pycparser run, ~2 ms, not
# ~2 ms each).
USED_TYPES = ("PangoFcFontMap *", "PangoRectangle *", "PangoLogAttr[]", "char[]", "unsigned int *",
              "FcResult *", "FcChar8 **", "hb_tag_t *", "hb_codepoint_t *", "char *")


def _sized_arrays_unparsed() -> None:
    """Install _ParsedTypes in WeasyPrint's cffi instance, and parse the types it uses in one run
    (once; not when cffi has changed inside)."""
    ffi = getattr(sys.modules.get("weasyprint.text.ffi"), "ffi", None)
    parsed = getattr(ffi, "_parsed_types", None)
    if type(parsed) is dict and hasattr(getattr(ffi, "_backend", None), "new_array_type"):
        ffi._parsed_types = _ParsedTypes(ffi, parsed)
        _parse_together(ffi, [cdecl for cdecl in USED_TYPES if cdecl not in parsed])


def _parse_together(ffi, cdecls: list[str]) -> None:
    """These C type strings parsed in one run, as ``ffi.typeof`` parses one: each as a parameter
    of a function declared for the purpose (cffi's own way), its type noted in cffi's cache. The
    parse is the part that costs (a declaration for each C name the instance knows); the types
    are the ones parsing each alone gives (tests/test_writer_startup.py). Any failure (a name this
    WeasyPrint does not declare, cffi changed inside): each is parsed alone when first used."""
    if not cdecls:
        return
    try:
        parser = ffi._parser
        with ffi._lock:
            ast = parser._parse("void __dummy(\n%s\n);" % ",\n".join(cdecls))[0]
            params = ast.ext[-1].type.args.params
            if len(params) != len(cdecls):
                return
            found = {}
            for cdecl, param in zip(cdecls, params):
                kind = parser._get_type_and_quals(param.type)[0]
                function = kind.is_raw_function
                if function:
                    kind = kind.as_function_pointer()
                found[cdecl] = (ffi._get_cached_btype(kind), function)
            ffi._parsed_types.update(found)
    except Exception:
        return
