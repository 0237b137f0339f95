"""What stands between the page and a hostile network: server-side sessions that end, sign-in
throttling, redirects only to this site's own pages, the Host, Origin and Referer checked, the
form token, who may reach which page, and downloads only of the files the manifest names.

The decisions are small functions of plain values (the routes and ``account_views.authorise``
ask them and act on the answer), so each can be tested, and mutation-tested, on its own.

Sessions live in the database (only a hash of the cookie's token is stored): a session ends on
sign-out, when idle too long, after a fixed lifetime, and all of them end when the password
changes (a restart with a new password file). The cookie carries nothing but the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.exceptions import HTTPException

from .accounts import ADMIN, ADMIN_ONLY, DEPARTMENT, OPEN, REGION, REGION_ENDPOINTS

IDLE_SECONDS = 30 * 60  # an idle session signs out by itself (等保: 登录失败处理)
LIFETIME_SECONDS = 12 * 60 * 60  # and none lives longer than a working day
FREE_FAILURES = 5  # wrong passwords before any delay
FIRST_DELAY = 1.0  # seconds after the 5th failure, doubling with each further one
MAX_DELAY = 300.0  # at most 5 minutes
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DAY_SECONDS = 24 * 60 * 60
REMIND_DAYS = 7  # the page reminds an account this many days before its password expires
LOCAL = "本机"  # the one clerk of a page without accounts, or the shared password of old: every right

SCHEMA = """
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created REAL NOT NULL,
        seen REAL NOT NULL
    );
    CREATE TABLE sign_in_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last REAL NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


# --- sessions ----------------------------------------------------------------------------------------


def session_alive(created: float, seen: float, now: float) -> bool:
    """A session neither idle longer than ``IDLE_SECONDS`` nor older than ``LIFETIME_SECONDS``."""
    return now - seen <= IDLE_SECONDS and now - created <= LIFETIME_SECONDS


def account_session_ok(account: dict | None, password_set_at: str | None) -> bool:
    """A session signed in to ``account`` still holds: the account exists, is not disabled and
    has kept the password the session was made under."""
    return account is not None and not account["disabled"] and account["password_set_at"] == password_set_at


def password_expired(age_seconds: float, max_days: int) -> bool:
    """A password older than ``max_days`` days (exactly ``max_days`` days still holds); 0: never."""
    return max_days > 0 and age_seconds > max_days * DAY_SECONDS


def password_reminder(age_seconds: float, max_days: int) -> int | None:
    """Days left (counted up, at least 1) when a password expires within ``REMIND_DAYS`` days and
    has not yet; else None."""
    if max_days <= 0:
        return None
    left = max_days * DAY_SECONDS - age_seconds
    if left < 0 or left > REMIND_DAYS * DAY_SECONDS:
        return None
    return max(1, math.ceil(left / DAY_SECONDS))


class ServerSession(CallbackDict, SessionMixin):
    """The session's data, kept in the database under a random token."""

    def __init__(self, data: dict | None = None, token: str | None = None):
        def on_update(self) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.token = token
        self.modified = False
        self.renew = False  # a new token at sign-in (no session fixation)
        self.ended = False  # sign-out: the record goes, the cookie too
        self.lost = None  # why the browser's session is no more: "timeout", "lifetime", "ended", or an account's ENDED reason

    def end(self) -> None:
        self.clear()
        self.ended = True

    def start_anew(self, **data) -> None:
        """Sign-in: the old record goes, a new token carries only ``data`` and a new form token."""
        self.clear()
        self.update(data)
        self.renew = True


class Sessions(SessionInterface):
    """Flask's session interface over the ``sessions`` table."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def open_session(self, app, request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if token and len(token) < 100:
            data, lost = self._load(token)
            if data is not None:
                return ServerSession(data, token)
            session = ServerSession()
            session.lost = lost
            return session
        return ServerSession()

    def _load(self, token: str) -> tuple[dict | None, str | None]:
        """(the session's data, None), or (None, why it is no more)."""
        now = self.clock()
        key = _hash(token)
        with self.store.connect() as db:
            row = db.execute("SELECT data, created, seen FROM sessions WHERE token_hash = ?", (key,)).fetchone()
            if row is None:
                return None, "ended"
            data = json.loads(row["data"])
            if not session_alive(row["created"], row["seen"], now) or ENDED_KEY in data:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
                if ENDED_KEY in data:
                    return None, str(data[ENDED_KEY])
                return None, "timeout" if now - row["seen"] > IDLE_SECONDS else "lifetime"
            if now - row["seen"] > 30:
                db.execute("UPDATE sessions SET seen = ? WHERE token_hash = ?", (now, key))
        return data, None

    def save_session(self, app, session: ServerSession, response) -> None:
        name = self.get_cookie_name(app)
        options = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                       secure=self.get_cookie_secure(app), httponly=True,
                       samesite=self.get_cookie_samesite(app))
        if session.token and (session.ended or session.renew):
            with self.store.connect() as db:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(session.token),))
        if session.ended or not session:
            if session.token:
                response.delete_cookie(name, **options)
            return
        now = self.clock()
        data = json.dumps(dict(session), ensure_ascii=False)
        if session.token is None or session.renew:
            token = secrets.token_urlsafe(32)
            with self.store.connect() as db:
                db.execute("DELETE FROM sessions WHERE seen < ? OR created < ?",
                           (now - IDLE_SECONDS, now - LIFETIME_SECONDS))
                db.execute("INSERT INTO sessions (token_hash, data, created, seen) VALUES (?, ?, ?, ?)",
                           (_hash(token), data, now, now))
            response.set_cookie(name, token, **options)
            response.vary.add("Cookie")
        elif session.modified:
            with self.store.connect() as db:
                db.execute("UPDATE sessions SET data = ?, seen = ? WHERE token_hash = ?",
                           (data, now, _hash(session.token)))


