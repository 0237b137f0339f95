"""What the page tells a clerk when a session ends or a request is too large, and what the browser
may keep of the pages (issue: the session ending under a clerk's form).

- Why a sign-in page is shown: the redirect to it carries ``why`` (one of ``WHY``'s keys, never
  anything the request sent), the login page turns it into a fixed sentence.
- After a sign-in the clerk comes back to the page the form was on (a POST comes back to its
  Referer's path, as ``guard.form_page`` decides); what was typed is kept by the page's own script
  in the browser's sessionStorage (``static/session.js``, ``static/region.js``), never on the server.
- Every page and download is ``Cache-Control: no-store`` (等保 剩余信息保护: after 退出 the Back button
  shows nothing of the previous account); the static style sheets and scripts stay cacheable.
- A request over the body limit gets a Chinese page in the site's layout naming the limits, both
  from Flask (``MAX_CONTENT_LENGTH``) and from waitress, which refuses it on its headers before the
  application sees it (``PageChannel``).
"""

from __future__ import annotations

from flask import current_app, render_template, request

from . import MAX_FILES, MAX_UPLOAD_BYTES

MB = 1024 * 1024

# why the sign-in page is shown → what it says (the login page's ``?why=``)
WHY = {
    "signed-out": "您已退出登录。",
    "timeout": "登录已超时（超过 30 分钟未操作），请重新登录。",
    "lifetime": "登录已超过 12 小时，请重新登录。",
    "ended": "登录已失效（超时未操作，或已在其他窗口退出），请重新登录。",
    "password": "本账号的密码已在其他地方修改，此处的登录随之失效，请用新密码重新登录。",
    "reset": "管理员已重置本账号的密码，此处的登录随之失效，请用新的一次性登录码登录。",
    "disabled": "本账号已停用，此处的登录随之失效；如有疑问请联系省民政厅。",
}
# after these the page's script says that unsaved entries were kept (not after a deliberate 退出)
KEEPS_DRAFTS = {"timeout", "lifetime", "ended", "password", "reset"}


def why_message(why: str | None) -> str | None:
    return WHY.get(why or "")


def limits() -> dict:
    """The upload limits the pages state (megabytes, counts)."""
    from .workflow import MAX_EVIDENCE_BYTES, MAX_FILES_PER_TASK

    return {"per_file": MAX_EVIDENCE_BYTES // MB, "per_save": MAX_UPLOAD_BYTES // MB,
            "per_task": MAX_FILES_PER_TASK, "workbooks": MAX_FILES}


def too_large_text(path: str, size: int | None) -> list[str]:
    """What a refused over-large request is told, by the page it was sent to: the limits that
    apply there and what to do."""
    from ..returns import MAX_XLSX_BYTES

    got = f"（这次约 {size / MB:.0f} 兆字节）" if size else ""
    per_save = MAX_UPLOAD_BYTES // MB
    if path.startswith("/return/") and not path.endswith("/xlsx"):
        return [f"未保存：一次保存的内容合计不能超过 {per_save} 兆字节{got}。",
                f"佐证材料每个文件不超过 {limits()['per_file']} 兆字节，每次保存合计不超过 {per_save} 兆字节；"
                "文件较多时请分几次选择、分几次保存。",
                "本页填写的自评等次和说明未保存：返回原页面后，页面会提示恢复未保存的填写，恢复后请重新选择佐证材料再保存。"]
    if path.startswith("/return/"):
        return [f"未上传：上传的考评表超过了 {per_save} 兆字节{got}。",
                f"考评表每个不超过 {MAX_XLSX_BYTES // MB} 兆字节；请检查是否选错了文件。"]
    if path.startswith("/upload"):
        return [f"未上传：一次上传的文件合计不能超过 {per_save} 兆字节{got}。",
                f"一次最多 {MAX_FILES} 个工作簿、合计不超过 {per_save} 兆字节，每个工作簿不超过 {MAX_XLSX_BYTES // MB} 兆字节；"
                "文件较多时请分几批上传。"]
    return [f"未处理：提交的内容超过了 {per_save} 兆字节的上限{got}。请检查所选的文件。"]


