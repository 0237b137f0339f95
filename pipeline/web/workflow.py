"""A region's return online (issue #17): its state (未开始 / 填报中 / 已提交 / 已退回 / 已考评), the
year's deadlines, its 佐证材料 files, and the reasons for final ratings that differ from the
self-ratings. Ratings themselves stay in the store's one history per region.

Evidence files are checked by their content (never by name), stored content-addressed under the
data folder (``evidence/ab/abcdef…``, mode 600), never executed or shown in the page: they are
only ever sent as downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import zipfile
from pathlib import Path

SCHEMA = """
    CREATE TABLE returns (
        year INTEGER NOT NULL,
        region TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('填报中', '已提交', '已退回', '已考评')),
        reason TEXT NOT NULL DEFAULT '',
        changed_at TEXT NOT NULL,
        reopened INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (year, region)
    );
    CREATE TABLE evidence (
        id INTEGER PRIMARY KEY,
        year INTEGER NOT NULL,
        region TEXT NOT NULL,
        task TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        filename TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        uploaded_at TEXT NOT NULL,
        account TEXT NOT NULL,
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX evidence_by_region ON evidence(year, region);
    CREATE TABLE final_reasons (
        year INTEGER NOT NULL,
        region TEXT NOT NULL,
        task TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (year, region, task)
    );
    CREATE TABLE deadlines (
        year INTEGER PRIMARY KEY,
        self_due TEXT,
        review_due TEXT
    )
"""

STATUSES = ("未开始", "填报中", "已提交", "已退回", "已考评")
EDITABLE = ("未开始", "填报中", "已退回")
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024  # one file
MAX_FILES_PER_TASK = 10
MAX_FILES_PER_REGION = 300
MAX_REASON = 200  # a one-line reason
KIND_NAMES = {"pdf": "PDF", "png": "图片", "jpg": "图片", "docx": "Word 文档", "xlsx": "Excel 工作簿", "ofd": "OFD 版式文件"}
ACCEPTED_TEXT = "PDF、图片（PNG、JPEG）、Word 文档（.docx）、Excel 工作簿（.xlsx）、OFD 版式文件"


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class EvidenceError(ValueError):
    """A file refused, said in Chinese."""


def evidence_kind(data: bytes) -> str | None:
    """What a file is, by its content: pdf, png, jpg, docx, xlsx, ofd, or None (refused). Office
    files with macros are refused."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    lowered = {n.lower(): n for n in names}
    if any(n.endswith("vbaproject.bin") for n in lowered):
        return None
    if "ofd.xml" in lowered:
        return "ofd"
    types = lowered.get("[content_types].xml")
    if types is None or archive.getinfo(types).file_size > 1_000_000:
        return None
    text = archive.read(types)
    if b"wordprocessingml.document.main+xml" in text:
        return "docx"
    if b"spreadsheetml.sheet.main+xml" in text:
        return "xlsx"
    return None


def display_deadline(stamp: str | None) -> str:
    if not stamp:
        return ""
    day = dt.date.fromisoformat(stamp[:10])
    return f"{day.year}年{day.month}月{day.day}日"


def days_left(stamp: str | None, today: dt.date | None = None) -> int | None:
    """Days until the deadline's end (its day counts); negative once past; None without one."""
    if not stamp:
        return None
    today = today or dt.date.today()
    return (dt.date.fromisoformat(stamp[:10]) - today).days


class Workflow:
    """The regions' returns of one year, over the store."""

    def __init__(self, store, year: int, data_dir: Path, today=dt.date.today):
        self.store = store
        self.year = int(year)
        self.files = Path(data_dir) / "evidence"
        self.today = today

    # --- deadlines -----------------------------------------------------------------------------
    def deadlines(self) -> dict:
        with self.store.connect() as db:
            row = db.execute("SELECT self_due, review_due FROM deadlines WHERE year = ?", (self.year,)).fetchone()
        return {"self_due": row["self_due"] if row else None, "review_due": row["review_due"] if row else None}

    def set_deadlines(self, self_due: str | None, review_due: str | None) -> dict:
        for value in (self_due, review_due):
            if value:
                dt.date.fromisoformat(value)  # ValueError for the caller to explain
        if self_due and review_due and review_due < self_due:
            raise ValueError("考评截止不能早于自评截止")
        old = self.deadlines()
        with self.store.connect() as db:
            db.execute("INSERT INTO deadlines (year, self_due, review_due) VALUES (?, ?, ?) ON CONFLICT(year)"
                       " DO UPDATE SET self_due = excluded.self_due, review_due = excluded.review_due",
                       (self.year, self_due or None, review_due or None))
        return old

    def self_overdue(self) -> bool:
        due = self.deadlines()["self_due"]
        return bool(due) and days_left(due, self.today()) < 0

    # --- state ---------------------------------------------------------------------------------
    def row(self, region: str) -> dict | None:
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM returns WHERE year = ? AND region = ?", (self.year, region)).fetchone()
        return dict(row) if row else None

    def rows(self) -> dict[str, dict]:
        with self.store.connect() as db:
            return {r["region"]: dict(r) for r in db.execute("SELECT * FROM returns WHERE year = ?", (self.year,))}

    def status(self, region: str, state=None, row=None) -> str:
        """The return's state: as set by the region and the department; for a region whose returns
        came in only through the department's uploads, from its ratings."""
        row = row if row is not None else self.row(region)
        if row:
            return row["status"]
        if state is None or (not state.self_done and not state.final_done):
            return "未开始"
        if state.total and state.final_done == state.total:
            return "已考评"
        return "已提交" if state.self_done == state.total else "填报中"

    def may_edit(self, region: str, state=None) -> tuple[bool, str]:
        """Whether the region may change its return now, and why not."""
        row = self.row(region)
        status = self.status(region, state, row or {})
        if status not in EDITABLE:
            return False, f"本地区的自评已{status[1:] if status.startswith('已') else status}，如需修改请联系省民政厅退回。"
        if self.self_overdue() and not (row and row["reopened"]):
            return False, "自评截止日期已过，如需补交或修改请联系省民政厅重新开放。"
        return True, ""

    def set_status(self, region: str, status: str, reason: str = "", reopened: int | None = None) -> str:
        """The new state; returns the old one."""
        old = self.row(region)
        with self.store.connect() as db:
            db.execute("INSERT INTO returns (year, region, status, reason, changed_at, reopened) VALUES (?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT(year, region) DO UPDATE SET status = excluded.status, reason = excluded.reason,"
                       " changed_at = excluded.changed_at, reopened = excluded.reopened",
                       (self.year, region, status, reason, now(),
                        reopened if reopened is not None else (old["reopened"] if old else 0)))
        return old["status"] if old else "未开始"

    def reopen(self, region: str) -> None:
        row = self.row(region)
        self.set_status(region, row["status"] if row else "填报中", row["reason"] if row else "", reopened=1)

    # --- final-rating reasons ------------------------------------------------------------------
    def reasons(self, region: str | None = None) -> dict:
        """task → reason for one region, or (region, task) → reason for the year."""
        with self.store.connect() as db:
            if region:
                return {r["task"]: r["reason"] for r in db.execute(
                    "SELECT task, reason FROM final_reasons WHERE year = ? AND region = ?", (self.year, region))}
            return {(r["region"], r["task"]): r["reason"] for r in db.execute(
                "SELECT region, task, reason FROM final_reasons WHERE year = ?", (self.year,))}

    def set_reasons(self, region: str, reasons: dict[str, str]) -> None:
        with self.store.connect() as db:
            for task, reason in reasons.items():
                if reason:
                    db.execute("INSERT INTO final_reasons (year, region, task, reason) VALUES (?, ?, ?, ?)"
                               " ON CONFLICT(year, region, task) DO UPDATE SET reason = excluded.reason",
                               (self.year, region, task, reason))
                else:
                    db.execute("DELETE FROM final_reasons WHERE year = ? AND region = ? AND task = ?",
                               (self.year, region, task))

    # --- evidence ------------------------------------------------------------------------------
    def evidence(self, region: str) -> dict[str, list[dict]]:
        with self.store.connect() as db:
            rows = db.execute("SELECT id, task, filename, kind, size, uploaded_at, account FROM evidence"
                              " WHERE year = ? AND region = ? AND removed = 0 ORDER BY id", (self.year, region))
            out: dict[str, list[dict]] = {}
            for r in rows:
                out.setdefault(r["task"], []).append(dict(r))
        return out

    def add_evidence(self, region: str, task: str, filename: str, data: bytes, account: str) -> dict:
        if not data:
            raise EvidenceError(f"{filename}：文件是空的")
        if len(data) > MAX_EVIDENCE_BYTES:
            # (only the limit's worth and a byte are read: its true size is not known here)
            raise EvidenceError(f"{filename}：文件超过 {MAX_EVIDENCE_BYTES // 1048576} 兆字节，未接收；"
                                "每个文件不超过此数，请压缩或分成几个文件后再上传")
        kind = evidence_kind(data)
        if kind is None:
            raise EvidenceError(f"{filename}：不是可接收的文件类型（按文件内容判断）。只接收{ACCEPTED_TEXT}；"
                                "启用宏的文档不接收")
        existing = self.evidence(region)
        if len(existing.get(task, [])) >= MAX_FILES_PER_TASK:
            raise EvidenceError(f"{filename}：{task} 已有 {MAX_FILES_PER_TASK} 个佐证材料，不能再加；可先删除不需要的")
        if sum(len(v) for v in existing.values()) >= MAX_FILES_PER_REGION:
            raise EvidenceError(f"{filename}：本地区佐证材料已达 {MAX_FILES_PER_REGION} 个上限")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = target.with_name(f".{digest}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        name = filename.replace("\\", "/").rsplit("/", 1)[-1][:120] or "未命名"
        with self.store.connect() as db:
            evidence_id = db.execute(
                "INSERT INTO evidence (year, region, task, sha256, filename, kind, size, uploaded_at, account)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.year, region, task, digest, name, kind, len(data), now(), account)).lastrowid
        return {"id": evidence_id, "filename": name, "kind": kind, "size": len(data), "sha256": digest}

    def remove_evidence(self, region: str, evidence_id: int) -> dict | None:
        """Taken off the return (the stored file stays: the audit log names it)."""
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM evidence WHERE id = ? AND year = ? AND region = ? AND removed = 0",
                             (evidence_id, self.year, region)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE evidence SET removed = 1 WHERE id = ?", (evidence_id,))
        return dict(row)

    def evidence_file(self, region: str, evidence_id: int) -> tuple[dict, Path] | None:
        """One evidence file of this region (of this year), and only of it."""
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM evidence WHERE id = ? AND year = ? AND region = ? AND removed = 0",
                             (evidence_id, self.year, region)).fetchone()
        if row is None:
            return None
        target = self.path(row["sha256"])
        return (dict(row), target) if target.is_file() else None

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(digest)
        return self.files / digest[:2] / digest
