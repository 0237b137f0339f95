"""One worksheet of an XLSX package read once, streaming, keeping only the cells asked for.

A returned checklist may declare any dimensions (a value at XFD1048576 makes openpyxl create
every cell up to that corner, gigabytes for a 15 KB file). Here the package's XML parts are
fed to expat in chunks straight from the zip; only the cells inside a given box are kept, the
shared strings and styles those cells use are looked up afterwards, and every value outside the
box is only counted (its first few addresses kept for the message). Memory and time grow with
the box and the file's size, never with its declared dimensions. No DTD is accepted (no
entities, no external references).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string, get_column_letter

CHUNK = 64 * 1024
# Unpacked sizes of the parts read. A filled checklist's sheet and strings are a few hundred KB
# (LibreOffice's or WPS's too); these bounds keep the worst file within a second or so of parsing.
MAX_XML_PART = 6 * 1024 * 1024  # the sheet's XML, the shared strings
MAX_STYLES_PART = 2 * 1024 * 1024
MAX_SMALL_PART = 1024 * 1024  # workbook.xml and relationship parts
# Built-in number formats whose codes depend on the locale: in a Chinese Excel or WPS these are
# dates such as yyyy"年"m"月"d"日" (ECMA-376 Part 1, 18.8.30), written by id alone
EAST_ASIAN_DATES = {27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58}
KEEP_OUTSIDE = 20  # addresses of values outside the box kept for the message


class PackageError(Exception):
    """The package is not a readable workbook (the message is the clerk's)."""


@dataclass
class Cell:
    row: int
    column: int
    kind: str = "n"  # the XML's t attribute
    value: str | None = None  # <v> or inline text, as written
    formula: str | None = None  # without the leading =; "" for a shared formula's followers
    style: int = 0
    link: str | None = None  # a hyperlink's target or location

    @property
    def coordinate(self) -> str:
        if not 1 <= self.column <= 18278:  # past any column letters (cells without addresses)
            return f"第 {self.row} 行第 {self.column} 列"
        return f"{get_column_letter(self.column)}{self.row}"


@dataclass
class Sheet:
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # (row, column) → cell in the box
    outside: list[str] = field(default_factory=list)  # first addresses of values outside the box
    outside_count: int = 0
    date1904: bool = False

    def text(self, row: int, column: int) -> str:
        cell = self.cells.get((row, column))
        return display(cell, self.date1904) if cell is not None else ""


_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")


def _split_ref(ref: str) -> tuple[int, int] | None:
    match = _REF.match(ref.upper().replace("$", ""))
    if not match:
        return None
    column = column_index_from_string(match.group(1))
    row = int(match.group(2))
    if not (1 <= column <= 16384 and 1 <= row <= 1048576):
        return None
    return row, column


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _attr(attrs: dict, name: str) -> str | None:
    for key, value in attrs.items():
        if _local(key) == name:
            return value
    return None


def _parse(stream, start=None, end=None, text=None) -> None:
    """Feed one XML part to expat in chunks; a DTD (entities, external references) is refused."""
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_dtd(*_args):
        raise PackageError("XML 中含有文档类型定义（DTD），拒绝读取")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.ExternalEntityRefHandler = no_dtd
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    try:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise PackageError("XML 格式错误") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError):
        raise PackageError("XLSX 文件已损坏，无法读取") from None