ENDED_KEY = "ended"  # a session ended for its account (new password, reset, disabled): {"ended": why}


def end_account_sessions(db, account_id: int, why: str) -> int:
    """Every session of an account ends; each record keeps only why, for the page to say so at
    that browser's next request (then it goes; an idle one goes as any other)."""
    return db.execute("UPDATE sessions SET data = ? WHERE json_extract(data, '$.uid') = ?",
                      (json.dumps({ENDED_KEY: why}), account_id)).rowcount


def end_every_session(store) -> int:
    with store.connect() as db:
        return db.execute("DELETE FROM sessions").rowcount


def password_changed(store, password: str | None) -> bool:
    """Record the password in force (as a salted slow hash); when it differs from the one the
    sessions were made under, every session ends. True when they were ended."""
    with store.connect() as db:
        row = db.execute("SELECT value FROM settings WHERE key = 'password'").fetchone()
    if row is not None:
        old = json.loads(row["value"])
        if password is not None and old.get("hash") and _slow_hash(password, bytes.fromhex(old["salt"])) == old["hash"]:
            return False
        if password is None and not old.get("hash"):
            return False
    salt = secrets.token_bytes(16)
    value = {"salt": salt.hex(), "hash": _slow_hash(password, salt) if password is not None else ""}
    with store.connect() as db:
        db.execute("INSERT INTO settings (key, value) VALUES ('password', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (json.dumps(value),))
    if row is None:
        return False
    end_every_session(store)
    return True


def _slow_hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2 ** 14, r=8, p=1).hex()


# --- sign-in throttling --------------------------------------------------------------------------------


class Throttle:
    """Consecutive failed sign-ins per key (an address, an account): after ``FREE_FAILURES`` each
    further attempt waits ``FIRST_DELAY`` doubled per failure, at most ``MAX_DELAY``; a success
    clears them. Attempts made while waiting are refused without looking at the password."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    @staticmethod
    def delay(failures: int) -> float:
        if failures < FREE_FAILURES:
            return 0.0
        return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)

    def wait(self, keys: list[str]) -> float:
        """Seconds until the next attempt is heard (0: now)."""
        now = self.clock()
        with self.store.connect() as db:
            rows = db.execute(f"SELECT failures, last FROM sign_in_failures WHERE key IN ({','.join('?' * len(keys))})",
                              keys).fetchall()
        return max([r["last"] + self.delay(r["failures"]) - now for r in rows] + [0.0])

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self.store.connect() as db:
            for key in keys:
                db.execute("INSERT INTO sign_in_failures (key, failures, last) VALUES (?, 1, ?) "
                           "ON CONFLICT(key) DO UPDATE SET failures = failures + 1, last = excluded.last",
                           (key, now))

    def succeeded(self, keys: list[str]) -> None:
        with self.store.connect() as db:
            db.executemany("DELETE FROM sign_in_failures WHERE key = ?", [(k,) for k in keys])


def throttle_keys(address: str | None, account: str) -> list[str]:
    """What failed sign-ins are counted under: the address, and the account named (the shared
    password of before: 管理员)."""
    return [f"地址 {address}", f"账号 {account or '管理员'}"]


def wait_message(seconds: float) -> str:
    seconds = math.ceil(seconds)
    text = f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"
    return f"连续输错密码次数过多，请在 {text}后再试。"


# --- redirects ----------------------------------------------------------------------------------------


def safe_target(target: str | None, url_map, default: str = "/") -> str:
    """``target`` when it is a page of this site (a path of one of its routes, query kept);
    ``default`` for anything else: another host (``//evil``, ``/\\evil``, ``/%09/evil`` once the
    browser drops the tab), a scheme, control characters or whitespace (CR LF), an unknown path."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    # a backslash anywhere (``/\\evil`` too); line and paragraph separators are whitespace; a path of
    # one leading slash has no scheme or host
    if any(c == "\\" or c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in target):
        return default
    parts = urlsplit(target)
    try:
        url_map.bind("localhost").match(parts.path)  # as a GET (the adapter's default method)
    except HTTPException:
        return default
    return target


