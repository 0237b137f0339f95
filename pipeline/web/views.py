"""The pages and their routes. Each one parses the request, calls the library, shows the result."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from flask import (Response, abort, current_app, g, redirect, render_template, request, send_file,
                   session, url_for)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import DataError
from ..model import AssessmentClass, Rating
from . import MAX_FILES, STATUSES
from .guard import form_token_ok, host_allowed, same_origin

MAX_ID = 2 ** 62  # ids beyond what the database can hold are simply not found

CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
DOCUMENT_FORMATS = ("pdf", "ofd", "docx")
CHECKLIST_FORMATS = ("pdf", "ofd", "docx", "xlsx")


def site():
    return current_app.extensions["site"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def register(app) -> None:
    # every template escapes what it prints (Flask would only for names ending in .html)
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(csrf_token=csrf_token, statuses=STATUSES, ratings=[r.value for r in Rating],
                                 classes=list(AssessmentClass), site_year=lambda: site().content.tasks.year)
    app.jinja_env.filters["local_time"] = local_time

    @app.before_request
    def guard():
        if not host_allowed(request.host, current_app.extensions["hosts"]):
            g.refused = True  # (recorded by http_error, as every refusal of the guard's)
            abort(400, "网址中的主机名不是本系统的地址，请用管理员告知的网址访问。")
        from .account_views import authorise

        refused = authorise()
        if refused is not None:
            return refused
        if request.endpoint == "logout" and getattr(session, "lost", None):
            # nothing to sign out of (the browser's session had ended): say so, not "form expired"
            return redirect(url_for("login", why=session.lost))
        if request.method == "POST":
            if not same_origin(request):
                abort(403, "请求不是从本系统的页面发出的，已拒绝。请打开本系统的页面后再操作。")
            try:
                sent = request.form.get("csrf_token", "")
            except UnicodeDecodeError:
                abort(400, "文件名中有无法识别的字符（不是 UTF-8 编码的文字），未上传。"
                           "请把文件改为简单的名字（如 九台区.xlsx）后重新上传。")
            except ValueError:
                abort(400, "表单内容无法识别，未处理。请返回刷新页面后重试。")
            g.refused = not form_token_ok(sent, session.get("csrf", ""))
            if g.refused:
                abort(400, "表单已过期或来源不明（缺少校验码），未保存。可能已在其他窗口重新登录或修改了密码；"
                           "请返回原页面后重试。")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)  # a download may set a stricter one
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # Origin stays on our own POSTs
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {404: "没有这个页面或文件。", 405: "不支持这种操作。"}  # (413: session_pages' own page)
        text = exc.description if exc.code in (400, 403, 409) else messages.get(exc.code, "请求有误。")
        if exc.code == 403 or (exc.code == 400 and g.get("refused")):
            # 等保 安全审计: a page or an action refused (another region's data, a forged or stale
            # form, a foreign host), with who and from where; a form's own mistakes are not
            from .account_views import audit
            audit("拒绝访问", object=f"{request.method} {request.path}", reason=text, result="拒绝")
        back = None
        if request.method == "POST":  # a refused form: back to its page (what was typed is offered there again)
            from .session_pages import back_target
            back = back_target(request.headers.get("Referer"), request.host)
        return render_template("error.html.j2", code=exc.code, message=text, back=back,
                               back_label="返回原页面" if back else None), exc.code

    @app.route("/login", methods=["GET", "POST"])
    def login():
        from .account_views import sign_in
        return sign_in()

    @app.post("/logout")
    def logout():
        from .account_views import audit, auth_required, current_user
        if session.get("user") or (current_user() is not None and auth_required()):
            audit("退出登录")
        session.end()
        return redirect(url_for("login", why="signed-out"))

    # --- 总览 ----------------------------------------------------------------------------------------
    @app.get("/")
    def board():
        rows, _ = site().board()
        level = request.args.get("level", "")
        status = request.args.get("status", "")
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
        shown = [r for r in rows if (not level or r["region"].assessment_class.value == level)
                 and (not status or r["status"] == status)]
        groups: dict[str, list] = {}
        for row in shown:
            region = row["region"]
            groups.setdefault(region.parent or region.name, []).append(row)
        book = site().content.tasks
        table = [(c, [(t, [cls.value for cls in AssessmentClass if book.applies(t, cls)]) for t in c.tasks])
                 for c in book.table.categories]
        return render_template("board.html.j2", groups=groups, counts=counts, level=level, status=status,
                               total=len(rows), table=table, book=book,
                               waiting=sum(1 for r in rows if r["waiting"]))

    # --- 考评表 ----------------------------------------------------------------------------------------
    @app.get("/checklists")
    def checklists():
        return render_template("checklists.html.j2", regions=site().content.regions.regions,
                               formats=CHECKLIST_FORMATS, document_formats=DOCUMENT_FORMATS)

    @app.get("/checklists/地区考评表.zip")
    def checklists_zip():
        """Every region's blank workbook, in a folder per 市（州）."""
        import io
        import zipfile

        from ..jobs import checklist_job

        content = site().content
        jobs = [checklist_job(content, r.assessment_class, r) for r in content.regions.regions]
        try:
            entries = site().render(jobs, formats=("xlsx",))
        except (DataError, RuntimeError) as exc:
            abort(400, f"未能生成：{exc}")
        by_region = {e.region: e for e in entries if e.format == "xlsx"}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for region in content.regions.regions:
                entry = by_region.get(region.name)
                target = site().file_for(entry.path, current_only=False) if entry else None
                if target is not None:
                    archive.write(target, f"{region.parent or region.name}/考评表-{region.name}.xlsx")
        return send_bytes(buffer.getvalue(), f"{content.tasks.year}年度各地区考评表.zip", "application/zip")

    @app.get("/notice/<fmt>")
    def notice(fmt: str):
        from ..jobs import notice_job

        if fmt not in DOCUMENT_FORMATS:
            abort(404)
        return send_rendered(notice_job(site().content), fmt)

    @app.get("/checklist/<name>/<fmt>")
    def checklist(name: str, fmt: str):
        from ..jobs import checklist_job

        content = site().content
        if fmt not in CHECKLIST_FORMATS:
            abort(404)
        cls = AssessmentClass.parse(name)
        region = content.region(name) if cls is None else None
        if cls is None and region is None:
            abort(404)
        job = checklist_job(content, cls or region.assessment_class, region)
        return send_rendered(job, fmt)

    # --- 上传 ------------------------------------------------------------------------------------------
    @app.route("/upload", methods=["GET", "POST"])
    def upload():
        from .intake import take_batch

        refused = None
        if request.method == "POST":
            files = [f for f in request.files.getlist("workbooks") if f and f.filename]
            if not files:
                refused = "请选择要上传的考评表（.xlsx 工作簿）。"
            elif len(files) > MAX_FILES:
                refused = f"一次最多上传 {MAX_FILES} 个工作簿，这次选了 {len(files)} 个。"
            else:
                named = [(f.filename.replace("\\", "/").rsplit("/", 1)[-1] or "未命名.xlsx", f.read()) for f in files]
                batch, _ = take_batch(site().store, site().content, named)
                return redirect(url_for("upload_batch", batch_id=batch))
        return render_template("upload.html.j2", batch=None, refused=refused, max_files=MAX_FILES,
                               unplaced=site().store.unplaced()), (400 if refused else 200)

    @app.get(f"/upload/batch/<int(max={MAX_ID}):batch_id>")
    def upload_batch(batch_id: int):
        rows = site().store.batch(batch_id)
        if rows is None:
            abort(404)
        rows.sort(key=lambda u: (bool(u["accepted"]), not u["warnings"] and not u["waiting"]))
        return render_template("upload.html.j2", batch=rows, refused=None, max_files=MAX_FILES,
                               unplaced=site().store.unplaced())

    @app.get(f"/upload/<int(max={MAX_ID}):upload_id>")
    def uploaded(upload_id: int):
        info = site().store.upload_info(upload_id)
        if info is None:
            abort(404)
        _, data = site().store.upload_data(upload_id)
        # the original name is shown as text only: the download is named by what it is
        if info["filename"].lower().endswith(".xlsx") and data[:2] == b"PK":
            return send_bytes(data, f"交回的考评表-{info['region'] or '未识别地区'}-{upload_id}.xlsx",
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return send_bytes(data, f"上传的文件-{upload_id}.bin", "application/octet-stream")

    # --- 地区 ------------------------------------------------------------------------------------------
    def region_or_404(name: str):
        region = site().content.region(name)
        if region is None:
            abort(404)
        return region

    @app.get("/region/<name>")
    def region_page(name: str, errors=None, entered=None, conflict=None):
        region = region_or_404(name)
        content = site().content
        store = site().store
        states, _ = site().states(only=region.name)
        state = states[region.name]
        rows = store.rows(region.name)
        uploads = store.uploads(region.name)
        footer = next((u["footer"] for u in uploads if u["accepted"] and u["footer"]), {})
        return render_template("region.html.j2", region=region, state=state, tasks=content.tasks.tasks_for_region(region),
                               rows=rows, book=content.tasks, errors=errors or [], entered=entered or {},
                               conflict=conflict, choice=store.choice(region.name) if state.waiting else None,
                               based_on=store.current_version(region.name) or 0,
                               saved=request.args.get("saved", ""), history=store.history(region.name),
                               uploads=uploads, footer=footer)

    @app.post("/region/<name>/choose")
    def choose(name: str):
        region = region_or_404(name)
        keep = request.form.get("keep", "")
        if keep not in ("returned", "entered"):
            abort(400, "请选择保留哪一种考评等次。")
        if not site().store.choose(region.name, form_version("version"), keep):
            abort(404)
        return redirect(url_for("region_page", name=region.name, saved="chosen"))

    def form_version(field: str) -> int:
        try:
            value = int(request.form.get(field, ""))
        except ValueError:
            abort(400, "表单缺少版本信息，请返回刷新页面后重试。")
        if not 0 <= value < MAX_ID:
            abort(404)
        return value

    def changes(region, old: int, new: int | None) -> list[dict]:
        """What differs between two versions of a region, task by task."""
        before = site().store.version_rows(old) if old else {}
        after = site().store.version_rows(new) if new else {}
        out = []
        for task in site().content.tasks.tasks_for_region(region):
            a, b = before.get(task.id, {}), after.get(task.id, {})
            for key, label in (("self_rating", "自评等次"), ("final_rating", "考评等次")):
                if a.get(key, "") != b.get(key, ""):
                    out.append({"task": task, "what": label, "before": a.get(key, ""), "after": b.get(key, "")})
        return out

    @app.post("/region/<name>/ratings")
    def save_ratings(name: str):
        from .store import Conflict

        region = region_or_404(name)
        tasks = site().content.tasks.tasks_for_region(region)
        # a field not sent leaves its rating as it is
        finals = {t.id: request.form[f"final:{t.id}"] for t in tasks if f"final:{t.id}" in request.form}
        based_on = form_version("based_on")
        from .return_views import after_final_ratings, check_final_reasons
        reasons, problems = check_final_reasons(region, finals)
        if problems:
            return region_page(region.name, errors=problems, entered=finals), 400
        before = site().store.rows(region.name)
        try:
            site().store.set_final_ratings(region.name, finals, site().content, based_on=based_on)
        except Conflict as exc:
            conflict = {"changes": changes(region, exc.based_on, exc.current)}
            return region_page(region.name, entered=finals, conflict=conflict), 409
        except DataError as exc:
            return region_page(region.name, errors=[str(p) for p in exc.problems], entered=finals), 400
        after_final_ratings(region, before, reasons)
        return redirect(url_for("region_page", name=region.name, saved="ratings"))

    @app.post("/region/<name>/current")
    def make_current(name: str):
        from .store import Conflict

        region = region_or_404(name)
        version = form_version("version")
        based_on = form_version("based_on") if "based_on" in request.form else None
        try:
            found = site().store.make_current(region.name, version, based_on=based_on)
        except Conflict as exc:
            conflict = {"changes": changes(region, exc.based_on, exc.current)}
            return region_page(region.name, conflict=conflict), 409
        if not found:
            abort(404)
        return redirect(url_for("region_page", name=region.name, saved="current"))

    @app.get("/region/<name>/<kind>/<fmt>")
    def region_document(name: str, kind: str, fmt: str):
        from ..jobs import report_jobs

        region = region_or_404(name)
        if kind not in ("report", "letter") or fmt not in DOCUMENT_FORMATS:
            abort(404)
        content = site().content
        results = site().store.results(content)
        if region.name not in results.by_region or results.missing(content, region):
            abort(404)
        job = next(j for j in report_jobs(content, results, [region]) if j.kind == kind)
        return send_rendered(job, fmt)

    # --- 生成 ------------------------------------------------------------------------------------------
    @app.route("/generate", methods=["GET", "POST"])
    def generate():
        if request.method == "POST":
            draft = request.form.get("draft") == "1"
            site().start_generation(draft=draft)
            return redirect(url_for("generate"))
        from ..jobs import summary_gaps

        documents = site().documents()
        states, results = site().states()
        incomplete, absent = summary_gaps(site().content, results)
        kinds = {}
        for d in documents:
            kinds.setdefault(d.get("kind"), []).append(d)
        summaries = [d for d in kinds.get("summary", []) if d["current"]]
        notices = [d for d in kinds.get("notice", []) if d["current"]]
        top = []  # the 通报 (or its draft) and the notice, PDF first
        for title, items in (("全省通报", [d for d in summaries if "征求意见稿" not in d["path"]]),
                             ("全省通报（征求意见稿）", [d for d in summaries if "征求意见稿" in d["path"]]),
                             ("通知", notices)):
            if items:
                top.append((title, sorted(items, key=lambda d: d.get("format") != "pdf")))
        return render_template("generate.html.j2", state=site().generation, documents=documents, kinds=kinds,
                               kind_names=KIND_NAMES, top=top,
                               stale=[d for d in documents if not d["current"]],
                               current=[d for d in documents if d["current"]],
                               incomplete=[(r, len(m)) for r, m in incomplete], absent=absent,
                               picture=site().summary_pdf() is not None)

    @app.get("/file")
    def file():
        path = request.args.get("path", "")
        target = site().file_for(path)
        if target is None:
            abort(404)
        entry = site().manifest()[path]
        return send_file(target, as_attachment=True, download_name=download_name(entry))

    @app.get("/all.zip")
    def all_zip():
        return send_bytes(site().zip_all(), "全部文档.zip", "application/zip")

    @app.get("/summary.png")
    def summary_picture():
        data = site().summary_picture()
        if data is None:
            abort(404)
        return Response(data, mimetype="image/png")

    @app.get("/results.csv")
    def export():
        from ..results import results_csv
        data = results_csv(site().store.results(site().content), site().content)
        return send_bytes(data, "考评结果.csv", "text/csv; charset=utf-8")


KIND_NAMES = {"notice": "通知", "checklist": "考评表", "report": "考评报告", "letter": "等次函", "summary": "通报"}


def download_name(entry: dict) -> str:
    """Distinct names for a region's files: 考评报告-图们市.pdf, 等次函-图们市.pdf, 考评表-图们市.xlsx."""
    from pathlib import PurePosixPath

    path = PurePosixPath(entry["path"])
    kind = KIND_NAMES.get(entry.get("kind"), "")
    return f"{kind}-{path.name}" if kind and not path.stem.startswith(kind) else path.name


def local_time(stamp: str | None) -> str:
    """“2026年12月1日 14:56” from a stored ISO time (local)."""
    import datetime as dt

    if not stamp:
        return ""
    try:
        t = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def send_rendered(job, fmt: str):
    try:
        entries = site().render([job], formats=(fmt,))
    except (DataError, RuntimeError) as exc:
        abort(400, f"未能生成：{exc}")
    entry = next(e for e in entries if e.format == fmt and e.path.endswith("." + fmt)
                 and e.kind == job.kind and (e.region or None) == (job.region or None))
    target = site().file_for(entry.path, current_only=False)  # rendered from the results just now
    if target is None:
        abort(404)
    return send_file(target, as_attachment=True, download_name=download_name(entry.to_json()))


def send_bytes(data: bytes, filename: str, mimetype: str):
    import io
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


__all__ = ["register", "RequestEntityTooLarge"]
