"""Time and memory of reading one returned checklist, ordinary and hostile, printed as a table.

    .venv/bin/python benchmarks/returns.py

Each case is read in a fresh process (its peak RSS is the reading's own, interpreter included)
and once more under tracemalloc. Figures, not assertions; the bound is 200 MiB and 2 s a return
whatever the workbook declares (issue #21).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEASURE = r"""
import json, resource, sys, time, tracemalloc
from pathlib import Path
from pipeline.content import load_content
from pipeline.results import read_return
content = load_content()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
found = read_return(Path(sys.argv[1]), content)
cpu = time.process_time() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
read_return(Path(sys.argv[1]), content)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"cpu": cpu, "rss": rss / 1024, "rss_growth": (rss - base) / 1024, "peak": peak / 2**20,
                  "accepted": found.accepted, "warnings": len(found.warnings), "problems": len(found.problems)}))
"""


def filled(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pipeline", "checklist", "--region", "九台区", "--format", "xlsx",
                    "--out", str(folder)], check=True, capture_output=True, cwd=ROOT)
    from openpyxl import load_workbook
    book = folder / "考评表" / "地区" / "九台区.xlsx"
    wb = load_workbook(book)
    ws = wb.active
    for row in range(5, ws.max_row + 1):
        if ws.cell(row, 3).value and str(ws.cell(row, 3).value)[0].isdigit():
            ws.cell(row, 7).value = ws.cell(row, 8).value = "优秀"
            ws.cell(row, 9).value = "见附件（工作台账）"
        if ws.cell(row, 1).value == "填报单位（盖章）：":
            ws.cell(row, 3).value, ws.cell(row, 6).value = "九台区民政局", "王晓红"
            ws.cell(row + 1, 3).value, ws.cell(row + 1, 6).value = "0431-82345678", "2016年12月20日"
    target = folder / "filled.xlsx"
    wb.save(target)
    return target


def variant(src: Path, target: Path, edit) -> Path:
    with zipfile.ZipFile(src) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    edit(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    target.write_bytes(out.getvalue())
    return target


def sheet_edit(change):
    def edit(parts):
        parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"].decode()).encode()
    return edit


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        book = filled(tmp)
        far = '<row r="1048576"><c r="J1048576" t="inlineStr"><is><t>x</t></is></c>' \
              '<c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row>'
        cells = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "JKLMNOPQ") + "</row>"
                        for r in range(100, 100 + 6 * 2**20 // 200))
        cases = {
            "filled return (openpyxl)": book,
            "values at J1048576 and XFD1048576": variant(book, tmp / "far.xlsx", sheet_edit(
                lambda s: s.replace("</sheetData>", far + "</sheetData>"))),
            "dimension A1:XFD1048576, 28,000 empty rows": variant(book, tmp / "dim.xlsx", sheet_edit(
                lambda s: s.replace("</sheetData>", "".join(f'<row r="{r}" spans="1:16384"/>'
                                                            for r in range(100, 200000, 7)) + "</sheetData>"))),
            "densest sheet allowed (6 MiB of cells)": variant(book, tmp / "dense.xlsx", sheet_edit(
                lambda s: s.replace("</sheetData>", cells[:6 * 2**20 - len(s) - 200].rsplit("<row", 1)[0]
                                    + "</sheetData>"))),
        }
        print(f"{'case':46} {'size':>9} {'CPU s':>6} {'RSS MiB':>8} {'growth':>7} {'traced':>7}  outcome")
        for name, path in cases.items():
            line = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                                  cwd=ROOT, check=True).stdout.strip().splitlines()[-1]
            r = json.loads(line)
            outcome = ("accepted" if r["accepted"] else "refused") + f", {r['warnings']} warnings, {r['problems']} problems"
            print(f"{name:46} {path.stat().st_size // 1024:>6} KiB {r['cpu']:6.2f} {r['rss']:8.0f} "
                  f"{r['rss_growth']:7.1f} {r['peak']:7.1f}  {outcome}")


if __name__ == "__main__":
    main()
