"""The clerk's collected returns: an embedded SQLite database in the data folder.

Every uploaded workbook is kept as received (bytes, sha256, file name, time), accepted or not,
with the problems found in it. An accepted workbook, or an edit of the final ratings on the
region's page, becomes a new version of that region's ratings; one version per region is
current, and any earlier one can be made current again. Nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from ..content import Content
from ..errors import DataError, Problem
from ..results import (Record, Results, TaskResult, check_records, check_workbook, read_xlsx_records,
                       workbook_region)

# Forward migrations, in order; the database records how many it has applied.
MIGRATIONS = [
    """
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY,
        filename TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL,
        received_at TEXT NOT NULL,
        region TEXT,
        accepted INTEGER NOT NULL,
        problems TEXT NOT NULL
    );
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        region TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('upload', 'edit')),
        upload_id INTEGER REFERENCES uploads(id),
        created_at TEXT NOT NULL
    );
    CREATE TABLE ratings (
        version_id INTEGER NOT NULL REFERENCES versions(id),
        task TEXT NOT NULL,
        self_rating TEXT NOT NULL DEFAULT '',
        final_rating TEXT NOT NULL DEFAULT '',
        remarks TEXT NOT NULL DEFAULT '',
        place TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (version_id, task)
    );
    CREATE TABLE current (
        region TEXT PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES versions(id)
    );
    CREATE INDEX versions_by_region ON versions(region);
    CREATE INDEX uploads_by_region ON uploads(region);
    """,
]


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


@dataclass(frozen=True)
class UploadOutcome:
    upload_id: int
    filename: str
    region: str | None
    accepted: bool
    problems: list[str]


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one writer at a time in this process; SQLite guards others
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.execute("BEGIN IMMEDIATE")
            for statement in [s for s in script.split(";") if s.strip()]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
            db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    # --- writing ---------------------------------------------------------------------------------
    def add_upload(self, filename: str, data: bytes, content: Content) -> UploadOutcome:
        """Keep the workbook as received; read it with the same code as ``pipeline collect``;
        if it is accepted, its ratings become the region's current version."""
        records: list[Record] = []
        problems: list[Problem] = []
        results = None
        try:
            records = read_xlsx_records(None, content, data=data, name=filename)
            results = check_workbook(records, content, filename)
            if not results.by_region:
                problems = [Problem(filename, None, "工作簿中没有填写任何等次")]
        except DataError as exc:
            problems = exc.problems
        region = records[0].region if records else workbook_region(data, content)
        accepted = not problems
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO uploads (filename, sha256, data, received_at, region, accepted, problems)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (filename, hashlib.sha256(data).hexdigest(), data, now(), region, int(accepted),
                 json.dumps([str(p) for p in problems], ensure_ascii=False)))
            upload_id = cursor.lastrowid
            if accepted:
                rated = results.by_region[region]
                self._new_version(db, region, "upload", upload_id, rated)
            db.execute("COMMIT")
        return UploadOutcome(upload_id, filename, region, accepted, [str(p) for p in problems])

    def _new_version(self, db, region: str, source: str, upload_id: int | None,
                     rated: dict[str, TaskResult]) -> int:
        cursor = db.execute("INSERT INTO versions (region, source, upload_id, created_at) VALUES (?, ?, ?, ?)",
                            (region, source, upload_id, now()))
        version = cursor.lastrowid
        db.executemany(
            "INSERT INTO ratings (version_id, task, self_rating, final_rating, remarks, place)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(version, task, r.self_rating.value if r.self_rating else "",
              r.rating.value if r.rating else "", r.remarks, r.where) for task, r in rated.items()])
        db.execute("INSERT INTO current (region, version_id) VALUES (?, ?) "
                   "ON CONFLICT(region) DO UPDATE SET version_id = excluded.version_id", (region, version))
        return version

    def set_final_ratings(self, region: str, finals: dict[str, str], content: Content) -> int:
        """The department's 考评等次 for a region, entered on its page: checked as a workbook's
        rows are, then saved as a new current version (self-ratings and remarks kept)."""
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            rows = self._rows(db, region)
            records = []
            for task in content.tasks.tasks_for_region(content.region(region)):
                row = rows.get(task.id, {})
                place = Problem("考评等次", f"第 {task.id} 项", "")
                records.append(Record(place, region, task.id, finals.get(task.id, row.get("final_rating", "")),
                                      row.get("self_rating", ""), row.get("remarks", "")))
            try:
                results = check_records(records, content, "（网页）", "网页")
            except DataError:
                db.execute("ROLLBACK")
                raise
            rated = {task: TaskResult(r.rating, r.self_rating, r.remarks, rows.get(task, {}).get("place", ""))
                     for task, r in results.by_region.get(region, {}).items()}
            version = self._new_version(db, region, "edit", None, rated)
            db.execute("COMMIT")
        return version

    def make_current(self, region: str, version_id: int) -> bool:
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            found = db.execute("SELECT 1 FROM versions WHERE id = ? AND region = ?", (version_id, region)).fetchone()
            if found:
                db.execute("INSERT INTO current (region, version_id) VALUES (?, ?) "
                           "ON CONFLICT(region) DO UPDATE SET version_id = excluded.version_id", (region, version_id))
            db.execute("COMMIT")
        return bool(found)

    # --- reading ---------------------------------------------------------------------------------
    def _rows(self, db, region: str) -> dict[str, dict]:
        cur = db.execute("SELECT version_id FROM current WHERE region = ?", (region,)).fetchone()
        if cur is None:
            return {}
        return {r["task"]: dict(r) for r in db.execute(
            "SELECT task, self_rating, final_rating, remarks, place FROM ratings WHERE version_id = ?",
            (cur["version_id"],))}

    def rows(self, region: str) -> dict[str, dict]:
        with self._connect() as db:
            return self._rows(db, region)

    def results(self, content: Content) -> Results:
        """The current versions as the results ``collect`` makes from the same workbooks."""
        from ..model import Rating

        results = Results("（网页汇总）", "XLSX")
        with self._connect() as db:
            for row in db.execute(
                    "SELECT c.region, r.task, r.self_rating, r.final_rating, r.remarks, r.place, u.filename"
                    " FROM current c JOIN versions v ON v.id = c.version_id"
                    " JOIN ratings r ON r.version_id = v.id LEFT JOIN uploads u ON u.id = v.upload_id"):
                if content.region(row["region"]) is None:
                    continue
                results.by_region.setdefault(row["region"], {})[row["task"]] = TaskResult(
                    Rating(row["final_rating"]) if row["final_rating"] else None,
                    Rating(row["self_rating"]) if row["self_rating"] else None,
                    row["remarks"], row["place"])
        return results

    def history(self, region: str) -> list[dict]:
        with self._connect() as db:
            current = db.execute("SELECT version_id FROM current WHERE region = ?", (region,)).fetchone()
            versions = [dict(v) | {"current": current is not None and v["id"] == current["version_id"]}
                        for v in db.execute(
                            "SELECT v.id, v.source, v.created_at, u.filename, u.sha256 FROM versions v"
                            " LEFT JOIN uploads u ON u.id = v.upload_id WHERE v.region = ? ORDER BY v.id DESC",
                            (region,))]
        return versions

    def uploads(self, region: str | None = None, limit: int = 200) -> list[dict]:
        query = "SELECT id, filename, sha256, received_at, region, accepted, problems FROM uploads"
        args: tuple = ()
        if region is not None:
            query += " WHERE region = ?"
            args = (region,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id DESC LIMIT ?", args + (limit,)).fetchall()
        return [dict(r) | {"problems": json.loads(r["problems"])} for r in rows]

    def upload_data(self, upload_id: int) -> tuple[str, bytes] | None:
        with self._connect() as db:
            row = db.execute("SELECT filename, data FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return (row["filename"], row["data"]) if row else None

    def latest_rejected(self) -> dict[str, str]:
        """Regions whose newest upload was refused, with when: they are 有误 until fixed."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT region, accepted, received_at FROM uploads u WHERE region IS NOT NULL AND id ="
                " (SELECT MAX(id) FROM uploads WHERE region = u.region)").fetchall()
        return {r["region"]: r["received_at"] for r in rows if not r["accepted"]}
