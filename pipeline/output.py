"""Writing files: safe names, atomic writes, reproducible zips, and ``manifest.json``."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, Problem

# A fixed timestamp for every zip entry: the same inputs give the same bytes.
ZIP_EPOCH = (2000, 1, 1, 0, 0, 0)
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')

KIND_DIRS = {"notice": "通知", "checklist": "考评表", "report": "考评报告", "letter": "等次函",
             "summary": "通报"}


def normalize_zip(data: bytes) -> bytes:
    """Rewrite an OOXML package with sorted entries, fixed timestamps and fixed permissions."""
    return write_package(read_package(data))


def read_package(data: bytes) -> dict[str, bytes]:
    """An OOXML package's parts by name."""
    src = zipfile.ZipFile(io.BytesIO(data))
    return {name: src.read(name) for name in src.namelist()}


def write_package(parts: dict[str, bytes]) -> bytes:
    """An OOXML package of these parts, normalized: [Content_Types].xml first, as Office writes
    it, the rest sorted; fixed timestamps and permissions."""
    order = sorted(parts, key=lambda n: (n != "[Content_Types].xml", n))
    return write_zip([(name, parts[name]) for name in order])


# Parts that are the same in every document (a DOCX's styles.xml and stylesWithEffects.xml:
# 0.8 MB, 3 ms to compress) are compressed once per process: deflate gives the same bytes for
# the same input, so the package is byte for byte what compressing each time writes.
_DEFLATED: dict[bytes, bytes] = {}
_DEFLATE_KEPT_FROM = 32 * 1024  # smaller parts are compressed each time (most differ anyway)
_DEFLATE_KEPT_MAX = 16


def _deflate(data: bytes) -> bytes:
    kept = _DEFLATED.get(data) if len(data) >= _DEFLATE_KEPT_FROM else None
    if kept is None:
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        kept = compressor.compress(data) + compressor.flush()
        if len(data) >= _DEFLATE_KEPT_FROM:
            if len(_DEFLATED) >= _DEFLATE_KEPT_MAX:
                _DEFLATED.pop(next(iter(_DEFLATED)))
            _DEFLATED[data] = kept
    return kept


class Packed:
    """A zip entry's bytes as they go into a package (deflated or stored), with the CRC and size
    of the bytes they stand for: made once for a part many packages share, copied in as is."""

    __slots__ = ("data", "crc", "size", "method")

    def __init__(self, data: bytes, crc: int, size: int, method: int = zipfile.ZIP_DEFLATED):
        self.data, self.crc, self.size, self.method = data, crc, size, method


def write_zip(entries: list[tuple[str, "bytes | Packed"]]) -> bytes:
    """A zip of these entries, dated ZIP_EPOCH, mode 0644, "made on" MS-DOS: for bytes, deflated,
    the bytes ``zipfile`` writes for them (tests compare the two), with the compression of parts
    that recur kept (``_deflate``); a ``Packed`` entry goes in as it is packed."""
    year, month, day, hour, minute, second = ZIP_EPOCH
    dosdate = (year - 1980) << 9 | month << 5 | day
    dostime = hour << 11 | minute << 5 | (second // 2)
    out, central = [], []
    offset = 0
    for name, content in entries:
        entry = content if isinstance(content, Packed) else \
            Packed(_deflate(content), zlib.crc32(content), len(content))
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), 0x800
        header = struct.pack("<4s2B4HL2L2H", b"PK\003\004", 20, 0, flags, entry.method,
                             dostime, dosdate, entry.crc, len(entry.data), entry.size, len(encoded), 0)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\001\002", 20, 0, 20, 0, flags,
                                   entry.method, dostime, dosdate, entry.crc, len(entry.data), entry.size,
                                   len(encoded), 0, 0, 0, 0, 0o644 << 16, offset) + encoded)
        out += [header, encoded, entry.data]
        offset += len(header) + len(encoded) + len(entry.data)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\005\006", 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join(out) + directory + end


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
        data = {"kind": self.kind, "format": self.format, "path": self.path, "level": self.level,
                "region": self.region, "pages": self.pages, "sha256": self.sha256, "rating": self.rating,
                "fingerprint": self.fingerprint}  # asdict's order, without its deep copies
        if self.kind not in ("report", "letter"):
            data.pop("rating")
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        fields = {k: data.get(k) for k in ("kind", "format", "path", "level", "region", "pages",
                                            "sha256", "rating", "fingerprint")}
        return cls(**fields)


