"""Chinese for click's own messages, through the hook click provides.

click asks ``gettext`` (default domain) for every message of its own: usage errors, missing
options, type and range errors, help boilerplate. ``install()`` binds our catalogue
(``pipeline/locale/zh_CN/LC_MESSAGES/messages.po``, compiled to ``messages.mo`` by
``scripts/compile_messages.py``) and selects Chinese, so those messages read in Chinese
whatever the machine's locale. click itself is not touched.
"""

from __future__ import annotations

import ast
import gettext
import os
import struct
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGE = "zh_CN"
DOMAIN = "messages"  # the domain click's gettext calls use
CATALOGUE = LOCALE_DIR / LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po"


def install() -> None:
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    # gettext picks the language from the environment on each lookup
    os.environ["LANGUAGE"] = LANGUAGE


# --- .po → .mo (GNU gettext's binary format), so no gettext tools are needed --------------------


def parse_po(text: str) -> dict[str, str]:
    """msgid (plural forms joined by NUL) → msgstr (plural forms joined by NUL)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = None

    def flush() -> None:
        if "msgid" in current:
            msgid = "".join(current["msgid"])
            if "msgid_plural" in current:
                msgid += "\0" + "".join(current["msgid_plural"])
                forms = sorted(k for k in current if k.startswith("msgstr["))
                msgstr = "\0".join("".join(current[k]) for k in forms)
            else:
                msgstr = "".join(current.get("msgstr", []))
            entries[msgid] = msgstr

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            current[key].append(ast.literal_eval(line))
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid":
            flush()
            current = {}
        key = word
        current[key] = [ast.literal_eval(rest.strip())]
    flush()
    return entries


def compile_mo(entries: dict[str, str]) -> bytes:
    ids = sorted(entries)
    keys = [k.encode("utf-8") for k in ids]
    values = [entries[k].encode("utf-8") for k in ids]
    start = 7 * 4 + 16 * len(ids)
    key_offsets, offset = [], start
    for k in keys:
        key_offsets.append((len(k), offset))
        offset += len(k) + 1
    value_offsets = []
    for v in values:
        value_offsets.append((len(v), offset))
        offset += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, len(ids), 7 * 4, 7 * 4 + 8 * len(ids), 0, 0)
    tables = b"".join(struct.pack("<2I", *o) for o in key_offsets + value_offsets)
    data = b"".join(k + b"\0" for k in keys) + b"".join(v + b"\0" for v in values)
    return header + tables + data


def compiled_catalogue() -> bytes:
    return compile_mo(parse_po(CATALOGUE.read_text(encoding="utf-8")))
