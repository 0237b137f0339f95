"""``pipeline serve``: the clerk's page, a thin layer over the library, as ``cli.py`` is.

Collect the returned workbooks (validated by the code of ``pipeline collect``), see who is
missing or wrong, enter the final ratings, and issue the documents (rendered by the code and
cache of ``pipeline build``), all in a browser on this machine.
"""

from __future__ import annotations

import hmac
import io
import os
import secrets
import threading
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
    """The state of the one build that may run at a time."""

    running: bool = False
    done: int = 0
    total: int = 0
    rendered: int = 0
    kept: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    finished: bool = False


class Site:
    """What the pages work on: the content, the store, the output folder, one render lock."""

    def __init__(self, content: Content, data_dir: Path):
        self.content = content
        self.data_dir = Path(data_dir)
        self.store = Store(self.data_dir / "pipeline.sqlite3")
        self.output = self.data_dir / "output"
        self.render_lock = threading.Lock()
        self.generation = Generation()
        self.generation_thread: threading.Thread | None = None

    # --- what the board shows -------------------------------------------------------------------------
    def board(self):
        from ..documents import outcome

        results = self.store.results(self.content)
        rejected = set(self.store.latest_rejected())
        rows = []
        for region in self.content.regions.regions:
            done_self, done_final, total = results.counts(self.content, region)
            status = results.status(self.content, region, rejected)
            rating = None
            if done_final == total and region.name in results.by_region:
                rating = outcome(self.content.rules, region, results.final(region)).rating.value
            rows.append({"region": region, "status": status, "self": done_self, "final": done_final,
                         "total": total, "rating": rating})
        return rows, results

    # --- documents ------------------------------------------------------------------------------------
    def out(self):
        from ..output import OutputDir
        return OutputDir(self.output)

    def _build(self, jobs, planned=lambda todo, kept: None, progress=lambda n: None):
        """Jobs through ``pipeline build``'s plan (kept when unchanged) and renderer, one at a
        time, recorded in the manifest: (the kept entries, the build's outcome)."""
        from ..build import build, plan

        with self.render_lock:
            out = self.out()
            todo, kept = plan(jobs, out)
            planned(todo, kept)
            outcome = build(todo, out, 1, progress=progress)
            out.update_manifest(kept + outcome.entries)
            return kept, outcome

    def render(self, jobs) -> list:
        """The files of these jobs, rendered when they are not there unchanged."""
        kept, outcome = self._build(jobs)
        if outcome.failures:
            raise RuntimeError("；".join(reason for _, reason in outcome.failures))
        return kept + outcome.entries

    def manifest(self) -> dict[str, dict]:
        return self.out().manifest()

    def file_for(self, path: str) -> Path | None:
        """A file named in the manifest, and only such a file."""
        entry = self.manifest().get(path)
        if entry is None:
            return None
        root = self.output.resolve()
        target = (self.output / entry["path"]).resolve()
        if root not in target.parents or not target.is_file():
            return None
        return target

    def zip_all(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(self.manifest()):
                target = self.file_for(path)
                if target is not None:
                    archive.write(target, path)
        return buffer.getvalue()

    def start_generation(self) -> bool:
        """Every document from the current results, in a thread; False when one is running."""
        if self.generation.running:
            return False
        self.generation = Generation(running=True)
        self.generation_thread = threading.Thread(target=self._generate, name="生成文档", daemon=True)
        self.generation_thread.start()
        return True

    def _generate(self) -> None:
        from ..build import describe
        from ..jobs import all_jobs, missing_message

        state = self.generation
        try:
            results = self.store.results(self.content)
            jobs, incomplete, gaps = all_jobs(self.content, results)
            for region, missing in incomplete:
                state.notes.append(missing_message(results, region, missing))
            if gaps:
                state.notes.append("考评结果不全，未生成全省通报。")

            def planned(todo, kept) -> None:
                state.total, state.kept = len(todo), len(kept)

            def progress(n: int) -> None:
                state.done += n

            _, outcome = self._build(jobs, planned, progress)
            state.rendered = len(outcome.entries)
            state.failures = [f"{describe(job)}：{reason}" for job, reason in outcome.failures]
            self._summary_picture()
        except Exception as exc:  # shown on the page, never lost in a thread
            state.failures.append(f"生成失败：{exc}")
        finally:
            state.running = False
            state.finished = True

    def summary_pdf(self) -> Path | None:
        for path, entry in self.manifest().items():
            if entry.get("kind") == "summary" and entry.get("format") == "pdf" and "征求意见稿" not in path:
                return self.file_for(path)
        return None

    def _summary_picture(self) -> None:
        pdf = self.summary_pdf()
        target = self.data_dir / "summary-page-1.png"
        if pdf is None:
            target.unlink(missing_ok=True)
            return
        import pypdfium2

        document = pypdfium2.PdfDocument(str(pdf))
        image = document[0].render(scale=100 / 72).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        from ..output import atomic_write
        atomic_write(target, buffer.getvalue())


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


def create_app(content: Content, data_dir: Path, password: str | None = None):
    from flask import Flask

    from . import stats_views, views

    app = Flask(__name__, template_folder=str(TEMPLATES / "web"),
                static_folder=str(TEMPLATES / "web" / "static"), static_url_path="/static")
    app.config.update(SECRET_KEY=secret_key(data_dir), MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      MAX_FORM_PARTS=MAX_FILES + 50)
    app.extensions["site"] = Site(content, data_dir)
    app.extensions["password"] = password
    views.register(app)
    stats_views.register(app)
    return app


def check_password(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
