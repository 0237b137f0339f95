"""The pages and their routes. Each one parses the request, calls the library, shows the result."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from flask import (Response, abort, current_app, redirect, render_template, request, send_file,
                   session, url_for)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import DataError
from ..model import AssessmentClass, Rating
from . import MAX_FILES, STATUSES, check_password

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

    @app.before_request
    def guard():
        password = current_app.extensions["password"]
        if password and request.endpoint not in ("login", "static") and not session.get("user"):
            return redirect(url_for("login", next=request.path))
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
                abort(400, "表单已过期或来源不明（缺少校验码），请返回刷新页面后重试。")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {404: "没有这个页面或文件。", 405: "不支持这种操作。",
                    413: "上传的文件太大或太多（一次最多 100 个工作簿、合计 100 MiB）。"}
        text = exc.description if exc.code == 400 else messages.get(exc.code, "请求有误。")
        return render_template("error.html.j2", code=exc.code, message=text), exc.code

    @app.route("/login", methods=["GET", "POST"])
    def login():
        password = current_app.extensions["password"]
        error = None
        if request.method == "POST":
            if password and check_password(request.form.get("password", ""), password):
                session["user"] = True
                target = request.args.get("next", "/")
                return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
            error = "密码不对，请重新输入。"
        return render_template("login.html.j2", error=error), (401 if error else 200)

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("login"))

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
                               total=len(rows), table=table, book=book)

    # --- 考评表 ----------------------------------------------------------------------------------------
    @app.get("/checklists")
    def checklists():
        return render_template("checklists.html.j2", regions=site().content.regions.regions,
                               formats=CHECKLIST_FORMATS)

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
        outcomes, refused = [], None
        if request.method == "POST":
            files = [f for f in request.files.getlist("workbooks") if f and f.filename]
            if not files:
                refused = "请选择要上传的 XLSX 考评表。"
            elif len(files) > MAX_FILES:
                refused = f"一次最多上传 {MAX_FILES} 个工作簿，这次选了 {len(files)} 个。"
            else:
                for f in files:
                    name = f.filename.replace("\\", "/").rsplit("/", 1)[-1] or "未命名.xlsx"
                    outcomes.append(site().store.add_upload(name, f.read(), site().content))
        return render_template("upload.html.j2", outcomes=outcomes, refused=refused,
                               max_files=MAX_FILES), (400 if refused else 200)

    @app.get("/upload/<int:upload_id>")
    def uploaded(upload_id: int):
        found = site().store.upload_data(upload_id)
        if found is None:
            abort(404)
        filename, data = found
        return send_bytes(data, filename,
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # --- 地区 ------------------------------------------------------------------------------------------
    def region_or_404(name: str):
        region = site().content.region(name)
        if region is None:
            abort(404)
        return region

    @app.get("/region/<name>")
    def region_page(name: str, errors=None, saved=False):
        from ..documents import outcome
        from ..rating import explain

        region = region_or_404(name)
        content = site().content
        rows = site().store.rows(region.name)
        results = site().store.results(content)
        tasks = content.tasks.tasks_for_region(region)
        missing = results.missing(content, region)
        rule = rating = None
        if region.name in results.by_region and not missing:
            final = results.final(region)
            rating = outcome(content.rules, region, final).rating.value
            rule = explain(content.rules, {k: v.rating for k, v in final.items()})
        return render_template("region.html.j2", region=region, tasks=tasks, rows=rows, book=content.tasks,
                               rating=rating, rule=rule, missing=missing, errors=errors or [],
                               saved=saved or request.args.get("saved") == "1",
                               history=site().store.history(region.name),
                               uploads=site().store.uploads(region.name), manifest=site().manifest(),
                               counts=results.counts(content, region))

    @app.post("/region/<name>/ratings")
    def save_ratings(name: str):
        region = region_or_404(name)
        tasks = site().content.tasks.tasks_for_region(region)
        finals = {t.id: request.form.get(f"final:{t.id}", "") for t in tasks}
        try:
            site().store.set_final_ratings(region.name, finals, site().content)
        except DataError as exc:
            return region_page(region.name, errors=[str(p) for p in exc.problems]), 400
        return redirect(url_for("region_page", name=region.name, saved=1))

    @app.post("/region/<name>/current")
    def make_current(name: str):
        region = region_or_404(name)
        try:
            version = int(request.form.get("version", ""))
        except ValueError:
            abort(400, "请选择一个版本。")
        if not site().store.make_current(region.name, version):
            abort(404)
        return redirect(url_for("region_page", name=region.name))

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
            site().start_generation()
            return redirect(url_for("generate"))
        files = sorted(site().manifest().values(), key=lambda d: d["path"])
        picture = (site().data_dir / "summary-page-1.png").exists()
        return render_template("generate.html.j2", state=site().generation, files=files, picture=picture)

    @app.get("/file")
    def file():
        target = site().file_for(request.args.get("path", ""))
        if target is None:
            abort(404)
        return send_file(target, as_attachment=True, download_name=target.name)

    @app.get("/all.zip")
    def all_zip():
        return send_bytes(site().zip_all(), "全部文档.zip", "application/zip")

    @app.get("/summary.png")
    def summary_picture():
        path = site().data_dir / "summary-page-1.png"
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype="image/png")

    @app.get("/results.csv")
    def export():
        from ..results import results_csv
        data = results_csv(site().store.results(site().content), site().content)
        return send_bytes(data, "考评结果.csv", "text/csv; charset=utf-8")


def send_rendered(job, fmt: str):
    try:
        entries = site().render([job])
    except (DataError, RuntimeError) as exc:
        abort(400, f"未能生成：{exc}")
    entry = next(e for e in entries if e.format == fmt and e.path.endswith("." + fmt)
                 and e.kind == job.kind and (e.region or None) == (job.region or None))
    target = site().file_for(entry.path)
    if target is None:
        abort(404)
    return send_file(target, as_attachment=True, download_name=target.name)


def send_bytes(data: bytes, filename: str, mimetype: str):
    import io
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


__all__ = ["register", "RequestEntityTooLarge"]
