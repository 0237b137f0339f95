"""Mutation score of the modules that hold rules (`make mutate`; not part of `make test`).

For each module below, mutmut changes its code one small change at a time (a `>=` made `>`, a
constant changed, a condition negated, …) and runs the module's own tests against each change:
a test that fails "kills" the mutant; a mutant no test notices "survives". Each module runs in
its own scratch copy of the project under build/mutate/, with only its relevant tests, at most
two processes at a time. Prints killed / total per module and every survivor; survivors judged
equivalent (no behaviour can tell them apart) are listed in EQUIVALENT with one line why.

    .venv/bin/python scripts/mutate.py [module-name ...]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutate"
PYTHON = sys.executable

# name → (module files, the tests that exercise its rules)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "rating": (["pipeline/rating.py"], ["tests/test_planted_rating.py"]),
    "results": (["pipeline/results.py"], ["tests/test_results_rules.py"]),
    "returns": (["pipeline/returns.py"], ["tests/test_returns_rules.py"]),
    "guard": (["pipeline/web/guard.py"], ["tests/test_guard_rules.py"]),
    "closing": (["pipeline/pagination.py"], ["tests/test_planted_closing.py::test_plan_by_hand",
                                             "tests/test_planted_pagination.py"]),
}

# Survivors that no test can kill because they do not change behaviour: mutant name → why.
EQUIVALENT: dict[str, str] = {
    "pipeline.rating.x_explain__mutmut_29":
        "failed_text is only used when failed_ok holds, so its 有未达标 branch is never printed",
    "pipeline.results.x_decode_csv__mutmut_6": "\"UTF-16\" names the same codec as \"utf-16\" (codec names ignore case)",
    "pipeline.results.x_decode_csv__mutmut_14": "\"UTF-16\" names the same codec as \"utf-16\" (codec names ignore case)",
    "pipeline.results.x_decode_csv__mutmut_39": "\"UTF-8-SIG\" names the same codec as \"utf-8-sig\" (codec names ignore case)",
    "pipeline.results.x_decode_csv__mutmut_52": "\"UTF-8\" names the same codec as \"utf-8\" (codec names ignore case)",
    "pipeline.results.x_decode_csv__mutmut_65": "\"GB18030\" names the same codec as \"gb18030\" (codec names ignore case)",
    "pipeline.results.x_results_csv__mutmut_34": "\"UTF-8\" names the same codec as \"utf-8\" (codec names ignore case)",
    "pipeline.results.x_workbook_region__mutmut_3":
        "only the region is read back, and the name labels only problems and warnings, never the region",
    "pipeline.results.x_workbook_region__mutmut_7":
        "only the region is read back, and the name labels only problems and warnings, never the region",
    "pipeline.results.x_workbook_region__mutmut_8":
        "only the region is read back, and the name labels only problems and warnings, never the region",
}

# guard.py: mutants that only change the case of SQL text (keywords and names ignore case in SQLite),
# of a sqlite3.Row key (looked up ignoring case) or of a codec name ("UTF-8" is "utf-8").
_GUARD_CASE = {
    "x__hash": [7], "x__slow_hash": [13], "x_form_token_ok": [9, 12], "x_end_every_session": [3, 4],
    "x_password_changed": [4, 10, 56, 59, 60], "xǁSessionsǁ_load": [10, 11, 21, 23, 29, 30, 33, 41, 42, 45],
    "xǁSessionsǁsave_session": [31, 32, 57, 58, 66, 67, 83, 84], "xǁThrottleǁfailed": [7, 8, 10, 11],
    "xǁThrottleǁsucceeded": [6, 7], "xǁThrottleǁwait": [16, 19],
}
EQUIVALENT.update({f"pipeline.web.guard.{function}__mutmut_{n}":
                   "only the case of SQL text, a sqlite3.Row key or a codec name changes; all three ignore case"
                   for function, numbers in _GUARD_CASE.items() for n in numbers})
EQUIVALENT.update({
    "pipeline.web.guard.xǁServerSessionǁ__init____mutmut_9": "modified = None instead of False: both false, only tested for truth",
    "pipeline.web.guard.xǁServerSessionǁ__init____mutmut_11": "renew = None instead of False: both false, only tested for truth",
    "pipeline.web.guard.xǁServerSessionǁ__init____mutmut_13": "ended = None instead of False: both false, only tested for truth",
    "pipeline.web.guard.xǁSessionsǁsave_session__mutmut_42": "json.dumps(ensure_ascii=None) is ensure_ascii=False (only tested for truth)",
    "pipeline.web.guard.xǁSessionsǁsave_session__mutmut_50": "secrets.token_urlsafe(None) is its default, the same 32 bytes",
    "pipeline.web.guard.x_safe_target__mutmut_27": "the server name bound is never used: no route is tied to a host",
    "pipeline.web.guard.x_safe_target__mutmut_28": "the server name bound is never used: no route is tied to a host",
    "pipeline.returns.x__read__mutmut_212":
        "the footer looked for from row 4 (>=): row 4's A cell is 序号, else the header was refused already",
    "pipeline.returns.x__read__mutmut_258": "previous = '' instead of None: both false, only tested for truth",
    "pipeline.returns.x__read__mutmut_488": "a deleted task placed with <=: the task itself has no row found, so is never counted",
    "pipeline.returns.x__read__mutmut_518": "range(7) adds the row-2 cell of column 0, which no workbook has",
    "pipeline.returns.x__longest_ordered__mutmut_4": "run lengths counted from 2: only compared with each other, same run chosen",
    "pipeline.returns.x__longest_ordered__mutmut_18": "run lengths grown by 2: only compared with each other, same run chosen",
    "pipeline.returns.x__check_file_name__mutmut_8":
        "a backslash made 'XX/XX' only puts XX before the file's own name; no region name holds an X",
})

GOAL = 0.90


def scratch_copy(name: str, files: list[str], tests: list[str]) -> Path:
    """The project as the tests need it, with a mutmut configuration for this module."""
    where = SCRATCH / name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("pipeline", "templates", "content", "tests"):
        shutil.copytree(ROOT / folder, where / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    lines = ["[mutmut]", "source_paths = pipeline", "also_copy =", "    templates", "    content",
             "only_mutate ="] + [f"    {f}" for f in files] + \
            ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests] + \
            ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -q"]
    (where / "setup.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def run(name: str) -> dict:
    files, tests = MODULES[name]
    where = scratch_copy(name, files, tests)
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": "", "PYTHONDONTWRITEBYTECODE": "1"}
    children = os.environ.get("MUTATE_CHILDREN", "2")  # 1 while the machine is shared
    done = subprocess.run([PYTHON, "-m", "mutmut", "run", "--max-children", children], cwd=where, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    (where / "mutmut-run.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    listed = subprocess.run([PYTHON, "-m", "mutmut", "results", "--all", "true"], cwd=where, env=env,
                            capture_output=True, text=True)
    statuses = dict(re.findall(r"^\s+(\S+): (.+)$", listed.stdout, re.M))
    if done.returncode != 0 or not statuses:
        raise RuntimeError(f"mutmut failed for {name} (see {where / 'mutmut-run.log'}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    survivors = sorted(m for m, s in statuses.items() if s not in ("killed", "timeout"))
    diffs = {}
    for mutant in survivors:
        shown = subprocess.run([PYTHON, "-m", "mutmut", "show", mutant], cwd=where, env=env,
                               capture_output=True, text=True)
        diffs[mutant] = shown.stdout
    return {"name": name, "files": files, "total": len(statuses),
            "killed": sum(s in ("killed", "timeout") for s in statuses.values()),
            "survivors": survivors, "statuses": {m: statuses[m] for m in survivors},
            "diffs": diffs, "seconds": elapsed}


def main(names: list[str]) -> int:
    names = names or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        sys.exit(f"unknown module(s): {', '.join(unknown)}; known: {', '.join(MODULES)}")
    reports = []
    for n in names:
        try:
            reports.append(run(n))
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        SCRATCH.joinpath(f"{n}.json").write_text(json.dumps(
            {k: v for k, v in reports[-1].items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    failed = False
    print(f"{'module':10} {'file(s)':34} {'killed':>7} {'total':>6} {'score':>7} {'equiv.':>7} {'time':>7}")
    for r in reports:
        equivalent = [m for m in r["survivors"] if m in EQUIVALENT]
        unexplained = [m for m in r["survivors"] if m not in EQUIVALENT]
        score = r["killed"] / r["total"] if r["total"] else 1.0
        ok = score >= GOAL and not unexplained
        failed |= not ok
        print(f"{r['name']:10} {', '.join(r['files']):34} {r['killed']:7} {r['total']:6} {score:7.1%} "
              f"{len(equivalent):7} {r['seconds']:6.0f}s{'' if ok else '  ← below goal or unexplained'}")
    for r in reports:
        for mutant in r["survivors"]:
            why = EQUIVALENT.get(mutant)
            print(f"\n{mutant} ({r['statuses'][mutant]}): {'equivalent — ' + why if why else 'NOT EXPLAINED'}")
            if not why:
                print(r["diffs"][mutant].rstrip())
    (SCRATCH / "summary.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "diffs"} for r in reports], ensure_ascii=False, indent=1),
        encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