class Package:
    """The zip, checked; parts opened by name with their unpacked size bounded."""

    def __init__(self, data: bytes, max_bytes: int, max_unpacked: int):
        if len(data) > max_bytes:
            raise PackageError(f"文件过大（{len(data) // 1024} KiB），超过上限 {max_bytes // 1024} KiB")
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise PackageError("这不是 XLSX 工作簿（不是 zip 格式），请用本系统生成的考评表填写")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            raise PackageError("XLSX 文件已损坏，无法打开") from None
        unpacked = sum(info.file_size for info in infos)
        if unpacked > max_unpacked:
            raise PackageError(f"XLSX 解压后过大（{unpacked // 1024 // 1024} MiB），拒绝读取")
        self.sizes = {info.filename: info.file_size for info in infos}

    def has(self, part: str) -> bool:
        return part in self.sizes

    def open(self, part: str, limit: int = MAX_XML_PART):
        if part not in self.sizes:
            raise PackageError(f"缺少 {part}")
        if self.sizes[part] > limit:
            raise PackageError(f"XLSX 中的 {part} 解压后过大（{self.sizes[part] // 1024} KiB，上限 {limit // 1024} KiB），"
                               "不像是本系统的考评表，拒绝读取")
        try:
            return _Bounded(self.zip.open(part), limit)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
            raise PackageError("XLSX 文件已损坏，无法读取") from None

    def relationships(self, part: str) -> dict[str, tuple[str, bool]]:
        """rId → (target part or URL, external) of a part's .rels."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        found: dict[str, tuple[str, bool]] = {}
        if not self.has(rels):
            return found

        def start(tag, attrs):
            if _local(tag) == "Relationship" and attrs.get("Id") and attrs.get("Target") is not None:
                external = attrs.get("TargetMode") == "External"
                target = attrs["Target"]
                if not external:
                    target = (target.lstrip("/") if target.startswith("/")
                              else posixpath.normpath(posixpath.join(folder, target)))
                found[attrs["Id"]] = (target, external)

        with self.open(rels, MAX_SMALL_PART) as stream:
            _parse(stream, start=start)
        return found


class _Bounded:
    """A zip member read with its declared size enforced (a lying header stops here)."""

    def __init__(self, raw, limit: int):
        self.raw, self.left = raw, limit

    def read(self, n: int) -> bytes:
        data = self.raw.read(n)
        self.left -= len(data)
        if self.left < 0:
            raise PackageError("XLSX 中的部件解压后超出声明大小，拒绝读取")
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.raw.close()


def sheet_part(package: Package, sheet_name: str) -> tuple[str | None, list[str], bool]:
    """The part of the sheet named, the names of all sheets, and the workbook's 1904 flag."""
    names: list[tuple[str, str]] = []
    flags = {"date1904": False}

    def start(tag, attrs):
        local = _local(tag)
        if local == "sheet":
            names.append((attrs.get("name", ""), _attr(attrs, "id") or ""))
        elif local == "workbookPr":
            flags["date1904"] = attrs.get("date1904", "0") in ("1", "true")

    with package.open("xl/workbook.xml", MAX_SMALL_PART) as stream:
        _parse(stream, start=start)
    rels = package.relationships("xl/workbook.xml")
    part = None
    for name, rid in names:
        if name == sheet_name and rid in rels and not rels[rid][1]:
            part = rels[rid][0]
    return part, [n for n, _ in names], flags["date1904"]


def read_sheet(package: Package, part: str, rows: int, columns: int, date1904: bool = False) -> Sheet:
    """The cells of rows 1..``rows`` and columns 1..``columns`` (the box) with their text,
    formulas, links and number formats; values outside the box counted and named."""
    sheet = Sheet(date1904=date1904)
    state = {"row": 0, "col": 0, "cell": None, "into": None, "buffer": [], "phonetic": 0}
    shared: dict[int, list[Cell]] = {}
    links: list[tuple[str, str | None, str | None]] = []

    def start(tag, attrs):
        local = _local(tag)
        if local == "row":
            r = attrs.get("r")
            state["row"] = int(r) if r and r.isdigit() else state["row"] + 1
            state["col"] = 0
        elif local == "c":
            ref = _split_ref(attrs.get("r", "")) if attrs.get("r") else None
            if ref is None:
                ref = (state["row"], state["col"] + 1)
            state["row"], state["col"] = ref
            style = attrs.get("s", "0")
            state["cell"] = Cell(ref[0], ref[1], attrs.get("t", "n"), None, None,
                                 int(style) if style.isdigit() else 0)
        elif local in ("v", "f", "t") and state["cell"] is not None:
            if local == "t" and state["phonetic"]:
                return
            state["into"] = local
            state["buffer"] = []
            if local == "f" and state["cell"].formula is None:
                state["cell"].formula = ""
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "hyperlink":
            links.append((attrs.get("ref", ""), _attr(attrs, "id"), attrs.get("location")))

    def text(data):
        if state["into"] is not None:
            state["buffer"].append(data)

    def end(tag):
        local = _local(tag)
        cell = state["cell"]
        if local in ("v", "f", "t") and state["into"] == local and cell is not None:
            value = "".join(state["buffer"])
            if local == "f":
                cell.formula = value
            elif local == "v":
                cell.value = value
            else:  # inline string runs
                cell.value = (cell.value or "") + value
            state["into"] = None
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "c" and cell is not None:
            state["cell"] = None
            has_value = (cell.value not in (None, "")) or cell.formula is not None
            if cell.row <= rows and cell.column <= columns:
                sheet.cells[(cell.row, cell.column)] = cell
                if cell.kind == "s" and cell.value and cell.value.strip().isdigit():
                    shared.setdefault(int(cell.value), []).append(cell)
            elif has_value:
                sheet.outside_count += 1
                if len(sheet.outside) < KEEP_OUTSIDE:
                    sheet.outside.append(cell.coordinate)

    with package.open(part) as stream:
        _parse(stream, start, end, text)
    if shared:
        _resolve_shared(package, shared)
    _resolve_links(package, part, sheet, links)
    _resolve_formats(package, sheet)
    return sheet


