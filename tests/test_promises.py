"""What the README promises and no other test checked (issue 22): a full build's documents of each
kind; `pipeline serve` as a real process on 127.0.0.1 with a password file and sign-in; the
database in WAL mode with forward migrations; the error for missing fonts; `--jobs` defaulting to
the processor count."""

from __future__ import annotations

import collections
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode


from pipeline.layout import font_paths, load_layout

from .conftest import ROOT, Cli
from .test_build import small  # noqa: F401  (fixture)

# --- a full build -----------------------------------------------------------------------------------


def test_full_build_writes_every_document_of_each_kind(workdir):
    """1 notice, 3 level checklists, 70 region checklists, 70 reports, 70 letters, 1 通报: 215
    documents; in all formats (DOCX and PDF each, XLSX for the checklists) 215 × 2 + 73 = 503 files.
    DOCX and XLSX here: the PDFs of the same documents are checked elsewhere, and take minutes."""
    result = Cli(workdir)("build", "--jobs", "2", "--format", "docx", "--format", "xlsx", "--out", "o")
    assert "完成：215/215 份文档；新生成 288 个文件" in result.output
    documents = json.loads((workdir / "o" / "manifest.json").read_text(encoding="utf-8"))["documents"]
    count = collections.Counter((d["kind"], d["format"], bool(d.get("region"))) for d in documents)
    assert count == {
        ("notice", "docx", False): 1,
        ("checklist", "docx", False): 3, ("checklist", "xlsx", False): 3,
        ("checklist", "docx", True): 70, ("checklist", "xlsx", True): 70,
        ("report", "docx", True): 70,
        ("letter", "docx", True): 70,
        ("summary", "docx", False): 1,
    }
    assert 215 * 2 + 73 == 503
    on_disk = [p for p in (workdir / "o").rglob("*") if p.is_file() and ".cache" not in p.parts]
    assert len(on_disk) == len(documents) + 1  # and the manifest


# --- --jobs defaults to the processors this process may use -------------------------------------------


def test_jobs_default_to_the_processor_count(small):  # noqa: F811
    def build(cpus: set[int], out: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pipeline", "build", "--format", "docx", "--out", out],
                              cwd=small, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(ROOT)},
                              preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        assert done.returncode == 0, done.stderr
        return re.search(r"(\d+) 个进程", done.stdout).group(1)

    cpus = os.sched_getaffinity(0)
    assert build({min(cpus)}, "one") == "1"
    # 17 documents for the four regions (and the 3 blank forms laid out first): no more than one
    # process per 4 of them
    assert build(cpus, "all") == str(min(len(cpus), 5))


# --- the missing-font error ----------------------------------------------------------------------------


def test_missing_fonts_are_named_with_how_to_install_them(workdir, tmp_path):
    # a copy of the program whose layout looks for the fonts in a folder holding three of five
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "pipeline", project / "pipeline", ignore=ignore)
    shutil.copytree(ROOT / "templates", project / "templates", ignore=ignore)
    real = font_paths(load_layout())
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for role in ("title", "fang", "hei"):
        shutil.copy(real[role], fonts / real[role].name)
    layout = project / "templates" / "layout.yaml"
    text = layout.read_text(encoding="utf-8")
    start = text.index("font_dirs:")
    end = text.index("font_package:")
    layout.write_text(text[:start] + f"font_dirs:\n  - {fonts}\n" + text[end:], encoding="utf-8")

    def notice(*args, env=None):
        return subprocess.run([sys.executable, "-m", "pipeline", "notice", *args], cwd=workdir,
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(project), **(env or {})})

    done = notice("--format", "pdf", "--out", "o")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ("缺少字体文件：FandolKai-Regular.otf（楷体）、FandolSong-Regular.otf（宋体）。"
            "请运行 make setup，或执行 apt-get install texlive-lang-chinese") in done.stderr
    assert "GONGWEN_FONT_DIR" in done.stderr
    written = [p for p in (workdir / "o").rglob("*") if p.is_file()] if (workdir / "o").exists() else []
    assert not [p for p in written if p.suffix == ".pdf" or p.name == "manifest.json"]
    # the folder named by GONGWEN_FONT_DIR is searched first
    shutil.copy(real["kai"], fonts / real["kai"].name)
    shutil.copy(real["song"], fonts / real["song"].name)
    (fonts / real["song"].name).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(real["song"], elsewhere / real["song"].name)
    done = notice("--format", "pdf", "--out", "o", env={"GONGWEN_FONT_DIR": str(elsewhere)})
    assert done.returncode == 0, done.stderr
    assert (workdir / "o" / "通知" / "吉民发〔2016〕13号.pdf").is_file()


# --- the database: WAL, and forward migrations -------------------------------------------------------

