"""Generating from the page with ``pipeline build``'s own process pool.

The web server holds threads, and forking a threaded process is unsafe; so one child process is
*spawned* (a fresh interpreter, no threads), and it runs ``build`` exactly as the command does:
the same plan, the same workers (forked from that single-threaded child), the same manifest.
It reports how many files are done through a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path


def _count_files(root: Path, since: float) -> int:
    """Files written under ``root`` since ``since`` (the documents; not hidden caches)."""
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or name == "manifest.json":
                continue
            try:
                if os.stat(os.path.join(folder, name)).st_mtime >= since:
                    count += 1
            except OSError:
                pass
    return count


def child(content, results, root: str, workers: int, draft: bool, conn, server: int) -> None:
    """In the spawned process: plan, build, record, as ``pipeline build`` does."""
    from ..build import _die_with_parent, build, check_system, describe, plan, worker_count

    _die_with_parent(server)  # never outlive the server
    from ..freshness import withdraw
    from ..jobs import all_jobs, summary_job
    from ..output import OutputDir

    try:
        out = OutputDir(Path(root))
        if draft:
            jobs = [summary_job(content, results, draft=True)]
        else:
            jobs, _, _ = all_jobs(content, results)
            removed = withdraw(out, jobs)
            if removed:
                conn.send(("withdrawn", removed))
        if any("pdf" in job.formats(()) for job in jobs):
            check_system()
        todo, kept = plan(jobs, out)
        total = sum(len(formats) for _, formats in todo if _.kind != "form")
        conn.send(("planned", total, len(kept)))
        started = time.time() - 1

        def progress(n: int) -> None:
            conn.send(("done", min(total, _count_files(out.root, started))))

        workers = worker_count(workers, len(todo))
        outcome = build(todo, out, workers, progress=progress)
        out.update_manifest(kept + outcome.entries)
        conn.send(("finished", len(outcome.entries),
                   [f"{describe(job)}：{reason}" for job, reason in outcome.failures]))
    except Exception as exc:  # noqa: BLE001 - shown on the page
        conn.send(("failed", str(exc)))
    finally:
        conn.close()


def run(state, content, results, root: Path, workers: int, draft: bool = False) -> None:
    """In a thread of the server: the child spawned, its reports copied into ``state``."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(content, results, str(root), workers, draft, child_end, os.getpid()),
                              name="生成文档")  # not a daemon: it starts the build's workers
    process.start()
    child_end.close()
    try:
        while True:
            try:
                message = parent_end.recv()
            except EOFError:
                break
            kind = message[0]
            if kind == "planned":
                state.total, state.kept = message[1], message[2]
            elif kind == "done":
                state.done = message[1]
            elif kind == "withdrawn":
                state.withdrawn = message[1]
            elif kind == "finished":
                state.rendered = message[1]
                state.failures += message[2]
                state.done = state.total
            elif kind == "failed":
                state.failures.append(f"生成失败：{message[1]}")
    finally:
        process.join()
        if process.exitcode not in (0, None) and not state.failures and not state.rendered:
            state.failures.append("生成进程意外退出，请重试。")
