"""A workbook's rows put over what a region's return already holds.

A blank cell in the workbook never clears what was entered before (online, or from an earlier
workbook): the self-rating, the 说明 and the final rating already there are kept, and each kept
self-rating and 说明 is named. A cell with a different value replaces the entry, and each change
is named with its old and new value. (Final ratings that differ are not put over at all: the
clerk chooses, ``Store.accept``.)"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from ..results import TaskResult

CLIP = 30  # characters of a 说明 quoted in a message
NAMED = 10  # kept self-ratings named with their 名称 up to this many; more, by 编号 only


@dataclass
class Merged:
    rated: dict[str, TaskResult]
    kept_finals: int = 0
    kept_selfs: list[tuple[str, str]] = field(default_factory=list)  # (task, kept value)
    kept_notes: list[tuple[str, str]] = field(default_factory=list)
    changed_selfs: list[tuple[str, str, str]] = field(default_factory=list)  # (task, old, new)
    changed_notes: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self, labels: dict[str, str], finals: bool = True) -> list[str]:
        """What became of the entries already made, one sentence a kind, every task named
        (``finals``: with the final ratings kept)."""
        def name(task: str, many: bool = False) -> str:
            return task if many else labels.get(task, task)

        out = []
        if self.kept_selfs:
            many = len(self.kept_selfs) > NAMED  # a long list by 编号 alone: the table below names them
            out.append(f"考评表中空着、保留了此前已填写的自评等次 {len(self.kept_selfs)} 项："
                       + ("、" if many else "；").join(f"{name(t, many)}（{old}）" for t, old in self.kept_selfs))
        if self.kept_notes:
            out.append(f"考评表中空着、保留了此前已填写的说明 {len(self.kept_notes)} 项："
                       + "；".join(f"{name(t)}（“{clip(old)}”）" for t, old in self.kept_notes))
        if self.changed_selfs:
            out.append(f"按考评表改动了此前已填写的自评等次 {len(self.changed_selfs)} 项："
                       + "；".join(f"{name(t)}（原为“{old}”，现为“{new}”）" for t, old, new in self.changed_selfs))
        if self.changed_notes:
            out.append(f"按考评表改动了此前已填写的说明 {len(self.changed_notes)} 项："
                       + "；".join(f"{name(t)}（原为“{clip(old)}”，现为“{clip(new)}”）"
                                 for t, old, new in self.changed_notes))
        if self.kept_finals and finals:
            out.append(f"保留了此前已填写的考评等次 {self.kept_finals} 项（考评表中未填）")
        return out


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLIP else text[:CLIP] + "……"


def _same(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def keep_entered(current: dict[str, dict], rated: dict[str, TaskResult]) -> Merged:
    """``rated`` (a workbook's rows; a blank row is absent) with every blank cell taking the entry
    in ``current`` (the rows of the current version), and what was kept or changed."""
    from ..model import Rating

    out = Merged(dict(rated))
    for task in sorted(set(current) | set(rated), key=_order):
        row = current.get(task, {})
        old_self, old_note, old_final = row.get("self_rating", ""), row.get("remarks", ""), row.get("final_rating", "")
        r = rated.get(task)
        new_self = r.self_rating.value if r is not None and r.self_rating else ""
        new_note = r.remarks if r is not None else ""
        new_final = r.rating.value if r is not None and r.rating else ""
        self_rating = new_self or old_self
        note = new_note if new_note.strip() else old_note
        final = new_final or old_final
        if old_self and not new_self:
            out.kept_selfs.append((task, old_self))
        elif old_self and new_self != old_self:
            out.changed_selfs.append((task, old_self, new_self))
        if old_note.strip() and not new_note.strip():
            out.kept_notes.append((task, old_note))
        elif old_note.strip() and not _same(old_note, new_note):
            out.changed_notes.append((task, old_note, new_note))
        if old_final and not new_final:
            out.kept_finals += 1
        if not (self_rating or note or final):
            continue
        place = (r.where if r is not None else "") or row.get("place", "")
        out.rated[task] = TaskResult(Rating(final) if final else None, Rating(self_rating) if self_rating else None,
                                     note, place)
    return out


def _order(task: str) -> tuple:
    try:
        return tuple(int(p) for p in task.split("."))
    except ValueError:
        return (10 ** 9, task)


def labels_of(content) -> dict[str, str]:
    """Every task as the web page's messages name it: its 编号 and 名称 (“1.1 实施……”)."""
    return {t.id: f"{t.id} {t.name}" for t in content.tasks.tasks()}


def with_entries(package: bytes, entries: dict[str, tuple[str, str]]) -> bytes:
    """A region's workbook (``writers.xlsx.checklist_workbook``) carrying what the region has
    already entered online: task id → (自评等次, 说明) written into its row, as text. Only the web
    page's download for a region uses this; the checklists ``pipeline build`` writes stay blank."""
    from openpyxl import load_workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.writer.excel import ExcelWriter

    from ..documents import CHECKLIST_COLUMNS
    from ..writers.xlsx import HEADER_ROW, SHEET

    if not any(a or b for a, b in entries.values()):
        return package
    column = {c.key: i for i, c in enumerate(CHECKLIST_COLUMNS, 1)}
    wb = load_workbook(io.BytesIO(package))
    ws = wb[SHEET]
    for row in range(HEADER_ROW + 1, ws.max_row + 1):
        task = ws.cell(row=row, column=column["id"]).value
        if task is None or str(task) not in entries:
            continue
        for key, text in zip(("self_rating", "remarks"), entries[str(task)]):
            if text:
                cell = ws.cell(row=row, column=column[key])
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
                cell.data_type = "s"  # text as typed: a 说明 starting with “=” is no formula
    out = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)).save()
    return out.getvalue()
