"""``pipeline build``: every document of the province, rendered by N worker processes.

The parent builds the views (cheap, pure Python) and imports the writers' libraries (WeasyPrint,
python-docx, openpyxl) only just before it forks the workers, which inherit them; each worker
keeps one Renderer (fonts registered, stylesheet parsed once) and renders many documents. Files are written atomically by the workers; the parent writes the manifest.
"""

from __future__ import annotations

import ctypes.util
import gc
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import DataError, RenderError
from .output import Entry, OutputDir
from .render import Job, Renderer

_renderer: Renderer | None = None


def check_system() -> None:
    """Stop before forking workers when HarfBuzz subsetting is missing (never 100× slower in silence)."""
    if ctypes.util.find_library("harfbuzz-subset") is None:
        raise RenderError(
            "未找到 HarfBuzz 字体子集库（Debian 软件包 libharfbuzz-subset0），生成 PDF 会慢约 100 倍。"
            "请运行 make setup，或执行 apt-get install libharfbuzz-subset0。")


PR_SET_PDEATHSIG = 1  # linux/prctl.h
_parent_pid: int | None = None


def _die_with_parent(parent: int) -> None:
    """A worker whose parent is killed outright (kill -9, the OOM killer, a CI time-out) must not
    live on: Linux sends it SIGTERM then; elsewhere, or if the parent died before this ran, the
    parent's pid is checked before each document."""
    global _parent_pid
    _parent_pid = parent
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _worker_init(ignore_interrupt: bool = True, parent: int | None = None) -> None:
    global _renderer
    if ignore_interrupt:
        # Ctrl-C is the parent's to handle: a worker finishes the file it is writing
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)
    _renderer = Renderer()
    if parent is not None:
        # a forked worker: what it inherited stays out of the collector's way (and its pages
        # shared with the parent), and collections come less often (a page's boxes are many
        # short-lived objects). Not in a process that goes on afterwards (--jobs 1, the web site).
        gc.freeze()
        gc.set_threshold(*FEW_COLLECTIONS)


# Seconds one document may take to lay out and write; past it the worker stops it (the build
# reports it by name) and takes the next, so one document never holds the others.
DOCUMENT_TIME_LIMIT = 120


class DocumentTimeout(Exception):
    """A document stopped at the time limit (the message is the clerk's)."""


def _over_time(signum, frame):
    raise DocumentTimeout(f"排版用时超过 {DOCUMENT_TIME_LIMIT} 秒，已停止（其余文档照常生成）；"
                          "请检查其考评结果中的备注等文字是否过长")


def _render(job: Job, root: str, formats: tuple[str, ...]) -> list[Entry]:
    global _renderer
    if _renderer is None:  # the last document was stopped part-way: a fresh renderer
        _renderer = Renderer()
    if _parent_pid is not None and os.getppid() != _parent_pid:
        os._exit(1)  # orphaned: nobody will record this file
    import threading
    timed = threading.current_thread() is threading.main_thread()  # signals reach the main thread only
    if timed:
        previous = signal.signal(signal.SIGALRM, _over_time)
        signal.setitimer(signal.ITIMER_REAL, DOCUMENT_TIME_LIMIT)
    try:
        return _renderer.run(job, OutputDir(Path(root)), formats)
    except DocumentTimeout:
        _renderer = None
        raise
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def plan(jobs: list[Job], out: OutputDir, formats: tuple[str, ...] = (),
         force: bool = False) -> tuple[list[tuple[Job, tuple[str, ...]]], list[Entry]]:
    """Which files to render, and which to keep: a file is kept when the manifest records it
    with the same fingerprint and it is still, byte for byte, what was recorded."""
    recorded = {} if force else out.manifest()
    todo, kept = [], []
    for job in jobs:
        need = []
        for fmt in job.formats(formats):
            try:
                path, relative = out.locate(job.kind, job.name, fmt, job.sub)
            except DataError:  # reported, with the others finished, when it is rendered
                need.append(fmt)
                continue
            entry = recorded.get(relative)
            if (entry and entry.get("fingerprint") == job.fingerprint(fmt)
                    and out.unchanged(path, entry.get("sha256", ""), relative)):
                kept.append(Entry.from_json(entry))
            else:
                need.append(fmt)
        if need:
            todo.append((job, tuple(need)))
    return schedule(todo, out), kept


def schedule(todo: list[tuple[Job, tuple[str, ...]]], out: OutputDir) -> list[tuple[Job, tuple[str, ...]]]:
    """The blank forms first (each laid out once, by one worker, into the shared cache), then the
    documents laid out on their own, then those filled on a form: by the time a filled document
    is taken up, its form is there for every worker."""
    if all(job.base is None for job, _ in todo):
        return list(todo)  # nothing filled on a form (nothing at all, when nothing changed)
    from .forms import cache_dir, is_cached, unmarked, view_key

    forms, seen = [], set()
    for job, formats in todo:
        if job.base is not None and {"pdf", "docx", "ofd"} & set(formats):
            key = view_key(unmarked(job.base))  # a report on sample data: its checklist's form
            if key not in seen and not is_cached(cache_dir(out), key):
                seen.add(key)
                forms.append((Job("form", "", job.base, base=job.base), ()))
    alone = [item for item in todo if item[0].base is None]
    filled = [item for item in todo if item[0].base is not None]
    return forms + alone + filled


@dataclass
class Outcome:
    entries: list[Entry] = field(default_factory=list)
    failures: list[tuple[Job, str]] = field(default_factory=list)
    interrupted: bool = False


