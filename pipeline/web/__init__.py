"""``pipeline serve``: the clerk's page, a thin layer over the library, as ``cli.py`` is.

Collect the returned workbooks (validated by the code of ``pipeline collect``), see who is
missing or wrong, enter the final ratings, and issue the documents (rendered by the code and
cache of ``pipeline build``), all in a browser on this machine.
"""

from __future__ import annotations

import atexit
import hmac
import io
import os
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..content import Content
from ..layout import TEMPLATES
from .store import Store

MAX_FILES = 100  # workbooks in one upload
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # one request; each workbook also obeys collect's limits
STATUSES = ("未交", "有误", "已自评", "已考评")


@dataclass
class Generation:
    """The state of the one build that may run at a time; counts are files."""

    running: bool = False
    draft: bool = False
    done: int = 0
    total: int = 0
    rendered: int = 0
    kept: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    finished: bool = False


@dataclass
class RegionState:
    """What the board and a region's page both show of a region (one function makes it)."""

    region: object
    status: str
    self_done: int
    final_done: int
    total: int
    missing: list[str]
    rating: str | None = None
    rule: str | None = None
    below: list = field(default_factory=list)  # tasks rated 未达标
    refused: dict | None = None  # the newest upload, refused after the current version was made
    waiting: bool = False  # a return waits for the clerk to choose its final ratings