# The schema as the first release created it (version 1), kept here as it was: a database made then
# must open, migrated forward, with nothing lost, whatever migrations come later.
SCHEMA_V1 = """
CREATE TABLE uploads (id INTEGER PRIMARY KEY, filename TEXT NOT NULL, sha256 TEXT NOT NULL,
    data BLOB NOT NULL, received_at TEXT NOT NULL, region TEXT, accepted INTEGER NOT NULL,
    problems TEXT NOT NULL);
CREATE TABLE versions (id INTEGER PRIMARY KEY, region TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('upload', 'edit')), upload_id INTEGER REFERENCES uploads(id),
    created_at TEXT NOT NULL);
CREATE TABLE ratings (version_id INTEGER NOT NULL REFERENCES versions(id), task TEXT NOT NULL,
    self_rating TEXT NOT NULL DEFAULT '', final_rating TEXT NOT NULL DEFAULT '',
    remarks TEXT NOT NULL DEFAULT '', place TEXT NOT NULL DEFAULT '', PRIMARY KEY (version_id, task));
CREATE TABLE current (region TEXT PRIMARY KEY, version_id INTEGER NOT NULL REFERENCES versions(id));
CREATE INDEX versions_by_region ON versions(region);
CREATE INDEX uploads_by_region ON uploads(region);
"""


def make_v1_database(path: Path) -> None:
    from .test_classes import DISTRICT

    db = sqlite3.connect(path)
    db.executescript(SCHEMA_V1)
    db.execute("INSERT INTO versions (id, region, source, upload_id, created_at) "
               "VALUES (1, '朝阳区', 'edit', NULL, '2017-01-05T09:00:00')")
    db.executemany("INSERT INTO ratings (version_id, task, final_rating, remarks) VALUES (1, ?, ?, ?)",
                   [(t, "达标" if i else "优秀", "旧库中的备注" if i == 0 else "") for i, t in enumerate(DISTRICT)])
    db.execute("INSERT INTO current (region, version_id) VALUES ('朝阳区', 1)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_database_from_the_first_release_opens_migrated_with_its_data(tmp_path):
    from pipeline.web import create_app
    from pipeline.web.store import MIGRATIONS

    from .test_web import CONTENT

    work = tmp_path / "work"
    work.mkdir()
    make_v1_database(work / "pipeline.sqlite3")
    client = create_app(CONTENT, work).test_client()
    page = client.get("/region/朝阳区").get_data(as_text=True)
    assert "旧库中的备注" in page and "→ 达标" in page
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-region="朝阳区">.*?<span class="status [^"]+">已考评</span>', html, re.S)
    db = sqlite3.connect(work / "pipeline.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_migration_runs_once_in_order_on_an_old_database(tmp_path, monkeypatch):
    from pipeline.web import store

    from .test_web import CONTENT

    make_v1_database(tmp_path / "db.sqlite3")
    older = len(store.MIGRATIONS)
    later = ["ALTER TABLE uploads ADD COLUMN note TEXT NOT NULL DEFAULT '';",
             "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('一次')"]
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS + later)
    opened = store.Store(tmp_path / "db.sqlite3")
    assert opened.schema_version == older + 2
    opened.add_upload("x.xlsx", b"x", CONTENT)
    again = store.Store(tmp_path / "db.sqlite3")  # not run twice
    assert again.schema_version == older + 2
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
    assert db.execute("SELECT note FROM uploads").fetchall() == [("",)]
    assert db.execute("SELECT count(*) FROM ratings WHERE version_id = 1").fetchone()[0] > 0
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- pipeline serve, as the clerk starts it ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


class Browser:
    """Just enough of a browser: one cookie jar, no redirects followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, dict(response.getheaders()), data


def test_serve_as_a_process_on_this_machine_with_a_password(tmp_path):
    password = tmp_path / "密码.txt"
    password.write_text("春风又绿\n", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port),
                             "--data", str(tmp_path / "work"), "--password-file", str(password)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not listening_addresses(port):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "pipeline serve did not start listening"
            time.sleep(0.1)
        # on 127.0.0.1 only, never on every address
        assert listening_addresses(port) == {"0100007F"}
        browser = Browser(port)
        status, headers, _ = browser.request("GET", "/")
        assert status in (302, 303) and "/login" in headers["Location"]
        status, _, page = browser.request("GET", "/login")
        assert status == 200 and 'type="password"' in page
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _, page = browser.request("POST", "/login", {"csrf_token": csrf, "password": "秋雨"})
        assert status == 401 and "密码不对" in page
        assert browser.request("GET", "/")[0] in (302, 303)
        status, _, page = browser.request("GET", "/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, headers, _ = browser.request("POST", "/login", {"csrf_token": csrf, "password": "春风又绿"})
        assert status in (302, 303)
        status, _, page = browser.request("GET", "/")
        assert status == 200 and "共 70 个地区" in page
        status, headers, _ = browser.request("GET", "/results.csv")
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert (tmp_path / "work" / "pipeline.sqlite3").exists()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "http://localhost:" in out.decode("utf-8") and "Traceback" not in err.decode("utf-8")
