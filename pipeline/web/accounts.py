"""Accounts and roles (issue #17): 管理员 creates accounts and sets the year's deadlines, 考评
(department staff) sees everything and rates, 地区 (one per region) sees and edits only its own
return.

Passwords are kept only as salted scrypt hashes. Every new or reset password is a one-time code
that must be changed at the first sign-in. What each role may reach is decided in one place
(``guard.access`` and ``guard.allowed``, over the endpoint sets below, checked before every
request), never in scattered page code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

ADMIN, REVIEWER, REGION = "管理员", "考评", "地区"
ROLES = (ADMIN, REVIEWER, REGION)
DEPARTMENT = frozenset({ADMIN, REVIEWER})
MIN_LENGTH = 10
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone or on paper
SCRYPT = dict(n=2 ** 14, r=8, p=1)  # 16 MiB of memory per hash

SCHEMA = """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('管理员', '考评', '地区')),
        region TEXT,
        password TEXT NOT NULL,
        must_change INTEGER NOT NULL DEFAULT 1,
        disabled INTEGER NOT NULL DEFAULT 0,
        password_set_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        CHECK ((role = '地区') = (region IS NOT NULL))
    );
    CREATE UNIQUE INDEX one_account_per_region ON accounts(region) WHERE region IS NOT NULL AND disabled = 0
"""

# Endpoint → roles that may reach it. Endpoints not listed are the department's (管理员, 考评):
# pages added later are closed to regions unless named here. Region routes taking ``name`` are
# further limited to the region's own name (``region_may``).
OPEN = {"login", "static", "logout", "password"}
REGION_ENDPOINTS = {"home", "return_page", "return_save", "return_xlsx", "evidence_file", "return_checklist"}
ADMIN_ONLY = {"accounts_page", "accounts_add", "accounts_reset", "accounts_disable", "accounts_codes",
              "deadlines_save", "password_days_save"}
DEFAULT_PASSWORD_DAYS = 90  # 密码有效期 until the 管理员 sets one (README: 账号)
MAX_PASSWORD_DAYS = 3650


class AccountError(ValueError):
    """Something about an account the user can fix (said in Chinese)."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found.hex(), digest)


DUMMY_HASH = hash_password(secrets.token_urlsafe(12))  # an unknown name costs as much as a wrong password


def one_time_code() -> str:
    """12 characters in three groups (about 60 bits): ``K7QP-M3XW-9TRA``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def as_code(given: str) -> str | None:
    """A one-time code as printed (``K7QP-M3XW-9TRA``) from what a clerk typed: in either case,
    with or without the hyphens (or with spaces for them), with spaces around; None when it is
    not a code's 12 characters (a password is never rewritten)."""
    import re

    found = re.fullmatch(rf"([{CODE_ALPHABET}]{{4}})[-\s]*([{CODE_ALPHABET}]{{4}})[-\s]*([{CODE_ALPHABET}]{{4}})",
                         given.strip().upper())
    return "-".join(found.groups()) if found else None