class Site:
    """What the pages work on: the content, the store, the output folder, one render lock."""

    def __init__(self, content: Content, data_dir: Path):
        self.content = content
        self.data_dir = Path(data_dir)
        self.store = Store(self.data_dir / "pipeline.sqlite3", content.tasks.year)  # this year's records
        self.output = self.data_dir / "output"
        self.render_lock = threading.Lock()
        self.generation = Generation()
        self.generation_thread: threading.Thread | None = None
        self.workers = None  # default: as many as ``pipeline build`` uses
        self._expected: tuple = (None, {})

    # --- what the board and the region pages show -----------------------------------------------------
    def states(self, only=None) -> tuple[dict[str, RegionState], object]:
        """Every region's state (or only the one named), and the current results."""
        from ..documents import outcome
        from ..model import Rating
        from ..rating import explain

        content = self.content
        results = self.store.results(content)
        refused = self.store.latest_rejected()
        waiting = self.store.waiting_choices()
        states = {}
        for region in content.regions.regions:
            if only is not None and region.name != only:
                continue
            done_self, done_final, total = results.counts(content, region)
            missing = results.missing(content, region)
            state = RegionState(region, results.status(content, region, set(refused)), done_self, done_final,
                                total, missing, waiting=region.name in waiting)
            if region.name in refused:
                state.refused = next((u for u in self.store.uploads(region.name, limit=1)), None)
            if region.name in results.by_region and not missing:
                final = results.final(region)
                state.rating = outcome(content.rules, region, final).rating.value
                state.rule = explain(content.rules, {k: v.rating for k, v in final.items()})
                state.below = [t for t in content.tasks.tasks_for_region(region)
                               if final.get(t.id) and final[t.id].rating == Rating("未达标")]
            states[region.name] = state
        return states, results

    def board(self):
        states, results = self.states()
        rows = [{"region": s.region, "status": s.status, "self": s.self_done, "final": s.final_done,
                 "total": s.total, "rating": s.rating, "waiting": s.waiting} for s in states.values()]
        return rows, results

    # --- documents ------------------------------------------------------------------------------------
    def out(self):
        from ..output import OutputDir
        return OutputDir(self.output)

    def _build(self, jobs, formats=()):
        """Jobs through ``pipeline build``'s plan (kept when unchanged) and its renderer, in the
        page's render process (timed per document, as the build's workers are), recorded in the
        manifest: (the kept entries, the build's outcome)."""
        from ..build import Outcome, _reason, plan

        with self.render_lock:
            out = self.out()
            todo, kept = plan(jobs, out, formats)
            outcome = Outcome()
            for job, fmts in todo:  # the blank forms first (plan's order), one after another
                try:
                    outcome.entries += render_in_worker(job, str(out.root), fmts)
                except Exception as exc:  # a failed document is reported, the others go on
                    outcome.failures.append((job, _reason(exc)))
            out.update_manifest(kept + outcome.entries)
            return kept, outcome

    def render(self, jobs, formats=()) -> list:
        """The files of these jobs, rendered when they are not there unchanged."""
        kept, outcome = self._build(jobs, formats=formats)
        if outcome.failures:
            raise RuntimeError("；".join(reason for _, reason in outcome.failures))
        return kept + outcome.entries

    def manifest(self) -> dict[str, dict]:
        return self.out().manifest()

    def expected(self) -> dict[str, str]:
        """Path → fingerprint of every file the current results make (the 通报's draft too while
        results are incomplete); cached until a region's current version changes."""
        from ..freshness import expected
        from ..jobs import all_jobs, summary_job

        key = (id(self.content), self.store.state_key())
        if self._expected[0] != key:
            results = self.store.results(self.content)
            jobs, _, gaps = all_jobs(self.content, results)
            if gaps:
                jobs.append(summary_job(self.content, results, draft=True))
            self._expected = (key, expected(jobs, self.out()))
        return self._expected[1]

    def documents(self) -> list[dict]:
        """The manifest's files, each marked current or stale (已过期)."""
        from ..freshness import is_current

        wanted = self.expected()
        return [entry | {"current": is_current(entry, wanted)}
                for _, entry in sorted(self.manifest().items())]

    def file_for(self, path: str, current_only: bool = True) -> Path | None:
        """A file named in the manifest, and only such a file; only while it matches the current
        results unless ``current_only`` is False."""
        from ..freshness import is_current
        from .guard import manifest_file

        return manifest_file(self.output, self.manifest(), path,
                             (lambda entry: is_current(entry, self.expected())) if current_only else None)

    def zip_all(self) -> bytes:
        """Every current file (none marked 已过期), by its path in the output folder."""
        from .guard import inside

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry in self.documents():
                target = inside(self.output, entry["path"]) if entry["current"] else None
                if target is not None:
                    archive.write(target, entry["path"])
        return buffer.getvalue()

    def start_generation(self, draft: bool = False) -> bool:
        """Every document from the current results (or the 通报's draft), in a spawned build
        process; False when one is running."""
        if self.generation.running:
            return False
        self.generation = Generation(running=True, draft=draft)
        self.generation_thread = threading.Thread(target=self._generate, args=(draft,), name="生成文档", daemon=True)
        self.generation_thread.start()
        return True

    def _generate(self, draft: bool) -> None:
        from ..build import default_workers
        from ..jobs import all_jobs
        from .generation import run

        state = self.generation
        try:
            results = self.store.results(self.content)
            if not draft:
                _, incomplete, gaps = all_jobs(self.content, results)
                if gaps:
                    state.notes.append("考评结果不全，未生成全省通报。")
            with self.render_lock:
                run(state, self.content, results, self.output, self.workers or default_workers(), draft)
        except Exception as exc:  # shown on the page, never lost in a thread
            state.failures.append(f"生成失败：{exc}")
        finally:
            state.running = False
            state.finished = True

    def summary_pdf(self, draft: bool | None = None) -> Path | None:
        """The current 通报 PDF (the final one, else with ``draft`` None the current draft)."""
        documents = [d for d in self.documents() if d["current"] and d.get("kind") == "summary"
                     and d.get("format") == "pdf"]
        documents.sort(key=lambda d: "征求意见稿" in d["path"])
        for entry in documents:
            is_draft = "征求意见稿" in entry["path"]
            if draft is None or draft == is_draft:
                return self.file_for(entry["path"])
        return None

    def summary_picture(self) -> bytes | None:
        """The first page of the current 通报 as PNG (kept beside the data, by the PDF's hash)."""
        pdf = self.summary_pdf()
        if pdf is None:
            return None
        import hashlib

        digest = hashlib.sha256(pdf.read_bytes()).hexdigest()[:16]
        target = self.data_dir / f"summary-{digest}.png"
        if not target.is_file():
            import pypdfium2

            document = pypdfium2.PdfDocument(str(pdf))
            image = document[0].render(scale=100 / 72).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            from ..output import atomic_write
            atomic_write(target, buffer.getvalue())
        return target.read_bytes()


# --- rendering for the pages ------------------------------------------------------------------------

_POOL = None
_POOL_LOCK = threading.Lock()