def back_target(referer: str | None, host: str) -> str:
    """The page a refused form came from (its Referer, when it is a page of this site), else the home page."""
    from urllib.parse import quote

    from .guard import form_page

    return quote(form_page(referer, host, current_app.url_map) or "/", safe="/")


def too_large_page(path: str, size: int | None, referer: str | None, host: str) -> str:
    """The page (HTML) for a request over the body limit, in the site's layout; rendered inside a
    request context."""
    return render_template("error.html.j2", code=413, message=None, lines=too_large_text(path, size),
                           title="文件太大，未保存", back=back_target(referer, host), back_label="返回原页面")


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def draft_key(region: str) -> str:
    """Whose unsaved entries a form's script keeps: the year, the region, the signed-in account
    (the page's script forgets other accounts' entries)."""
    from .account_views import current_user

    user = current_user() or {}
    return f"{current_app.extensions['site'].content.tasks.year}|{region}|{user.get('name', '') if user.get('id') else ''}"


def register(app) -> None:
    app.jinja_env.globals.update(upload_limits=limits, why_message=why_message, keeps_drafts=KEEPS_DRAFTS,
                                 draft_key=draft_key)

    @app.after_request
    def no_store(response):
        """No page or download of this site is kept by the browser (Back after 退出 shows nothing);
        the static files keep Flask's revalidated caching."""
        if request.endpoint != "static" and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(413)
    def too_large(exc):
        page = too_large_page(request.path, request.content_length, request.headers.get("Referer"), request.host)
        return page, 413


# --- waitress: its own refusal of an over-large request, as a page of the site -----------------------


def install(server, app) -> None:
    """Waitress answers a request whose Content-Length is over the limit itself (before the body
    is received, before the application runs); make that answer the site's page."""
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
    from waitress.task import ErrorTask

    class PageErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            if getattr(error, "code", None) != 413:
                return super().execute()
            headers = self.request.headers
            try:
                body = render_refusal(app, self.request.path or "/", self.request.content_length, headers)
            except Exception:  # noqa: BLE001 - the refusal is sent whatever happens
                body = ("<!DOCTYPE html><html lang='zh-CN'><meta charset='utf-8'><title>文件太大</title>"
                        f"<p>未保存：提交的内容超过了 {MAX_UPLOAD_BYTES // MB} 兆字节的上限。请返回上一页，"
                        "分几次上传较大的文件。</p></html>")
            data = body.encode("utf-8")
            self.status = "413 Request Entity Too Large"
            self.response_headers.extend([("Content-Type", "text/html; charset=utf-8")]
                                         + list(SECURITY_HEADERS.items())
                                         + [("Content-Security-Policy", csp())])
            self.set_close_on_finish()  # the body was not read
            self.content_length = len(data)
            self.write(data)

    class PageChannel(HTTPChannel):
        error_task_class = PageErrorTask

    if isinstance(server, BaseWSGIServer):
        servers = [server]
    else:  # several addresses: the servers are in its map
        servers = [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]
    for each in servers:
        each.channel_class = PageChannel


def csp() -> str:
    from .views import CSP
    return CSP


def render_refusal(app, path: str, size: int | None, headers: dict) -> str:
    """The too-large page for a request waitress refused: rendered as the page would, with the
    request's cookie (the header shows who is signed in) and Host."""
    forwarded = {"Cookie": headers.get("COOKIE", ""), "Referer": headers.get("REFERER", "")}
    host = headers.get("HOST", "localhost")
    with app.test_request_context(path="/", method="GET", headers=forwarded,
                                  base_url=f"http://{host}"):
        return too_large_page(path, size, forwarded["Referer"] or None, host)
