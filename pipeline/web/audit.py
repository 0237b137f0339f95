"""The audit log (等保 2.0 安全审计): every sign-in and failure, every change of a return, a rating,
an account or a deadline, every generation and export, with who, when, from which address, what
changed (old → new) and why. Append-only: the database itself refuses to update or delete a row
(triggers), and no code path tries."""

from __future__ import annotations

import datetime as dt
import io

SCHEMA = [
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        year INTEGER NOT NULL,
        account TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        event TEXT NOT NULL,
        region TEXT,
        object TEXT NOT NULL DEFAULT '',
        old TEXT NOT NULL DEFAULT '',
        new TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL DEFAULT '成功'
    )""",
    "CREATE INDEX audit_by_region ON audit(year, region)",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: no update'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: no delete'); END""",
    # INSERT OR REPLACE deletes the old row without firing the delete trigger: refused too
    """CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: no replace'); END""",
]

COLUMNS = (("at", "时间"), ("account", "账号"), ("role", "角色"), ("address", "地址"), ("event", "事件"),
           ("region", "地区"), ("object", "对象"), ("old", "原值"), ("new", "新值"), ("reason", "原因"),
           ("result", "结果"))
MAX_TEXT = 2000  # one field of one entry


def record(store, year: int, account: str, event: str, *, role: str = "", address: str = "", region: str | None = None,
           object: str = "", old: str = "", new: str = "", reason: str = "", result: str = "成功") -> None:
    def cut(text) -> str:
        text = "" if text is None else str(text)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"

    with store.connect() as db:
        db.execute("INSERT INTO audit (at, year, account, role, address, event, region, object, old, new, reason, result)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (dt.datetime.now().isoformat(timespec="seconds"), int(year), cut(account), role, cut(address),
                    event, region, cut(object), cut(old), cut(new), cut(reason), result))


def entries(store, year: int, region: str | None = None, limit: int | None = None) -> list[dict]:
    """Newest first; the whole year, or one region's."""
    sql = "SELECT * FROM audit WHERE year = ?" + (" AND region = ?" if region else "") + " ORDER BY id DESC"
    args: tuple = (year, region) if region else (year,)
    if limit:
        sql += " LIMIT ?"
        args += (limit,)
    with store.connect() as db:
        return [dict(r) for r in db.execute(sql, args)]


def _when(stamp: str | None):
    """A stored ISO time as a date-time cell (the text itself if it is not one)."""
    try:
        return dt.datetime.fromisoformat(stamp) if stamp else ""
    except ValueError:
        return stamp


def to_xlsx(rows: list[dict], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "操作记录"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([label for _, label in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_when(row.get(key)) if key == "at" else (row.get(key) or "") for key, _ in COLUMNS])
        ws.cell(ws.max_row, 1).number_format = "yyyy-mm-dd hh:mm:ss"  # a date Excel/WPS sorts and filters
    for letter, width in zip("ABCDEFGHIJK", (20, 14, 8, 16, 14, 12, 24, 30, 30, 30, 8)):
        ws.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