def form_page(referer: str | None, host: str, url_map) -> str | None:
    """The page a POST's form was on: its Referer's path when the Referer is this site (the host
    the request was sent to) and the path one of its pages; None otherwise. The query is left
    out (a ``?saved=`` would claim a save that did not happen)."""
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != (host or "").lower():
        return None
    from urllib.parse import unquote

    target = safe_target(unquote(parts.path or "/"), url_map, "")  # decoded, as ``request.path`` is
    return target or None


def landing(next_target: str | None, url_map, role: str | None, home: str) -> str:
    """Where a sign-in goes: the page asked for when it is one of this site's, else ``home``;
    a region's account goes to its own page rather than to the board."""
    target = safe_target(next_target, url_map, home)
    return home if role == REGION and target == "/" else target


# --- who may reach what ---------------------------------------------------------------------------------


def allowed(endpoint: str | None, role: str | None) -> bool:
    """Whether a role may reach an endpoint at all (the region check comes after)."""
    if endpoint in OPEN:
        return True
    if role is None:
        return False
    if endpoint in ADMIN_ONLY:
        return role == ADMIN
    if role == REGION:
        return endpoint in REGION_ENDPOINTS
    return role in DEPARTMENT


NO_RIGHT = "您的账号无权使用这个页面。"
ADMIN_NO_WORK = "管理员账号只管理账号和截止日期；考评、退回、生成请用考评账号。"
OTHER_REGION = "只能查看和填报本地区的考评表。"


def access(endpoint: str | None, method: str, full_path: str, region: str | None, user: dict | None,
           auth_required: bool) -> tuple[str, str] | None:
    """The decision before every request: None when it may go on; else ("login", the page to
    come back to), ("password", ""), ("home", the account's region) or ("refuse", why: 403).
    ``region``: the route's region name, if it has one; ``user``: the signed-in account."""
    if endpoint in OPEN and endpoint != "password":
        return None
    if user is None:
        if not auth_required:
            return None
        return "login", full_path.rstrip("?") if method == "GET" else "/"
    if user["must_change"] and endpoint != "password":
        return "password", ""
    if endpoint is None or endpoint == "password":
        return None  # not found, or the page every account has
    if user["role"] == LOCAL:
        return None
    if user["role"] == REGION and endpoint == "board":
        return "home", user["region"]
    if not allowed(endpoint, user["role"]):
        return "refuse", NO_RIGHT
    if user["role"] == ADMIN and method == "POST" and endpoint not in ADMIN_ONLY:
        return "refuse", ADMIN_NO_WORK
    if user["role"] == REGION and region is not None and region != user["region"]:
        return "refuse", OTHER_REGION
    return None


# --- the form token --------------------------------------------------------------------------------------


def form_token_ok(sent: str | None, expected: str) -> bool:
    """The form carries this session's token (compared in constant time, as UTF-8: a forged token
    in any characters is refused, not an error); no token is never one."""
    return bool(sent) and hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


# --- downloads ---------------------------------------------------------------------------------------------


def inside(output: Path, relative: str) -> Path | None:
    """The file at ``relative`` under ``output`` when it is one there (not a folder, not outside)."""
    root = Path(output).resolve()
    target = (Path(output) / relative).resolve()
    if root not in target.parents or not target.is_file():
        return None
    return target


def manifest_file(output: Path, manifest: dict[str, dict], path: str, is_current=None) -> Path | None:
    """A file named in the manifest, and only such a file: the manifest itself, the build's cache
    and anything else in ``output`` are not; with ``is_current`` (entry → bool), only while it
    matches the current results."""
    entry = manifest.get(path)
    if entry is None or (is_current is not None and not is_current(entry)):
        return None
    return inside(output, entry["path"])


# --- Host, Origin, Referer ------------------------------------------------------------------------------


def served_hosts(host: str, port: int | None, public_url: str | None) -> set[str]:
    """The Host headers this site answers to: its loopback names when it listens there, the
    address it listens on, and the host of ``--public-url``. Without a port: any port."""
    names = set(LOOPBACK_NAMES) if host in ("127.0.0.1", "localhost", "::1") else {host.lower()}
    if ":" in host and not host.startswith("["):
        names.add(f"[{host.lower()}]")
    hosts = {f"{n}:{port}" for n in names} if port else set(names)
    if public_url:
        hosts.add(urlsplit(public_url).netloc.lower())
    return hosts


def host_allowed(request_host: str, hosts: set[str]) -> bool:
    request_host = request_host.lower()
    if request_host in hosts:
        return True
    name = request_host.rsplit(":", 1)[0] if not request_host.endswith("]") else request_host
    return name in hosts  # a host listed without a port


def same_origin(request) -> bool:
    """The POST came from a page of this site: its Origin (or, without one, its Referer) names
    the host the request was sent to."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False  # an opaque origin ("null": a sandboxed frame, a file) fails the scheme below
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()
