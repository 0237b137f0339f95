"""Writing files: safe names, atomic writes, reproducible zips, and ``manifest.json``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import DataError, Problem

# A fixed timestamp for every zip entry: the same inputs give the same bytes.
ZIP_EPOCH = (2000, 1, 1, 0, 0, 0)
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')

KIND_DIRS = {"notice": "通知", "checklist": "考评表", "report": "考评报告", "letter": "等次函",
             "summary": "通报"}


def normalize_zip(data: bytes) -> bytes:
    """Rewrite an OOXML package with sorted entries, fixed timestamps and fixed permissions."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    names = src.namelist()
    # [Content_Types].xml first, as Office writes it; the rest sorted
    order = sorted(names, key=lambda n: (n != "[Content_Types].xml", n))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in order:
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            dst.writestr(info, src.read(name))
    return out.getvalue()


def safe_name(name: str) -> str:
    """A file name from a region or class name, or a refusal: nothing escapes ``--out``."""
    cleaned = name.strip()
    if (not cleaned or _UNSAFE.search(cleaned) or cleaned in (".", "..")
            or cleaned.startswith(".") or len(cleaned.encode("utf-8")) > 200):
        raise DataError(Problem("（输出）", None,
                                f"名称“{name}”不能用作文件名（含 / \\ : * ? \" < > | 或以点开头），请修改数据"))
    return cleaned


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: the file appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@dataclass
class Entry:
    kind: str
    format: str
    path: str
    level: str | None
    region: str | None
    pages: int | None
    sha256: str
    rating: str | None = None
    fingerprint: str | None = None  # what the file is made from (fingerprint.py)

    def to_json(self) -> dict:
        data = asdict(self)
        if self.kind not in ("report", "letter"):
            data.pop("rating")
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        fields = {k: data.get(k) for k in ("kind", "format", "path", "level", "region", "pages",
                                            "sha256", "rating", "fingerprint")}
        return cls(**fields)


class OutputDir:
    """``--out``: where documents land, and the manifest that lists them."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def remove_stale_temporaries(self) -> None:
        """Temporary files an interrupted run left behind (ours by their prefix)."""
        if self.root.is_dir():
            for stale in self.root.rglob(".tmp-*"):
                if stale.is_file():
                    stale.unlink()

    def path_for(self, kind: str, name: str, fmt: str, sub: str | None = None) -> Path:
        parts = [KIND_DIRS[kind]] + ([safe_name(sub)] if sub else []) + [f"{safe_name(name)}.{fmt}"]
        path = self.root.joinpath(*parts)
        root = self.root.resolve()
        if root not in path.resolve().parents:
            raise DataError(Problem("（输出）", None, f"输出路径越出了输出目录：{path}"))
        return path

    def write(self, path: Path, data: bytes, kind: str, fmt: str, level: str | None = None,
              region: str | None = None, pages: int | None = None,
              rating: str | None = None, fingerprint: str | None = None) -> Entry:
        atomic_write(path, data)
        return Entry(kind, fmt, path.relative_to(self.root).as_posix(), level, region, pages,
                     hashlib.sha256(data).hexdigest(), rating, fingerprint)

    def manifest(self) -> dict[str, dict]:
        """The recorded entries by path ({} when there is no readable manifest)."""
        try:
            items = json.loads((self.root / "manifest.json").read_text(encoding="utf-8")).get("documents", [])
        except (OSError, ValueError, AttributeError):
            return {}
        return {item["path"]: item for item in items
                if isinstance(item, dict) and isinstance(item.get("path"), str)}

    def unchanged(self, path: Path, sha256: str) -> bool:
        """The file is there and is still what was recorded."""
        try:
            with open(path, "rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
        except OSError:
            return False

    def update_manifest(self, entries: list[Entry]) -> None:
        """Merge new entries by path; drop entries whose files are gone; sorted, stable."""
        manifest = self.root / "manifest.json"
        documents: dict[str, dict] = {}
        if manifest.exists():
            try:
                for item in json.loads(manifest.read_text(encoding="utf-8")).get("documents", []):
                    if isinstance(item, dict) and isinstance(item.get("path"), str):
                        documents[item["path"]] = item
            except (ValueError, AttributeError):
                documents = {}  # a broken manifest is rebuilt from this run
        for entry in entries:
            documents[entry.path] = entry.to_json()
        kept = [documents[p] for p in sorted(documents) if (self.root / p).is_file()]
        text = json.dumps({"documents": kept}, ensure_ascii=False, indent=2) + "\n"
        atomic_write(manifest, text.encode("utf-8"))
