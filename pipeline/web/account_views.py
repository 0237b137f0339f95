"""Signing in, who may reach what, accounts, deadlines and the audit log (issue #17).

``authorise`` runs before every request: it finds the signed-in account (ending its session when
the account was disabled or its password changed), sends a first sign-in to the password page,
and applies ``guard.access`` (the roles' rights and the region rule). Without accounts and without a password,
on this machine only, the page is open as before (one clerk at one computer)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

from flask import (Response, abort, current_app, g, redirect, render_template, request, session,
                   url_for)

from .accounts import DEPARTMENT, REGION, ROLES, AccountError
from .guard import (LOCAL, access, account_session_ok, form_page, landing, password_expired, password_reminder, safe_target,
                    throttle_keys, wait_message)


def site():
    return current_app.extensions["site"]


def auth_required() -> bool:
    return bool(current_app.extensions["password"]) or site().accounts.any()


def current_user() -> dict | None:
    """The signed-in account ({name, role, region, must_change, ...}), once per request. A password
    older than the 密码有效期 sets ``must_change`` (``guard.access`` then allows only the password
    page) and ``expired`` (the days); ``first``: a one-time code; ``remind``: days left."""
    if "user_info" in g:
        return g.user_info
    user = None
    uid = session.get("uid")
    if uid is not None:
        account = site().accounts.get(uid)
        if not account_session_ok(account, session.get("pwset")):
            session.end()  # disabled or given a new password since: this session is over
            g.session_lost = "disabled" if account is None or account["disabled"] else "password"
        else:
            accounts = site().accounts
            days, age = accounts.password_days(), accounts.password_age(account)
            expired = password_expired(age, days)
            user = {"id": account["id"], "name": account["name"], "role": account["role"],
                    "region": account["region"], "must_change": bool(account["must_change"]) or expired,
                    "first": bool(account["must_change"]), "expired": days if expired else None,
                    "remind": None if account["must_change"] else password_reminder(age, days)}
    elif session.get("user") and current_app.extensions["password"] and not site().accounts.any():
        user = {"id": None, "name": "共用密码", "role": LOCAL, "region": None, "must_change": False}
    elif not auth_required():
        user = {"id": None, "name": LOCAL, "role": LOCAL, "region": None, "must_change": False}
    g.user_info = user
    return user


def role() -> str | None:
    user = current_user()
    return user["role"] if user else None


def is_department() -> bool:
    return role() in DEPARTMENT or role() == LOCAL


def audit(event: str, **fields) -> None:
    """One entry in the audit log, by the signed-in account, from the request's address."""
    from .audit import record

    user = current_user() or {}
    fields.setdefault("address", request.remote_addr or "")
    record(site().store, site().workflow.year, fields.pop("account", user.get("name") or "（未登录）"), event,
           role=fields.pop("role", user.get("role") or ""), **fields)


def authorise():
    """None when the request may go on; else the response that ends it (redirect or 403), as
    ``guard.access`` decides."""
    user = current_user()
    decision = access(request.endpoint, request.method, request.full_path, (request.view_args or {}).get("name"),
                      user, user is not None or auth_required())
    if decision is None:
        return None
    kind, value = decision
    if kind == "login":
        if request.method == "POST":  # back to the form's page, not to the home page
            value = form_page(request.headers.get("Referer"), request.host, current_app.url_map) or value
        why = g.get("session_lost") or getattr(session, "lost", None)
        if why is None and request.method == "POST":
            why = "ended"  # a form of a signed-in page, its cookie gone (退出 in another tab of this browser)
        return redirect(url_for("login", next=value, **({"why": why} if why else {})))
    if kind == "password":
        return redirect(url_for("password"))
    if kind == "home":
        return redirect(url_for("return_page", name=value))
    abort(403, value)