def _resolve_shared(package: Package, wanted: dict[int, list[Cell]]) -> None:
    """The shared strings the kept cells use (the others are skipped as they stream by)."""
    part = "xl/sharedStrings.xml"
    for target, external in package.relationships("xl/workbook.xml").values():
        if not external and target.endswith("sharedStrings.xml"):
            part = target
    if not package.has(part):
        return
    state = {"index": -1, "keep": False, "into": False, "phonetic": 0, "buffer": []}

    def start(tag, attrs):
        local = _local(tag)
        if local == "si":
            state["index"] += 1
            state["keep"] = state["index"] in wanted
            state["buffer"] = []
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "t" and state["keep"] and not state["phonetic"]:
            state["into"] = True

    def text(data):
        if state["into"]:
            state["buffer"].append(data)

    def end(tag):
        local = _local(tag)
        if local == "t":
            state["into"] = False
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "si" and state["keep"]:
            value = "".join(state["buffer"])
            for cell in wanted[state["index"]]:
                cell.value, cell.kind = value, "str"
            state["keep"] = False

    with package.open(part) as stream:
        _parse(stream, start, end, text)
    for cells in wanted.values():  # an index past the table: no text
        for cell in cells:
            if cell.kind == "s":
                cell.value, cell.kind = "", "str"


def _resolve_links(package: Package, part: str, sheet: Sheet, links) -> None:
    if not links:
        return
    rels = package.relationships(part)
    for ref, rid, location in links[:10000]:
        target = rels[rid][0] if rid in rels else location
        if not target:
            continue
        corners = [_split_ref(x) for x in ref.split(":")]
        if not corners or None in corners:
            continue
        (r1, c1), (r2, c2) = corners[0], corners[-1]
        for key, cell in sheet.cells.items():
            if r1 <= key[0] <= r2 and c1 <= key[1] <= c2:
                cell.link = target


def _resolve_formats(package: Package, sheet: Sheet) -> None:
    """Which kept numbers are dates: the number formats of the styles they use."""
    styles = {c.style for c in sheet.cells.values() if c.kind == "n" and c.value and c.style}
    if not styles or not package.has("xl/styles.xml"):
        return
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    formats: dict[int, str] = {}
    state = {"in_xfs": False, "index": -1}
    used: dict[int, int] = {}

    def start(tag, attrs):
        local = _local(tag)
        if local == "numFmt" and attrs.get("numFmtId", "").isdigit():
            formats[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            state["in_xfs"] = True
        elif local == "xf" and state["in_xfs"]:
            state["index"] += 1
            if state["index"] in styles and attrs.get("numFmtId", "0").isdigit():
                used[state["index"]] = int(attrs.get("numFmtId", "0"))

    def end(tag):
        if _local(tag) == "cellXfs":
            state["in_xfs"] = False

    with package.open("xl/styles.xml", MAX_STYLES_PART) as stream:
        _parse(stream, start, end)
    for cell in sheet.cells.values():
        if cell.kind == "n" and cell.style in used:
            number = used[cell.style]
            code = formats.get(number, BUILTIN_FORMATS.get(number, ""))
            if (code and is_date_format(code)) or (not code and number in EAST_ASIAN_DATES):
                cell.kind = "date"


def display(cell: Cell, date1904: bool = False) -> str:
    """The cell's value as text, as the clerk sees it (a date as 2026年12月1日)."""
    value = cell.value
    if value is None or value == "":
        return ""
    if cell.kind == "b":
        return "TRUE" if value.strip() in ("1", "true") else "FALSE"
    if cell.kind == "date" or cell.kind == "d":
        import datetime as dt

        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
        try:
            when = (dt.datetime.fromisoformat(value) if cell.kind == "d" else
                    from_excel(float(value), CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900))
        except (ValueError, OverflowError, TypeError):
            return value.strip()
        if isinstance(when, dt.datetime):
            return f"{when.year}年{when.month}月{when.day}日"
        return value.strip()
    if cell.kind == "n":
        try:
            number = float(value)
        except ValueError:
            return value.strip()
        if number.is_integer() and abs(number) < 1e16:
            return str(int(number))
        return value.strip()
    return value.strip()
