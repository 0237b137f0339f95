"""The clerk's collected returns: an embedded SQLite database in the data folder.

Every uploaded workbook is kept as received (bytes, sha256, file name, time), accepted or not,
with the problems found in it. An accepted workbook, or an edit of the final ratings on the
region's page, becomes a new version of that region's ratings; one version per region is
current, and any earlier one can be made current again. Nothing is ever deleted (but sessions
and sign-in failures, guard.py). A return never silently drops a final rating already entered:
one without final ratings keeps them; one whose final ratings differ waits for the clerk's choice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..content import Content
from ..errors import DataError, Problem
from ..results import Record, Results, TaskResult, check_records
from ..returns import task_label
from .accounts import SCHEMA as ACCOUNTS_SCHEMA
from .audit import SCHEMA as AUDIT_SCHEMA
from .guard import SCHEMA as GUARD_SCHEMA
from .workflow import SCHEMA as WORKFLOW_SCHEMA

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
    # sessions, sign-in failures, settings (guard.py); uploads in batches with warnings and the
    # return's footer; a note on each version; returns waiting for the clerk's choice
    GUARD_SCHEMA + """;
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL
    );
    ALTER TABLE uploads ADD COLUMN batch_id INTEGER REFERENCES batches(id);
    ALTER TABLE uploads ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE uploads ADD COLUMN footer TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE versions ADD COLUMN note TEXT NOT NULL DEFAULT '';
    CREATE TABLE choices (
        region TEXT PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES versions(id),
        upload_id INTEGER REFERENCES uploads(id)
    );
    CREATE INDEX uploads_by_batch ON uploads(batch_id)
    """,
    # accounts (accounts.py), the append-only audit log (audit.py), the regions' returns online:
    # their state, evidence files, reasons for final ratings, the year's deadlines (workflow.py)
    [*ACCOUNTS_SCHEMA.split(";"), *AUDIT_SCHEMA, *WORKFLOW_SCHEMA.split(";")],
    # several years side by side (#17): the content's year in every record; the rows made before
    # (year NULL) belong to the first year the page is started with (``Store.adopt``)
    """
    ALTER TABLE uploads ADD COLUMN year INTEGER;
    ALTER TABLE batches ADD COLUMN year INTEGER;
    ALTER TABLE versions ADD COLUMN year INTEGER;
    CREATE TABLE current_by_year (
        year INTEGER,
        region TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES versions(id),
        UNIQUE (year, region)
    );
    INSERT INTO current_by_year (year, region, version_id) SELECT NULL, region, version_id FROM current;
    DROP TABLE current;
    ALTER TABLE current_by_year RENAME TO current;
    CREATE TABLE choices_by_year (
        year INTEGER,
        region TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES versions(id),
        upload_id INTEGER REFERENCES uploads(id),
        UNIQUE (year, region)
    );
    INSERT INTO choices_by_year (year, region, version_id, upload_id) SELECT NULL, region, version_id, upload_id FROM choices;
    DROP TABLE choices;
    ALTER TABLE choices_by_year RENAME TO choices;
    CREATE INDEX versions_by_year ON versions(year, region);
    CREATE INDEX uploads_by_year ON uploads(year, region)
    """,
]


def now() -> str:
    return dt.datetime.now().isoformat(timespec="microseconds")


@dataclass(frozen=True)
class UploadOutcome:
    upload_id: int
    filename: str
    region: str | None
    accepted: bool
    problems: list[str]
    warnings: list[str] = field(default_factory=list)
    note: str = ""  # what became of the ratings already entered
    choice: bool = False  # the clerk is asked which final ratings to keep


def _rating(r: TaskResult, key: str) -> str:
    value = getattr(r, key)
    return value.value if value else ""


def final_differences(current: dict[str, dict], rated: dict[str, TaskResult]) -> dict[str, tuple[str, str]]:
    """Tasks whose final rating in a return differs from the one entered: id → (entered, returned)."""
    out = {}
    for task, r in rated.items():
        entered = current.get(task, {}).get("final_rating", "")
        returned = _rating(r, "rating")
        if entered and returned and entered != returned:
            out[task] = (entered, returned)
    return out


class Store:
    def __init__(self, path: Path, year: int | None = None):
        """``year``: the content's year; every record read or written is of that year (without one,
        year 0: a store opened for accounts only, or in tests)."""
        self.path = Path(path)
        self.year = int(year) if year is not None else 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one writer at a time in this process; SQLite guards others
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)
            if year is not None:
                self.adopt(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextlib.contextmanager
    def connect(self):
        """A connection in autocommit mode, closed after use."""
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.execute("BEGIN IMMEDIATE")
            statements = script.split(";") if isinstance(script, str) else script  # a list: triggers
            for statement in [s for s in statements if s.strip()]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
            db.execute("COMMIT")

    def adopt(self, db) -> None:
        """Rows made before years were recorded become this year's (once; later years start empty)."""
        if db.execute("SELECT 1 FROM versions WHERE year IS NULL UNION ALL SELECT 1 FROM uploads WHERE year IS NULL"
                      " UNION ALL SELECT 1 FROM current WHERE year IS NULL LIMIT 1").fetchone() is None:
            return
        db.execute("BEGIN IMMEDIATE")
        for table in ("uploads", "batches", "versions", "current", "choices"):
            db.execute(f"UPDATE {table} SET year = ? WHERE year IS NULL", (self.year,))
        db.execute("COMMIT")

    def years(self) -> list[int]:
        """The years the store holds records of."""
        with self.connect() as db:
            return sorted({r[0] for r in db.execute("SELECT DISTINCT year FROM versions UNION SELECT DISTINCT year FROM"
                                                    " uploads") if r[0]})

    @property
    def schema_version(self) -> int:
        with self.connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    # --- writing ---------------------------------------------------------------------------------
    def add_upload(self, filename: str, data: bytes, content: Content) -> UploadOutcome:
        """One workbook uploaded on its own (a batch of one)."""
        from .intake import take_batch
        return take_batch(self, content, [(filename, data)])[1][0]

    def new_batch(self) -> int:
        with self.connect() as db:
            return db.execute("INSERT INTO batches (received_at, year) VALUES (?, ?)", (now(), self.year)).lastrowid

    def receive(self, batch_id: int | None, filename: str, data: bytes) -> int:
        """The bytes, kept before anything is read from them: a return whose reading fails or is
        cut short is never lost (it says so until read)."""
        with self.connect() as db:
            return db.execute(
                "INSERT INTO uploads (filename, sha256, data, received_at, region, accepted, problems, batch_id, year)"
                " VALUES (?, ?, ?, ?, NULL, 0, ?, ?, ?)",
                (filename, hashlib.sha256(data).hexdigest(), data, now(),
                 json.dumps(["读取中断，未能读完这个工作簿，请重新上传"], ensure_ascii=False), batch_id,
                 self.year)).lastrowid

    def refuse(self, upload_id: int, region: str | None, problems: list[str], warnings: list[str] = (),
               footer: dict | None = None) -> None:
        with self.connect() as db:
            db.execute("UPDATE uploads SET region = ?, accepted = 0, problems = ?, warnings = ?, footer = ?"
                       " WHERE id = ?", (region, json.dumps(list(problems), ensure_ascii=False),
                                        json.dumps(list(warnings), ensure_ascii=False),
                                        json.dumps(footer or {}, ensure_ascii=False), upload_id))

    def accept(self, upload_id: int, region: str, rated: dict[str, TaskResult], warnings: list[str] = (),
               footer: dict | None = None, labels: dict[str, str] | None = None) -> tuple[str, bool]:
        """A return's ratings join the region's one history. Nothing already entered is dropped in
        silence (``entered.keep_entered``): a blank cell keeps the self-rating, 说明 or final rating
        already there, and what was kept or changed is named in the note (one sentence a line;
        ``labels`` name the tasks); a return whose final ratings differ waits for the clerk to
        choose (nothing becomes current). Returns (what was done, whether the clerk must choose)."""
        from .entered import keep_entered

        with self._lock, self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE uploads SET region = ?, accepted = 1, problems = '[]', warnings = ?, footer = ?"
                       " WHERE id = ?", (region, json.dumps(list(warnings), ensure_ascii=False),
                                        json.dumps(footer or {}, ensure_ascii=False), upload_id))
            current = self._rows(db, region)
            differ = final_differences(current, rated)
            merged = keep_entered(current, rated)
            lines = merged.lines(labels or {}, finals=not differ)
            if differ:
                lines.insert(0, f"考评表中有 {len(differ)} 项考评等次与已填写的不同，请在{region}的页面上选择保留哪一种；"
                                "选定之前仍用原来的结果")
                note = "\n".join(lines)
                version = self._new_version(db, region, "upload", upload_id, merged.rated, note, make_current=False)
                db.execute("INSERT INTO choices (year, region, version_id, upload_id) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(year, region) DO UPDATE SET version_id = excluded.version_id,"
                           " upload_id = excluded.upload_id", (self.year, region, version, upload_id))
            else:
                note = "\n".join(lines)
                self._new_version(db, region, "upload", upload_id, merged.rated, note)
                db.execute("DELETE FROM choices WHERE year = ? AND region = ?", (self.year, region))  # superseded
            db.execute("COMMIT")
        return note, bool(differ)

    def _new_version(self, db, region: str, source: str, upload_id: int | None,
                     rated: dict[str, TaskResult], note: str = "", make_current: bool = True) -> int:
        cursor = db.execute("INSERT INTO versions (region, source, upload_id, created_at, note, year)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (region, source, upload_id, now(), note, self.year))
        version = cursor.lastrowid
        db.executemany(
            "INSERT INTO ratings (version_id, task, self_rating, final_rating, remarks, place)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(version, task, _rating(r, "self_rating"), _rating(r, "rating"), r.remarks, r.where)
             for task, r in rated.items()])
        if make_current:
            self._set_current(db, region, version)
        return version

    def _set_current(self, db, region: str, version: int) -> None:
        db.execute("INSERT INTO current (year, region, version_id) VALUES (?, ?, ?) "
                   "ON CONFLICT(year, region) DO UPDATE SET version_id = excluded.version_id",
                   (self.year, region, version))

    def current_version(self, region: str) -> int | None:
        with self.connect() as db:
            row = db.execute("SELECT version_id FROM current WHERE year = ? AND region = ?", (self.year, region)).fetchone()
        return row["version_id"] if row else None

    def set_final_ratings(self, region: str, finals: dict[str, str], content: Content,
                          based_on: int | None = None) -> int:
        """The department's 考评等次 for a region, entered on its page: checked as a workbook's
        rows are, then saved as a new current version (self-ratings and remarks kept).
        ``based_on``: the version the form was made from; when another has become current since,
        nothing is saved (``Conflict``)."""
        return self._save_edit(region, content, based_on, "考评等次", finals=finals)

    def save_return(self, region: str, selfs: dict[str, str], notes: dict[str, str], content: Content,
                    based_on: int | None = None, note: str = "") -> int:
        """A region's own self-ratings and 说明, entered online: checked as a workbook's rows are,
        saved as a new current version of its one history (final ratings already entered kept).
        ``based_on`` as for ``set_final_ratings``."""
        return self._save_edit(region, content, based_on, "自评等次", selfs=selfs, notes=notes, note=note)

    def _save_edit(self, region: str, content: Content, based_on: int | None, what: str,
                   finals: dict[str, str] | None = None, selfs: dict[str, str] | None = None,
                   notes: dict[str, str] | None = None, note: str = "") -> int:
        """A version edited on a page: the current rows with the given ratings or remarks put
        over them, checked as a workbook's rows are; refused when it is not based on the
        current version."""
        finals, selfs, notes = finals or {}, selfs or {}, notes or {}
        with self._lock, self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute("SELECT version_id FROM current WHERE year = ? AND region = ?", (self.year, region)).fetchone()
            current = cur["version_id"] if cur else None
            if based_on is not None and based_on != (current or 0):
                db.execute("ROLLBACK")
                raise Conflict(based_on, current)
            rows = self._rows(db, region)
            records = []
            for task in content.tasks.tasks_for_region(content.region(region)):
                row = rows.get(task.id, {})
                place = Problem(what, task_label(task), "")
                records.append(Record(place, region, task.id,
                                      finals.get(task.id, row.get("final_rating", "")),
                                      selfs.get(task.id, row.get("self_rating", "")),
                                      notes.get(task.id, row.get("remarks", ""))))
            try:
                results = check_records(records, content, "（网页）", "网页")
            except DataError:
                db.execute("ROLLBACK")
                raise
            rated = {task: TaskResult(r.rating, r.self_rating, r.remarks, rows.get(task, {}).get("place", ""))
                     for task, r in results.by_region.get(region, {}).items()}
            version = self._new_version(db, region, "edit", None, rated, note)
            db.execute("COMMIT")
        return version

    def make_current(self, region: str, version_id: int, based_on: int | None = None) -> bool:
        with self._lock, self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute("SELECT version_id FROM current WHERE year = ? AND region = ?", (self.year, region)).fetchone()
            if based_on is not None and based_on != (cur["version_id"] if cur else 0):
                db.execute("ROLLBACK")
                raise Conflict(based_on, cur["version_id"] if cur else None)
            found = db.execute("SELECT 1 FROM versions WHERE id = ? AND region = ? AND year = ?",
                               (version_id, region, self.year)).fetchone()
            if found:
                self._set_current(db, region, version_id)
                db.execute("DELETE FROM choices WHERE year = ? AND region = ? AND version_id = ?",
                           (self.year, region, version_id))
            db.execute("COMMIT")
        return bool(found)

    def choice(self, region: str) -> dict | None:
        """A return waiting for the clerk: its version, upload, and the final ratings that differ."""
        with self.connect() as db:
            row = db.execute("SELECT version_id, upload_id FROM choices WHERE year = ? AND region = ?",
                             (self.year, region)).fetchone()
            if row is None:
                return None
            pending = {r["task"]: dict(r) for r in db.execute(
                "SELECT task, self_rating, final_rating, remarks, place FROM ratings WHERE version_id = ?",
                (row["version_id"],))}
            upload = db.execute("SELECT filename, received_at FROM uploads WHERE id = ?", (row["upload_id"],)).fetchone()
            current = self._rows(db, region)
        differ = {t: (current.get(t, {}).get("final_rating", ""), p["final_rating"]) for t, p in pending.items()
                  if p["final_rating"] and current.get(t, {}).get("final_rating")
                  and p["final_rating"] != current[t]["final_rating"]}
        return {"version": row["version_id"], "upload_id": row["upload_id"],
                "filename": upload["filename"] if upload else "", "received_at": upload["received_at"] if upload else "",
                "differ": differ}

    def choose(self, region: str, version_id: int, keep: str) -> bool:
        """The clerk's choice for a waiting return: ``returned`` makes it current as read;
        ``entered`` makes current its self-ratings and remarks with the final ratings entered."""
        from ..model import Rating

        with self._lock, self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT version_id, upload_id FROM choices WHERE year = ? AND region = ? AND version_id = ?",
                             (self.year, region, version_id)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return False
            if keep == "returned":
                self._set_current(db, region, version_id)
                db.execute("UPDATE versions SET note = '经选择，采用考评表中的考评等次' WHERE id = ?", (version_id,))
            else:
                current = self._rows(db, region)
                pending = {r["task"]: dict(r) for r in db.execute(
                    "SELECT task, self_rating, final_rating, remarks, place FROM ratings WHERE version_id = ?",
                    (version_id,))}
                rated = {}
                for task in sorted(set(pending) | set(current)):
                    p, c = pending.get(task, {}), current.get(task, {})
                    final = c.get("final_rating") or p.get("final_rating", "")
                    self_rating = p.get("self_rating") or ""
                    rated[task] = TaskResult(Rating(final) if final else None,
                                             Rating(self_rating) if self_rating else None,
                                             p.get("remarks", c.get("remarks", "")), p.get("place") or c.get("place", ""))
                self._new_version(db, region, "upload", row["upload_id"], rated,
                                  "自评等次取自考评表，考评等次保留已填写的")
            db.execute("DELETE FROM choices WHERE year = ? AND region = ?", (self.year, region))
            db.execute("COMMIT")
        return True

    # --- reading ---------------------------------------------------------------------------------
    def _rows(self, db, region: str) -> dict[str, dict]:
        cur = db.execute("SELECT version_id FROM current WHERE year = ? AND region = ?", (self.year, region)).fetchone()
        if cur is None:
            return {}
        return {r["task"]: dict(r) for r in db.execute(
            "SELECT task, self_rating, final_rating, remarks, place FROM ratings WHERE version_id = ?",
            (cur["version_id"],))}

    def rows(self, region: str) -> dict[str, dict]:
        with self.connect() as db:
            return self._rows(db, region)

    def results(self, content: Content) -> Results:
        """The current versions as the results ``collect`` makes from the same workbooks."""
        from ..model import Rating

        results = Results("（网页汇总）", "XLSX")
        with self.connect() as db:
            # a final rating that differs from the self-rating carries its reason into the 备注 (#17)
            reasons = {(r["region"], r["task"]): r["reason"] for r in db.execute(
                "SELECT region, task, reason FROM final_reasons WHERE year = ?", (content.tasks.year,))}
            for row in db.execute(
                    "SELECT c.region, r.task, r.self_rating, r.final_rating, r.remarks, r.place, u.filename"
                    " FROM current c JOIN versions v ON v.id = c.version_id"
                    " JOIN ratings r ON r.version_id = v.id LEFT JOIN uploads u ON u.id = v.upload_id"
                    " WHERE c.year = ?", (self.year,)):
                if content.region(row["region"]) is None:
                    continue
                remarks = row["remarks"]
                reason = reasons.get((row["region"], row["task"]))
                if reason and row["final_rating"] and row["final_rating"] != row["self_rating"]:
                    remarks = f"{remarks}；考评意见：{reason}" if remarks else f"考评意见：{reason}"
                results.by_region.setdefault(row["region"], {})[row["task"]] = TaskResult(
                    Rating(row["final_rating"]) if row["final_rating"] else None,
                    Rating(row["self_rating"]) if row["self_rating"] else None,
                    remarks, row["place"])
        return results

    def version_rows(self, version_id: int) -> dict[str, dict]:
        with self.connect() as db:
            return {r["task"]: dict(r) for r in db.execute(
                "SELECT task, self_rating, final_rating, remarks, place FROM ratings WHERE version_id = ?"
                " AND version_id IN (SELECT id FROM versions WHERE year = ?)", (version_id, self.year))}

    def history(self, region: str) -> list[dict]:
        """The region's versions, newest first, numbered per region (第 1 版 is its first)."""
        with self.connect() as db:
            current = db.execute("SELECT version_id FROM current WHERE year = ? AND region = ?", (self.year, region)).fetchone()
            waiting = db.execute("SELECT version_id FROM choices WHERE year = ? AND region = ?",
                                 (self.year, region)).fetchone()
            versions = [dict(v) for v in db.execute(
                "SELECT v.id, v.source, v.created_at, v.note, v.upload_id, u.filename, u.sha256 FROM versions v"
                " LEFT JOIN uploads u ON u.id = v.upload_id WHERE v.region = ? AND v.year = ? ORDER BY v.id",
                (region, self.year))]
        for number, v in enumerate(versions, start=1):
            v["number"] = number
            v["current"] = current is not None and v["id"] == current["version_id"]
            v["waiting"] = waiting is not None and v["id"] == waiting["version_id"]
        return versions[::-1]

    def _upload_rows(self, where: str, args: tuple, limit: int) -> list[dict]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT id, filename, sha256, received_at, region, accepted, problems, warnings, footer, batch_id,"
                " (SELECT note FROM versions v WHERE v.upload_id = uploads.id ORDER BY v.id LIMIT 1) AS note,"
                " EXISTS (SELECT 1 FROM choices c WHERE c.upload_id = uploads.id) AS waiting"
                f" FROM uploads WHERE year = ? {'AND ' + where if where else ''} ORDER BY id DESC LIMIT ?",
                (self.year, *args, limit)).fetchall()
        return [dict(r) | {"problems": json.loads(r["problems"]), "warnings": json.loads(r["warnings"]),
                           "footer": json.loads(r["footer"])} for r in rows]

    def uploads(self, region: str | None = None, limit: int = 200) -> list[dict]:
        if region is None:
            return self._upload_rows("", (), limit)
        return self._upload_rows("region = ?", (region,), limit)

    def batch(self, batch_id: int) -> list[dict] | None:
        with self.connect() as db:
            if db.execute("SELECT 1 FROM batches WHERE id = ? AND year = ?", (batch_id, self.year)).fetchone() is None:
                return None
        return self._upload_rows("batch_id = ?", (batch_id,), 1000)[::-1]

    def unplaced(self, limit: int = 50) -> list[dict]:
        """Uploads that name no region of the list: kept, and shown with their problem."""
        return self._upload_rows("region IS NULL", (), limit)

    def upload_data(self, upload_id: int) -> tuple[str, bytes] | None:
        with self.connect() as db:
            row = db.execute("SELECT filename, data FROM uploads WHERE id = ? AND year = ?",
                             (upload_id, self.year)).fetchone()
        return (row["filename"], row["data"]) if row else None

    def upload_info(self, upload_id: int) -> dict | None:
        found = self._upload_rows("id = ?", (upload_id,), 1)
        return found[0] if found else None

    def latest_rejected(self) -> dict[str, str]:
        """Regions whose newest upload was refused after their current version was made, with
        when: they are 有误 until a return is accepted or the clerk saves or picks a version."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT u.region, u.accepted, u.received_at, v.created_at FROM uploads u"
                " LEFT JOIN current c ON c.region = u.region AND c.year = u.year LEFT JOIN versions v ON v.id = c.version_id"
                " WHERE u.year = ? AND u.region IS NOT NULL"
                " AND u.id = (SELECT MAX(id) FROM uploads WHERE region = u.region AND year = u.year)", (self.year,)
            ).fetchall()
        return {r["region"]: r["received_at"] for r in rows
                if not r["accepted"] and (r["created_at"] is None or r["received_at"] > r["created_at"])}

    def waiting_choices(self) -> set[str]:
        with self.connect() as db:
            return {r["region"] for r in db.execute("SELECT region FROM choices WHERE year = ?", (self.year,))}

    def state_key(self) -> tuple:
        """Changes whenever any region's current version does."""
        with self.connect() as db:
            return tuple((r["region"], r["version_id"]) for r in
                         db.execute("SELECT region, version_id FROM current WHERE year = ? ORDER BY region",
                                    (self.year,)))


class Conflict(Exception):
    """A form made from one version, sent after another became current."""

    def __init__(self, based_on: int | None, current: int | None):
        super().__init__(based_on, current)
        self.based_on = based_on
        self.current = current