def render_in_worker(job, root: str, formats) -> list:
    """One document rendered by ``pipeline build``'s worker code in a process of its own (spawned:
    the server's threads are not forked), under the build's time limit per document; the server
    never lays out a document itself, so one document cannot hold the page."""
    global _POOL
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    import multiprocessing

    from ..build import _worker_init, _render

    if job.recipe is not None:  # a spawned process has no content to rebuild the view from: send it
        import dataclasses
        job = dataclasses.replace(job, _view=job.view, recipe=None)
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init, initargs=(True, os.getpid()))
            atexit.register(_POOL.shutdown, wait=True)  # before the interpreter tears itself down
        pool = _POOL
    try:
        return pool.submit(_render, job, root, tuple(formats)).result()
    except BrokenProcessPool:
        with _POOL_LOCK:
            if _POOL is pool:
                _POOL = None
        raise RuntimeError("排版进程意外退出，请重试") from None


# --- the Flask application ------------------------------------------------------------------------------


def secret_key(data_dir: Path) -> bytes:
    """Kept in the data folder (mode 600), so sessions outlive a restart."""
    path = Path(data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def create_app(content: Content, data_dir: Path, password: str | None = None, *, host: str = "127.0.0.1",
               port: int | None = None, public_url: str | None = None, clock=time.time):
    """The page. ``host``/``port``/``public_url``: the addresses it answers to (the Host header is
    checked against them); ``clock``: seconds, for session expiry and sign-in delays."""
    from flask import Flask, Request
    from flask.testing import FlaskClient
    from werkzeug.formparser import FormDataParser

    from . import guard, stats_views, views

    class StrictFormParser(FormDataParser):
        """A form that cannot be parsed is an error the page explains, not an empty form."""

        def __init__(self, *args, **kwargs):
            kwargs["silent"] = False
            super().__init__(*args, **kwargs)

    class PageRequest(Request):
        form_data_parser_class = StrictFormParser

    class SameSiteClient(FlaskClient):
        """Flask's test client posting as the page's own forms do (with its Origin)."""

        def open(self, *args, **kwargs):
            headers = kwargs.setdefault("headers", {})
            if isinstance(headers, dict) and "Origin" not in headers:
                headers["Origin"] = "http://localhost"
            return super().open(*args, **kwargs)

    app = Flask(__name__, template_folder=str(TEMPLATES / "web"),
                static_folder=str(TEMPLATES / "web" / "static"), static_url_path="/static")
    app.request_class = PageRequest
    app.test_client_class = SameSiteClient
    app.config.update(SECRET_KEY=secret_key(data_dir), MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_SECURE=bool(public_url and public_url.lower().startswith("https://")),
                      MAX_FORM_PARTS=MAX_FILES + 50)
    site = Site(content, data_dir)
    site.clock = clock
    app.extensions["site"] = site
    app.extensions["password"] = password
    app.extensions["hosts"] = guard.served_hosts(host, port, public_url)
    app.extensions["throttle"] = guard.Throttle(site.store, clock)
    app.session_interface = guard.Sessions(site.store, clock)
    guard.password_changed(site.store, password)  # a new password ends every session
    from .accounts import Accounts
    from .workflow import Workflow
    site.accounts = Accounts(site.store, clock)
    site.workflow = Workflow(site.store, content.tasks.year, data_dir)
    if public_url and host in ("127.0.0.1", "localhost", "::1"):
        # behind a reverse proxy on this machine (README): the browser's address is the one it forwards
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    views.register(app)
    stats_views.register(app)
    from . import account_views
    account_views.register(app)
    from . import session_pages
    session_pages.register(app)
    return app


def run_until_closed(server) -> None:
    """``server.run()`` for a thread that another closes (its sockets go away under the loop)."""
    try:
        server.run()
    except OSError:
        pass


def make_server(app, host: str, port: int, threads: int = 8):
    """The waitress server ``pipeline serve`` runs: a request larger than the upload cap is
    refused on its headers (413), before its body is received."""
    from waitress.server import create_server

    from .session_pages import install

    server = create_server(app, host=host, port=port, threads=threads, ident="pipeline",
                           max_request_body_size=MAX_UPLOAD_BYTES)
    install(server, app)  # its refusal of an over-large request: the site's page, in Chinese
    return server


def check_password(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