KIND_NAMES = {"notice": "通知", "checklist": "考评表", "report": "考评报告", "letter": "等次函",
              "summary": "通报", "form": "空白考评表格式"}


def describe(job: Job) -> str:
    return f"{KIND_NAMES.get(job.kind, job.kind)}：{job.name}" if job.name else KIND_NAMES.get(job.kind, job.kind)


def build(jobs: list[tuple[Job, tuple[str, ...]]], out: OutputDir, workers: int,
          progress: Callable[[int], None] = lambda n: None, process_ends: bool = False) -> Outcome:
    """Render every job in its formats; one failing document does not stop the others.
    ``process_ends``: the process ends soon after (the command line): what a few documents made
    here with the collector off made is left to the oldest generation, not gone through at once."""
    outcome = Outcome()
    out.remove_stale_temporaries()
    if workers <= 1:
        _worker_init(ignore_interrupt=False)
        # as in a worker: what is there already (the content, the views' sources) stays out of
        # the collector's way while the documents are made, and collections come less often. A
        # few documents (one region's change) are made with the collector off: their garbage is
        # a few MiB (the 通报, a report and a letter: 3 MiB more at the peak) and collecting it
        # cost 0.1 s CPU. All undone after, for a process that goes on (the web site, the tests)
        threshold, enabled = gc.get_threshold(), gc.isenabled()
        gc.freeze()
        gc.set_threshold(*FEW_COLLECTIONS)
        few = len(jobs) <= DOCUMENTS_PER_WORKER
        if few:
            gc.disable()
        try:
            for job, formats in jobs:
                try:
                    outcome.entries += _render(job, str(out.root), formats)
                except Exception as exc:  # a failed document is reported, the others go on
                    outcome.failures.append((job, _reason(exc)))
                progress(1)
        except KeyboardInterrupt:  # the file being written was discarded whole
            outcome.interrupted = True
        finally:
            if few and process_ends:
                # switched on again, the collector would at once go through everything the
                # documents made (one region's three: 0.09 s CPU) for a process about to end:
                # it joins the oldest generation with the rest (freeze empties the youngest),
                # gone through at a full collection if the process lives on (the tests)
                gc.freeze()
            gc.unfreeze()
            gc.set_threshold(*threshold)
            if enabled:
                gc.enable()
        return outcome
    # fork: the workers inherit the parsed content, and the writers' libraries imported once
    # here (not once per worker: each would spend ~0.4 s CPU on it)
    import multiprocessing  # here: a build done in this process needs no pool
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    _preload({fmt for _, formats in jobs for fmt in formats})
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init,
                             initargs=(True, os.getpid())) as pool:
        # at most a few jobs in flight per worker: the parent does not hold every pickled view
        # of a large province at once
        queue = iter(jobs)
        pending: dict = {}

        def submit() -> None:
            while len(pending) < 4 * workers:
                item = next(queue, None)
                if item is None:
                    return
                job, formats = item
                pending[pool.submit(_render, job, str(out.root), formats)] = job

        def collect(done) -> None:
            for future in done:
                job = pending.pop(future)
                if future.cancelled():
                    continue
                try:
                    outcome.entries += future.result()
                except Exception as exc:
                    outcome.failures.append((job, _reason(exc)))
                progress(1)

        try:
            submit()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
                submit()
        except KeyboardInterrupt:
            # stop handing out work; documents under way finish whole and are recorded
            outcome.interrupted = True
            for future in pending:
                future.cancel()
            done, _ = wait(pending)
            collect(done)
    return outcome


def _preload(formats: set[str]) -> None:
    """Import the writers the workers will use, just before forking them: they inherit the
    modules (and share their pages) instead of importing them each. Only when there is work to
    fork for: planning, and a build with nothing to do, import none of them."""
    if formats & {"pdf", "docx", "ofd", "html"}:
        import pikepdf  # noqa: F401
        from .writers import import_weasyprint, pdf  # noqa: F401  (WeasyPrint)
        import_weasyprint()
        from .writers import docx  # noqa: F401
        import weasyprint  # noqa: F401
    if "ofd" in formats:
        from .writers import ofd  # noqa: F401  (fontTools)
    if "xlsx" in formats:
        import openpyxl.writer.excel  # noqa: F401  (writers/xlsx.py imports it when it writes)


def _reason(exc: BaseException) -> str:
    from .errors import DataError
    if isinstance(exc, DataError):
        return "；".join(str(p) for p in exc.problems)
    if isinstance(exc, DocumentTimeout):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# The collector's thresholds while documents are planned and made: a page's boxes are many
# short-lived objects, and what is there already (the content, the views) lives to the end
FEW_COLLECTIONS = (50_000, 50, 100)


# A worker process costs CPU time of its own (forked, then its fonts, stylesheets and text
# shaping warmed up: one region's change, 3 documents, took 2.3 s CPU in this process and
# 2.6–2.75 s with two workers): a few documents are rendered by fewer processes (one: in this
# process, nothing forked), many by as many as asked.
DOCUMENTS_PER_WORKER = 4


@contextmanager
def fewer_collections():
    """While a build is planned and run: the content and every job's fingerprints live to the
    end, so the collector runs less often (as while rendering); undone after, for a process
    that goes on."""
    threshold = gc.get_threshold()
    gc.set_threshold(*FEW_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def worker_count(asked: int | None, documents: int) -> int:
    """The processes to render ``documents`` with: as many as asked (default: the CPU count),
    but no more than one per ``DOCUMENTS_PER_WORKER`` documents."""
    return max(1, min(asked or default_workers(), -(-documents // DOCUMENTS_PER_WORKER)))


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