def password_problems(password: str, name: str) -> list[str]:
    """Length and complexity (等保 2.0 身份鉴别), in Chinese."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 位")
    kinds = sum([any(c.islower() and c.isascii() for c in password), any(c.isupper() and c.isascii() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() or not c.isascii() for c in password)])
    if kinds < 3:
        problems.append("密码须含大写字母、小写字母、数字、符号中的至少三种")
    if name and name.lower() in password.lower():
        problems.append("密码中不能含有账号名")
    return problems


class Accounts:
    """The ``accounts`` table of the store."""

    def __init__(self, store, clock=time.time):
        self.store = store
        self.clock = clock  # seconds (the page's clock, which tests set)

    def now(self) -> str:
        return dt.datetime.fromtimestamp(self.clock()).isoformat(timespec="seconds")

    def password_age(self, account: dict) -> float:
        """Seconds since the account's password was set, by this clock."""
        return self.clock() - dt.datetime.fromisoformat(account["password_set_at"]).timestamp()

    def password_days(self) -> int:
        """The 密码有效期 in days (0: passwords do not expire)."""
        with self.store.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'password_days'").fetchone()
        return DEFAULT_PASSWORD_DAYS if row is None else int(row["value"])

    def set_password_days(self, given: str | None) -> int:
        """Set the 密码有效期 from the form's text (empty: 0, no expiry); returns the old value."""
        text = (given or "").strip() or "0"
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_PASSWORD_DAYS:
            raise AccountError(f"密码有效期应为 0 至 {MAX_PASSWORD_DAYS} 之间的整数天数（0 或不填为不过期），不是“{(given or '')[:20]}”")
        old = self.password_days()
        with self.store.connect() as db:
            db.execute("INSERT INTO settings (key, value) VALUES ('password_days', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(int(text)),))
        return old

    def _row(self, db, name: str):
        return db.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()

    def any(self) -> bool:
        """Whether accounts are in use: once one is made the page asks every visitor to sign in,
        even with every account disabled (it never falls back to the open page of a single clerk)."""
        with self.store.connect() as db:
            return db.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def any_department(self) -> bool:
        with self.store.connect() as db:
            return db.execute("SELECT 1 FROM accounts WHERE disabled = 0 AND role != '地区' LIMIT 1").fetchone() is not None

    def list(self) -> list[dict]:
        with self.store.connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT id, name, role, region, must_change, disabled, password_set_at, created_at FROM accounts"
                " ORDER BY CASE role WHEN '管理员' THEN 0 WHEN '考评' THEN 1 ELSE 2 END, id")]

    def get(self, account_id: int) -> dict | None:
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return dict(row) if row else None

    def by_name(self, name: str) -> dict | None:
        with self.store.connect() as db:
            row = self._row(db, name)
        return dict(row) if row else None

    def add(self, name: str, role: str, region: str | None = None, content=None) -> str:
        """A new account; returns its one-time code (shown once, kept only as a hash)."""
        name = (name or "").strip()
        if not name or len(name) > 40 or any(c.isspace() or not c.isprintable() for c in name):
            raise AccountError("账号名不能为空、不能含空格，最长 40 个字")
        if role not in ROLES:
            raise AccountError(f"角色应为 {'、'.join(ROLES)} 之一，不是“{role}”")
        if role == REGION:
            region = region or name
            if content is not None and content.region(region) is None:
                raise AccountError(f"地区“{region}”不在地区名单中")
        else:
            region = None
        code = one_time_code()
        with self.store.connect() as db:
            if self._row(db, name) is not None:
                raise AccountError(f"账号“{name}”已存在")
            if region and db.execute("SELECT 1 FROM accounts WHERE region = ? AND disabled = 0", (region,)).fetchone():
                raise AccountError(f"{region}已有账号；如需新密码请重置")
            db.execute("INSERT INTO accounts (name, role, region, password, must_change, password_set_at, created_at)"
                       " VALUES (?, ?, ?, ?, 1, ?, ?)", (name, role, region, hash_password(code), self.now(), self.now()))
        return code

    def reset(self, name: str) -> str:
        """A new one-time code (to be changed at the next sign-in); every session of the account ends."""
        code = one_time_code()
        with self.store.connect() as db:
            row = self._row(db, name)
            if row is None:
                raise AccountError(f"没有账号“{name}”")
            db.execute("UPDATE accounts SET password = ?, must_change = 1, disabled = 0, password_set_at = ?"
                       " WHERE id = ?", (hash_password(code), self.now(), row["id"]))
        self.end_sessions(row["id"], "reset")
        return code

    def disable(self, name: str) -> None:
        with self.store.connect() as db:
            row = self._row(db, name)
            if row is None:
                raise AccountError(f"没有账号“{name}”")
            if row["role"] == ADMIN and not row["disabled"] and db.execute(
                    "SELECT COUNT(*) FROM accounts WHERE role = ? AND disabled = 0", (ADMIN,)).fetchone()[0] == 1:
                raise AccountError(f"“{name}”是唯一在用的管理员账号，停用后无人能管理账号；请先新建另一个管理员账号")
            db.execute("UPDATE accounts SET disabled = 1 WHERE id = ?", (row["id"],))
        self.end_sessions(row["id"], "disabled")

    def set_password(self, account_id: int, old: str, new: str) -> None:
        account = self.get(account_id)
        if account is not None and account["must_change"]:
            old = as_code(old) or old
        if account is None or not verify_password(old, account["password"]):
            raise AccountError("原密码不对")
        problems = password_problems(new, account["name"])
        if verify_password(new, account["password"]):
            problems.append("新密码不能与原密码相同")
        if problems:
            raise AccountError("；".join(problems))
        with self.store.connect() as db:
            db.execute("UPDATE accounts SET password = ?, must_change = 0, password_set_at = ? WHERE id = ?",
                       (hash_password(new), self.now(), account_id))
        self.end_sessions(account_id, "password")

    def check(self, name: str, password: str) -> dict | None:
        """The enabled account with this name and password, else None (same cost either way). While
        the account's password is a one-time code, the code is also taken as typed by hand
        (``as_code``)."""
        account = self.by_name(name)
        if account is None:
            verify_password(password, DUMMY_HASH)
            return None
        if account["must_change"]:
            password = as_code(password) or password
        if not verify_password(password, account["password"]) or account["disabled"]:
            return None
        return account

    def end_sessions(self, account_id: int, why: str = "ended") -> int:
        """Every session of the account ends; its browser is told ``why`` at its next request
        (``guard.end_account_sessions``)."""
        from .guard import end_account_sessions

        with self.store.connect() as db:
            return end_account_sessions(db, account_id, why)