def stat_key(st: os.stat_result) -> list[int]:
    """What tells a file's content changed without reading it: size, modification and change
    times (the change time cannot be set back by a program), inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class OutputDir:
    """``--out``: where documents land, and the manifest that lists them.

    ``.cache/files.json`` remembers, for files whose content this program wrote or read, the
    sha256 with the file's stat at that moment: a later build trusts a file whose stat is still
    exactly that without reading it again (as make and git do); any write changes the stat."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._root_resolved: Path | None = None
        self._dirs: dict[Path, bool] = {}  # a folder of the output → whether it really is inside
        self._known: dict[str, list] | None = None  # .cache/files.json: path → stat key + [sha256]
        self._seen: dict[str, list] = {}  # read or written in this run
        self._notes: dict[str, dict] = {}  # .cache/<name>.json as read or written (notes)
        # a document's path once worked out: (kind, name, format, sub) → the path, whether its
        # folder is inside the output folder, and the path relative to it (``locate``)
        self._paths: dict[tuple, tuple[Path, bool, str]] = {}
        # manifest.json as last read, with its stat then: read once while it stays that file
        self._manifest_read: tuple[list[int], object] | None = None

    @property
    def _known_path(self) -> Path:
        return self.root / ".cache" / "files.json"

    def _known_files(self) -> dict[str, list]:
        if self._known is None:
            try:
                data = json.loads(self._known_path.read_text(encoding="utf-8"))
                self._known = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._known = {}
        return self._known

    def notes(self, name: str) -> dict:
        """A build's note for the next build's planning, ``.cache/<name>.json``: ``views``, what
        it kept of the views it planned (jobs.py ``_job``: what each view is made from → its
        digest and the form it fills); ``fonts``, the font files' hashes (fingerprint.py). {}
        when there is none or it cannot be read (what it would tell is then worked out)."""
        try:
            data = json.loads((self.root / ".cache" / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self._notes[name] = data if isinstance(data, dict) else {}
        return dict(self._notes[name])

    def keep_notes(self, name: str, data: dict) -> None:
        """Write a note for the next build (only when it changed; a folder that cannot take
        the note goes without it)."""
        if data == self._notes.get(name):
            return
        try:
            atomic_write(self.root / ".cache" / f"{name}.json",
                         json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        except OSError:
            return
        self._notes[name] = data

    def remove_stale_temporaries(self) -> None:
        """Temporary files an interrupted run left behind (ours by their prefix)."""
        if self.root.is_dir():
            for stale in self.root.rglob(".tmp-*"):
                if stale.is_file():
                    stale.unlink()

    def path_for(self, kind: str, name: str, fmt: str, sub: str | None = None) -> Path:
        return self.locate(kind, name, fmt, sub)[0]

    def locate(self, kind: str, name: str, fmt: str, sub: str | None = None) -> tuple[Path, str]:
        """``path_for``'s path, and that path relative to the output folder (POSIX). The names
        are checked and the folder found inside the output folder once per document; whether
        the file itself is a link, at every call."""
        key = (kind, name, fmt, sub)
        found = self._paths.get(key)
        if found is None:
            parts = [KIND_DIRS[kind]] + ([safe_name(sub)] if sub else []) + [f"{safe_name(name)}.{fmt}"]
            path = self.root.joinpath(*parts)
            if self._root_resolved is None:
                self._root_resolved = self.root.resolve()
            root = self._root_resolved
            # the folders are resolved, and found inside the output folder or not, once each; the
            # file itself is resolved too when it is a link
            parent = path.parent
            inside = self._dirs.get(parent)
            if inside is None:
                folder = parent.resolve()
                inside = self._dirs[parent] = root == folder or root in folder.parents
            found = self._paths[key] = (path, inside, "/".join(parts))
        path, inside, relative = found
        if not (inside and not os.path.islink(path)) and self._root_resolved not in path.resolve().parents:
            raise DataError(Problem("（输出）", None, f"输出路径越出了输出目录：{path}"))
        return path, relative

    def write(self, path: Path, data: bytes, kind: str, fmt: str, level: str | None = None,
              region: str | None = None, pages: int | None = None,
              rating: str | None = None, fingerprint: str | None = None) -> Entry:
        atomic_write(path, data)
        return Entry(kind, fmt, path.relative_to(self.root).as_posix(), level, region, pages,
                     hashlib.sha256(data).hexdigest(), rating, fingerprint)

    def _manifest_data(self):
        """manifest.json parsed (OSError, ValueError when it cannot be read or is no JSON); read
        again only when its stat changed since it was last read (a build reads it to withdraw
        files, to plan and to update it)."""
        path = self.root / "manifest.json"
        key = stat_key(os.stat(path))
        if self._manifest_read is None or self._manifest_read[0] != key:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._manifest_read = (key, data)
        return self._manifest_read[1]

    def _manifest_items(self) -> list[dict]:
        """The recorded entries (each its own copy), in the manifest's order."""
        return [dict(item) for item in self._manifest_data().get("documents", [])
                if isinstance(item, dict) and isinstance(item.get("path"), str)]

    def manifest(self) -> dict[str, dict]:
        """The recorded entries by path ({} when there is no readable manifest)."""
        try:
            items = self._manifest_items()
        except (OSError, ValueError, AttributeError):
            return {}
        return {item["path"]: item for item in items}

    def unchanged(self, path: Path, sha256: str, relative: str | None = None) -> bool:
        """The file is there and is still what was recorded: its stat as when this program last
        wrote or read it with that content, or else its bytes read and hashed. ``relative``:
        the path relative to the output folder, when known (``locate``)."""
        try:
            key = stat_key(os.stat(path))
            if relative is None:
                relative = path.relative_to(self.root).as_posix()
            if self._known_files().get(relative) == key + [sha256]:
                return True
            with open(path, "rb") as handle:
                if hashlib.file_digest(handle, "sha256").hexdigest() != sha256:
                    return False
        except (OSError, ValueError):
            return False
        self._seen[relative] = key + [sha256]
        return True

    def _remember(self, entries: list[Entry], kept: set[str]) -> None:
        """Note the stat of the files written (their sha256 known) and of those read in this run,
        for the paths the manifest keeps; a folder that cannot take the note goes without it."""
        known = {p: v for p, v in self._known_files().items() if p in kept}
        known.update({p: v for p, v in self._seen.items() if p in kept})
        root = str(self.root)
        for entry in entries:
            try:
                known[entry.path] = stat_key(os.stat(os.path.join(root, entry.path))) + [entry.sha256]
            except OSError:
                known.pop(entry.path, None)
        if known != self._known_files():
            try:
                atomic_write(self._known_path, json.dumps(known, sort_keys=True).encode("utf-8"))
            except OSError:
                return
            self._known = known

    def update_manifest(self, entries: list[Entry]) -> None:
        """Merge new entries by path; drop entries whose files are gone; sorted, stable."""
        manifest = self.root / "manifest.json"
        documents: dict[str, dict] = {}
        if manifest.exists():
            try:
                for item in self._manifest_items():
                    documents[item["path"]] = item
            except (ValueError, AttributeError):
                documents = {}  # a broken manifest is rebuilt from this run
        for entry in entries:
            documents[entry.path] = entry.to_json()
        root = str(self.root)
        kept = [documents[p] for p in sorted(documents) if _is_file(os.path.join(root, p))]
        atomic_write(manifest, manifest_text(kept).encode("utf-8"))
        self._remember(entries, {d["path"] for d in kept if d.get("sha256")})


def _is_file(path: str) -> bool:
    """``Path(path).is_file()``: False for a path that is not there (or cannot be, as pathlib
    decides), any other error raised."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            raise
        return False
    except ValueError:
        return False


_FLAT = frozenset({str, int, float, bool, type(None)})


def manifest_text(documents: list[dict]) -> str:
    """manifest.json's text: ``json.dumps({"documents": documents}, ensure_ascii=False,
    indent=2)`` and a line end, byte for byte. With an indent json.dumps runs its pure-Python
    encoder (7 ms for a province's 718 entries); entries as a build records them (not empty,
    every value a string, number, boolean or null) are written by its C encoder instead, each
    field on its own line by the separator, then indented: a line break inside a value is
    written escaped, so the text between entries is found by the one that has real ones."""
    if documents and all(item and all(type(v) in _FLAT for v in item.values())
                         and all(type(k) is str for k in item) for item in documents):
        text = json.dumps(documents, ensure_ascii=False, separators=(",\n      ", ": "))
        body = text[2:-2].replace("},\n      {", "\n    },\n    {\n      ")
        return '{\n  "documents": [\n    {\n      ' + body + "\n    }\n  ]\n}\n"
    return json.dumps({"documents": documents}, ensure_ascii=False, indent=2) + "\n"
