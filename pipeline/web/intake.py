"""Taking in an upload: every file's bytes kept first, its type decided by its content, then read
by ``collect``'s code; two returns for one region in one upload are refused together, as
``collect`` refuses them."""

from __future__ import annotations

import io
import re
import zipfile

from ..content import Content
from ..returns import accepted_as
from .entered import labels_of
from .store import Store, UploadOutcome

XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_EXTERNAL_TARGET = re.compile(rb'Target="([^"]*)"[^>]*TargetMode="External"|TargetMode="External"[^>]*Target="([^"]*)"')


def content_problems(name: str, data: bytes) -> list[str]:
    """Why these bytes are not a plain XLSX return, decided by what is inside (never by the name
    alone): another kind of file, a workbook with macros, links to other files."""
    problems = []
    if not name.lower().endswith(".xlsx"):
        problems.append(f"文件“{name}”不是 .xlsx 工作簿，只接收用本系统考评表填写后保存的 .xlsx 文件")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return problems  # not a zip: the reader says so in its own words
    lowered = [n.lower() for n in names]
    if any(n.endswith("vbaproject.bin") for n in lowered):
        problems.append("工作簿中含有宏（vbaProject.bin），为安全起见不接收；请在 Excel 或 WPS 中"
                        "另存为“Excel 工作簿（*.xlsx）”后重新上传")
    elif "[content_types].xml" in lowered:
        info = archive.getinfo(names[lowered.index("[content_types].xml")])
        if info.file_size < 1_000_000 and XLSX_MAIN not in archive.read(info) and name.lower().endswith(".xlsx"):
            problems.append("文件内容不是普通的 XLSX 工作簿（可能是启用宏的工作簿或模板），请另存为“Excel 工作簿（*.xlsx）”后重新上传")
    links = [n for n in names if n.lower().startswith("xl/externallinks/")]
    if links:
        targets = []
        for n in links:
            if n.lower().endswith(".rels") and archive.getinfo(n).file_size < 100_000:
                for match in _EXTERNAL_TARGET.finditer(archive.read(n)):
                    targets.append((match.group(1) or match.group(2)).decode("utf-8", "replace"))
        shown = "、".join(dict.fromkeys(targets)) or "其他工作簿"
        problems.append(f"工作簿链接了外部文件（{shown}），不接收；请在 Excel 中用“数据 → 编辑链接 → 断开链接”"
                        "（WPS：“数据 → 编辑链接”）去掉后重新上传")
    return problems


def read_return(filename: str, data: bytes, content: Content):
    """(region or None, ratings of the region or None, problems, warnings, footer), read by
    ``collect``'s code (``returns.read_return``)."""
    from ..returns import read_return as read

    problems = content_problems(filename, data)
    if problems and not filename.lower().endswith(".xlsx") and not zipfile.is_zipfile(io.BytesIO(data)):
        return None, None, problems, [], {}  # not a workbook at all: said once, by name
    found = read(None, content, data=data, name=filename, filename=filename)
    footer = {label: value for label, value in found.footer.items() if value}
    warnings = list(dict.fromkeys(str(w) for w in found.warnings))
    if problems or not found.accepted:
        problems = list(dict.fromkeys(problems + [str(p) for p in found.problems]))  # each said once
        return found.region, None, problems, warnings, footer
    return found.region, found.results.by_region[found.region], [], warnings, footer


def take_batch(store: Store, content: Content, files: list[tuple[str, bytes]]) -> tuple[int, list[UploadOutcome]]:
    """Keep every file, read each, and let the accepted ones in (one per region)."""
    batch = store.new_batch()
    received = [(store.receive(batch, name, data), name, data) for name, data in files]
    read = []
    for upload_id, name, data in received:
        try:
            region, rated, problems, warnings, footer = read_return(name, data, content)
        except Exception:  # noqa: BLE001 - the upload stays kept; the clerk is told it was not read
            region, rated, problems, warnings, footer = None, None, ["读取这个工作簿时出错，未能读完，请检查文件后重新上传"], [], {}
        read.append([upload_id, name, region, rated, problems, warnings, footer])
    by_region: dict[str, list] = {}
    for item in read:
        if item[3] is not None:
            by_region.setdefault(item[2], []).append(item)
    for region, items in by_region.items():
        if len(items) > 1:
            names = "、".join(i[1] for i in items)
            for item in items:
                item[3] = None
                item[5] = [w.replace(accepted_as(region), "") for w in item[5]]  # none of them is taken in
                item[4] = [f"{names}：这次上传中{region}有 {len(items)} 份考评表，都未接收；请只保留一份后重新上传"]
    outcomes = []
    labels = labels_of(content)
    for upload_id, name, region, rated, problems, warnings, footer in read:
        if rated is None:
            store.refuse(upload_id, region, problems, warnings, footer)
            outcomes.append(UploadOutcome(upload_id, name, region, False, problems, warnings))
        else:
            note, choice = store.accept(upload_id, region, rated, warnings, footer, labels)
            outcomes.append(UploadOutcome(upload_id, name, region, True, [], warnings, note, choice))
    return batch, outcomes
