"""The writers: a view to DOCX, PDF, OFD, XLSX."""

from __future__ import annotations

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
        return
    import ctypes.util
    import os
    import re
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
