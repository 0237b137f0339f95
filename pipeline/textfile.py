"""Reading clerks' text files safely: size cap, encoding, control characters.

Every loader goes through here, so every file gets the same guards and the same messages.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import DataError, Problem

# Our data files are tens of kilobytes; a cap keeps a stray huge file from eating memory.
MAX_TEXT_BYTES = 4 * 1024 * 1024

# XML 1.0 forbids these; python-docx/lxml raise on them and they never belong in a 公文.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")  # C0, DEL, C1


def display_path(path: Path | str) -> str:
    """The path as the clerk typed it: a message must name the file they gave, not a
    shortened or expanded form of it."""
    return str(path)


def read_bytes(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    name = display_path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(Problem(name, None, "文件不存在，请检查路径")) from None
    except OSError as exc:
        raise DataError(Problem(name, None, f"无法读取文件（{exc.strerror}）")) from None
    if path.is_dir():
        raise DataError(Problem(name, None, "这是一个文件夹，应为文件"))
    if size > max_bytes:
        raise DataError(Problem(
            name, None,
            f"文件过大（{size // 1024} KiB），超过上限 {max_bytes // 1024} KiB，请检查是否选错文件"))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(Problem(name, None, f"无法读取文件（{exc.strerror}）")) from None


def line_of_offset(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def decode_utf8(data: bytes, name: str) -> str:
    """Decode UTF-8 (BOM allowed); reject binary files and other encodings with the line."""
    if b"\x00" in data[:8192]:
        raise DataError(Problem(name, None, "这不是文本文件（含二进制内容），请检查是否选错文件"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(Problem(
            name, line,
            "文件不是 UTF-8 编码，此处有无法识别的字节；请用 UTF-8 编码另存后重试")) from None
    return text


def check_control_characters(text: str, name: str) -> None:
    """Report every line holding a control character (they are invisible to the clerk)."""
    problems = []
    for match in _CONTROL.finditer(text):
        line = line_of_offset(text, match.start())
        code = f"U+{ord(match.group()):04X}"
        problems.append(Problem(name, line, f"含有不可见的控制字符 {code}，请删除后重试"))
    if problems:
        raise DataError(problems)


def read_text(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    name = display_path(path)
    text = decode_utf8(read_bytes(path, max_bytes), name)
    check_control_characters(text, name)
    return text