def sign_in():
    throttle = current_app.extensions["throttle"]
    password = current_app.extensions["password"]
    accounts = site().accounts
    with_accounts = accounts.any()
    error, code, name = None, 200, ""
    if request.method == "POST":
        from . import check_password

        name = request.form.get("account", "").strip()[:40]
        given = request.form.get("password", "")
        keys = throttle_keys(request.remote_addr, name)
        wait = throttle.wait(keys)
        if wait > 0:
            error, code = wait_message(wait), 429
        else:
            account = accounts.check(name, given) if with_accounts and name else None
            if account is not None:
                throttle.succeeded(keys)
                session.start_anew(uid=account["id"], pwset=account["password_set_at"])
                g.pop("user_info", None)
                audit("登录", account=account["name"], role=account["role"], region=account["region"])
                if account["must_change"]:
                    return redirect(url_for("password"))
                default = url_for("return_page", name=account["region"]) if account["role"] == REGION else "/"
                return redirect(landing(request.args.get("next"), current_app.url_map, account["role"], default))
            if password and not name and not with_accounts and check_password(given, password):
                # the shared password of before: only while there are no accounts (等保: no shared account)
                throttle.succeeded(keys)
                session.start_anew(user=True)
                audit("登录", account="共用密码", role=LOCAL)
                return redirect(safe_target(request.args.get("next"), current_app.url_map))
            throttle.failed(keys)
            audit("登录失败", account=name or "（未填账号）", role="", result="失败")
            error, code = ("账号或密码不对，请重新输入。" if with_accounts else "密码不对，请重新输入。"), 401
    why = request.args.get("why") if request.method == "GET" else None
    return render_template("login.html.j2", error=error, with_accounts=with_accounts, account=name, why=why), code


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app) -> None:
    from .workflow import days_left, display_deadline

    app.jinja_env.globals.update(current_user=current_user, is_department=is_department, roles=ROLES,
                                 deadline_info=lambda: deadline_info(days_left, display_deadline))

    @app.route("/password", methods=["GET", "POST"])
    def password():
        user = current_user()
        if user is None or user["id"] is None:
            return redirect(url_for("login"))
        error = None
        if request.method == "POST":
            new = request.form.get("new", "")
            try:
                if new != request.form.get("again", ""):
                    raise AccountError("两次输入的新密码不一致")
                site().accounts.set_password(user["id"], request.form.get("old", ""), new)
            except AccountError as exc:
                error = str(exc)
                audit("修改密码", object=user["name"], result="失败", reason=error)
            else:
                account = site().accounts.get(user["id"])
                session.start_anew(uid=account["id"], pwset=account["password_set_at"])
                g.pop("user_info", None)
                audit("修改密码", object=user["name"])
                default = url_for("return_page", name=account["region"]) if account["role"] == REGION else "/"
                return redirect(default + ("?saved=password" if account["role"] == REGION else ""))
        return render_template("password.html.j2", error=error, first=user["first"], expired=user["expired"]), \
            (400 if error else 200)

    from . import return_views
    return_views.register(app)

    @app.after_request
    def audit_department_actions(response):
        """The department's changes and exports made on the pages of before #17, each recorded
        (the pages of #17 record their own, with old → new)."""
        event = LOGGED.get((request.method, request.endpoint))
        sent = response.headers.get("Content-Disposition", "")
        if event is None and sent.startswith("attachment") and response.status_code == 200:
            event = "下载文件"  # any other download (佐证材料, blank forms, 统计, exports): who took what
        if event and response.status_code < 400 and current_user() is not None:
            args = request.view_args or {}
            if event == "下载文件":
                name = sent.partition("filename*=UTF-8''")[2] or sent.partition("filename=")[2].strip('"')
                audit(event, region=args.get("name"), object=unquote(name) or request.path)
            elif request.endpoint == "upload":
                what = "、".join(f.filename for f in request.files.getlist("workbooks") if f and f.filename)
                new = response.headers.get("Location", "").rsplit("/", 1)[-1]
                audit(event, object=what[:500], new=f"第 {new} 批" if new.isdigit() else "")
            elif request.endpoint in ("make_current", "choose"):
                audit(event, region=args.get("name"), object=request.form.get("version", ""),
                      new=request.form.get("keep", ""))
            elif request.endpoint == "generate":
                audit(event, object="征求意见稿" if request.form.get("draft") == "1" else "全部文档")
            else:
                audit(event, region=args.get("name"), object=request.args.get("path", "") or request.path)
        return response

    # --- accounts (管理员) ------------------------------------------------------------------------
    def accounts_view(code=None, error=None, status=200):
        content = site().content
        accounts = site().accounts.list()
        taken = {a["region"] for a in accounts if a["region"] and not a["disabled"]}
        response = Response(render_template(
            "accounts.html.j2", accounts=accounts, regions=content.regions.regions, code=code, error=error,
            without=[r.name for r in content.regions.regions if r.name not in taken],
            deadlines=site().workflow.deadlines(), password_days=site().accounts.password_days(),
            ages=password_ages(site().accounts, accounts)), status=status)
        return no_store(response)

    @app.get("/accounts")
    def accounts_page():
        return accounts_view()

    @app.post("/accounts/add")
    def accounts_add():
        role_given = request.form.get("role", "")
        name = request.form.get("name", "").strip()
        region = request.form.get("region", "").strip() or None
        if role_given == REGION and not name:
            name = region or ""
        try:
            code = site().accounts.add(name, role_given, region, site().content)
        except AccountError as exc:
            audit("新建账号", object=name, new=role_given, result="失败", reason=str(exc))
            return accounts_view(error=str(exc), status=400)
        account = site().accounts.by_name(name)
        audit("新建账号", object=name, new=f"{role_given}{'（' + account['region'] + '）' if account['region'] else ''}",
              region=account["region"])
        return accounts_view(code={"name": name, "code": code, "what": "新账号"})

    @app.post("/accounts/reset")
    def accounts_reset():
        name = request.form.get("name", "")
        try:
            code = site().accounts.reset(name)
        except AccountError as exc:
            return accounts_view(error=str(exc), status=400)
        account = site().accounts.by_name(name)
        audit("重置密码", object=name, region=account["region"], reason="管理员重置，下次登录须修改")
        return accounts_view(code={"name": name, "code": code, "what": "新的一次性登录码"})

    @app.post("/accounts/disable")
    def accounts_disable():
        name = request.form.get("name", "")
        user = current_user()
        if name == user["name"]:
            return accounts_view(error="不能停用自己正在使用的账号", status=400)
        try:
            site().accounts.disable(name)
        except AccountError as exc:
            return accounts_view(error=str(exc), status=400)
        account = site().accounts.by_name(name)
        audit("停用账号", object=name, region=account["region"], old="启用", new="停用")
        return redirect(url_for("accounts_page"))

    @app.post("/accounts/codes.pdf")
    def accounts_codes():
        """Accounts for every region without one, and their codes as a printable PDF (only here)."""
        url = request.form.get("url", "").strip() or request.host_url
        created = []
        for region in site().content.regions.regions:
            if site().accounts.by_name(region.name) is None:
                try:
                    created.append((region, site().accounts.add(region.name, REGION, region.name, site().content)))
                except AccountError:
                    continue
        if not created:
            return accounts_view(error="各地区都已有账号；要给某个地区新的登录码，请在下表中“重置密码”。", status=400)
        for region, _ in created:
            audit("新建账号", object=region.name, new="地区", region=region.name, reason="批量生成登录码清单")
        from .codes import codes_pdf
        data = codes_pdf(site().content, created, url)
        from .views import send_bytes
        return no_store(send_bytes(data, f"{site().content.tasks.year}年度各地区登录码.pdf", "application/pdf"))

    @app.post("/deadlines")
    def deadlines_save():
        workflow = site().workflow
        given = {k: request.form.get(k, "").strip() or None for k in ("self_due", "review_due")}
        try:
            old = workflow.set_deadlines(given["self_due"], given["review_due"])
        except ValueError as exc:
            message = str(exc) if "截止" in str(exc) else "日期格式应为 2026-12-31"
            return accounts_view(error=message, status=400)
        names = {"self_due": "自评截止", "review_due": "考评截止"}
        for key, label in names.items():
            if (old[key] or None) != given[key]:
                audit("修改截止日期", object=label, old=old[key] or "（未设）", new=given[key] or "（未设）")
        return redirect(url_for("accounts_page"))

    @app.post("/password-days")
    def password_days_save():
        accounts = site().accounts
        given = request.form.get("password_days", "")
        try:
            old = accounts.set_password_days(given)
        except AccountError as exc:
            return accounts_view(error=str(exc), status=400)
        new = accounts.password_days()
        if old != new:
            audit("修改密码有效期", object="密码有效期", old=days_text(old), new=days_text(new))
        return redirect(url_for("accounts_page"))

    # --- the audit log (考评, 管理员) ------------------------------------------------------------
    @app.get("/audit")
    def audit_page():
        from .audit import entries
        region = request.args.get("region") or None
        if region and site().content.region(region) is None:
            abort(404)
        rows = entries(site().store, site().workflow.year, region, limit=1000)
        return render_template("audit.html.j2", rows=rows, region=region,
                               regions=site().content.regions.regions)

    @app.get("/audit.xlsx")
    def audit_export():
        from .audit import entries, to_xlsx
        from .views import send_bytes
        region = request.args.get("region") or None
        if region and site().content.region(region) is None:
            abort(404)
        year = site().workflow.year
        rows = entries(site().store, year, region)
        audit("导出操作记录", region=region, object=region or "全年")
        title = f"{year}年度民政工作目标责任制考评操作记录" + (f"（{region}）" if region else "")
        return send_bytes(to_xlsx(rows, title), f"操作记录-{region or str(year) + '年度'}.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# (method, endpoint) → event, for the pages that do not record their own
LOGGED = {("POST", "upload"): "上传考评表", ("POST", "make_current"): "设为当前版本",
          ("POST", "choose"): "选择考评等次", ("POST", "generate"): "生成文档",
          ("GET", "export"): "导出结果表", ("GET", "all_zip"): "下载全部文档", ("GET", "file"): "下载文档",
          ("GET", "region_document"): "下载文档", ("GET", "uploaded"): "下载交回的考评表"}


def days_text(days: int) -> str:
    return f"{days} 天" if days else "不过期"


def password_ages(accounts, rows: list[dict]) -> dict[str, str]:
    """Account name → its password's age and expiry, in Chinese (the 管理员's page, ``users list``)."""
    days = accounts.password_days()
    return {a["name"]: password_age_text(accounts.password_age(a), days) for a in rows}


def password_age_text(age: float, days: int) -> str:
    used = max(0, int(age // 86400))
    text = f"已用 {used} 天"
    if not days:
        return text + "，不过期"
    if password_expired(age, days):
        return text + f"，已超过 {days} 天有效期"
    left = password_reminder(age, days)
    return text + (f"，{left} 天内到期" if left else f"，{days - used} 天后到期")


def deadline_info(days_left, display_deadline) -> dict | None:
    due = site().workflow.deadlines()
    if not due["self_due"] and not due["review_due"]:
        return None
    today = site().workflow.today()
    return {key: {"date": display_deadline(value), "left": days_left(value, today)} if value else None
            for key, value in due.items()}


__all__ = ["authorise", "sign_in", "audit", "current_user", "register", "dt"]
