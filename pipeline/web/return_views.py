"""A region's return online, and the department's review of it (issue #17).

A region (its 地区 account) sees only its own page: the tasks that apply to it with their
criteria, its 自评等次, a 说明 and its 佐证材料 per task; it saves a draft at any time, submits when
every task is rated, and may upload its filled workbook instead (which fills the same form; its
考评等次 column is ignored: the final ratings are the department's). After 提交 the return is
locked until the department sends it back. The department sends back with a reason, or marks it
已考评 once its final ratings are entered."""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, current_app, redirect, render_template, request, send_file, url_for

from ..errors import DataError
from ..returns import accepted_as
from .account_views import audit, current_user, is_department
from .accounts import REGION
from .workflow import EDITABLE, MAX_REASON, EvidenceError

MAX_ID = 2 ** 62
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpg": "jpg", "docx": "docx", "xlsx": "xlsx", "ofd": "ofd"}


def site():
    return current_app.extensions["site"]


def region_or_404(name: str):
    region = site().content.region(name)
    if region is None:
        abort(404)
    return region


def return_state(region):
    """What the region's page and the department's review show of a return."""
    states, _ = site().states(only=region.name)
    state = states[region.name]
    workflow = site().workflow
    row = workflow.row(region.name)
    status = workflow.status(region.name, state, row or {})
    editable, why = workflow.may_edit(region.name, state)
    return state, status, row, editable, why


def missing_self(region) -> list:
    rows = site().store.rows(region.name)
    return [t for t in site().content.tasks.tasks_for_region(region) if not rows.get(t.id, {}).get("self_rating")]


def review_of(name: str) -> dict:
    """The department's view of a region's return, for its page."""
    region = region_or_404(name)
    state, status, row, editable, why = return_state(region)
    workflow = site().workflow
    return {"status": status, "reason": (row or {}).get("reason", ""), "reopened": bool((row or {}).get("reopened")),
            "evidence": workflow.evidence(region.name), "reasons": workflow.reasons(region.name),
            "overdue": workflow.self_overdue() and status in EDITABLE}


def upload_lines(region: str) -> list[str]:
    """After a workbook was read into the form (``?upload=`` its id): what became of the entries
    already made, one line a kind (``entered.Merged.lines``)."""
    try:
        upload_id = int(request.args.get("upload", ""))
    except ValueError:
        return []
    if request.args.get("saved") != "xlsx" or not 0 < upload_id < MAX_ID:
        return []
    info = site().store.upload_info(upload_id)
    if info is None or info["region"] != region or not info["accepted"]:
        return []
    return [line for line in (info["note"] or "").split("\n") if line]


def return_statuses() -> dict[str, dict]:
    """Every region's return state for the board: status, and whether it is 逾期未交."""
    workflow = site().workflow
    rows = workflow.rows()
    states, _ = site().states()
    overdue = workflow.self_overdue()
    out = {}
    for name, state in states.items():
        status = workflow.status(name, state, rows.get(name) or {})
        out[name] = {"status": status, "overdue": overdue and status in EDITABLE}
    return out


def check_final_reasons(region, finals: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The one-line reasons sent with final ratings; every final that differs from the region's
    self-rating needs one (it goes into the report's 备注). (reasons, problems)."""
    rows = site().store.rows(region.name)
    kept = site().workflow.reasons(region.name)
    reasons, problems = {}, []
    # required where the region returns its own assessment (it has an account or returned online);
    # for a return the department uploaded for it, a reason is welcome but not required
    required = site().workflow.row(region.name) is not None or region_has_account(region.name)
    for task in site().content.tasks.tasks_for_region(region):
        given = request.form.get(f"reason:{task.id}")
        reason = " ".join((given if given is not None else kept.get(task.id, "")).split())
        final = finals.get(task.id, rows.get(task.id, {}).get("final_rating", ""))
        self_rating = rows.get(task.id, {}).get("self_rating", "")
        if final and self_rating and final != self_rating:
            if not reason and required:
                problems.append(f"{task.id} {task.name}：考评等次（{final}）与自评（{self_rating}）不同，请写明理由（一句话，写入考评报告备注）")
            elif len(reason) > MAX_REASON:
                problems.append(f"{task.id} {task.name}：理由请写在 {MAX_REASON} 字以内（现 {len(reason)} 字）")
        else:
            reason = ""
        reasons[task.id] = reason
    return reasons, problems


def region_has_account(name: str) -> bool:
    with site().store.connect() as db:
        return db.execute("SELECT 1 FROM accounts WHERE region = ? AND disabled = 0", (name,)).fetchone() is not None


def after_final_ratings(region, before: dict, reasons: dict[str, str]) -> None:
    """Reasons kept, every change recorded in the audit log."""
    site().workflow.set_reasons(region.name, reasons)
    after = site().store.rows(region.name)
    for task in sorted(set(before) | set(after)):
        old, new = before.get(task, {}).get("final_rating", ""), after.get(task, {}).get("final_rating", "")
        if old != new:
            audit("修改考评等次", region=region.name, object=f"{task} 考评等次", old=old, new=new,
                  reason=reasons.get(task, ""))


def register(app) -> None:
    app.jinja_env.globals.update(review_of=review_of, return_statuses=return_statuses)

    @app.get("/return/<name>")
    def return_page(name: str, errors=None, entered=None, notes=None, status_code=200):
        region = region_or_404(name)
        content = site().content
        store = site().store
        state, status, row, editable, why = return_state(region)
        response = render_template(
            "return.html.j2", region=region, state=state, status=status, row=row or {}, editable=editable, why=why,
            tasks=content.tasks.tasks_for_region(region), book=content.tasks, rows=store.rows(region.name),
            evidence=site().workflow.evidence(region.name), errors=errors or [], entered=entered or {},
            notes=notes or {}, based_on=store.current_version(region.name) or 0,
            saved=request.args.get("saved", ""), missing=[], max_reason=MAX_REASON,
            department=is_department(), upload_lines=upload_lines(region.name))
        return response, status_code

    @app.post("/return/<name>")
    def return_save(name: str):
        from .store import Conflict

        region = region_or_404(name)
        workflow = site().workflow
        state, status, row, editable, why = return_state(region)
        if not editable:
            audit("保存自评", region=region.name, result="拒绝", reason=why)
            abort(409, why)
        tasks = site().content.tasks.tasks_for_region(region)
        selfs = {t.id: request.form[f"self:{t.id}"] for t in tasks if f"self:{t.id}" in request.form}
        notes = {t.id: request.form[f"note:{t.id}"].replace("\r\n", "\n") for t in tasks if f"note:{t.id}" in request.form}
        try:
            based_on = int(request.form.get("based_on", ""))
        except ValueError:
            abort(400, "表单缺少版本信息，请返回刷新页面后重试。")
        if not 0 <= based_on < MAX_ID:
            abort(404)
        before = site().store.rows(region.name)
        errors = []
        # evidence first checked, then kept: a refused file is named, the rest of the form still saved
        user = current_user()
        for task in tasks:
            for upload in request.files.getlist(f"evidence:{task.id}"):
                if not upload or not upload.filename:
                    continue
                data = upload.read(workflow_max() + 1)
                try:
                    added = workflow.add_evidence(region.name, task.id, upload.filename, data, user["name"])
                except EvidenceError as exc:
                    errors.append(f"{task.id} {task.name}：{exc}")
                    audit("上传佐证材料", region=region.name, object=f"{task.id} {upload.filename}", result="拒绝",
                          reason=str(exc))
                else:
                    audit("上传佐证材料", region=region.name, object=f"{task.id} {added['filename']}",
                          new=f"{added['kind']}，{added['size']} 字节，sha256 {added['sha256'][:16]}…")
        for key in request.form:
            if key.startswith("remove:"):
                try:
                    evidence_id = int(key[7:])
                except ValueError:
                    continue
                removed = workflow.remove_evidence(region.name, evidence_id)
                if removed:
                    audit("删除佐证材料", region=region.name, object=f"{removed['task']} {removed['filename']}",
                          old=removed["filename"], new="（删除）")
        changed = {t: (before.get(t, {}).get("self_rating", ""), v) for t, v in selfs.items()
                   if before.get(t, {}).get("self_rating", "") != v}
        changed_notes = {t: v for t, v in notes.items() if before.get(t, {}).get("remarks", "") != v.strip()}
        if changed or changed_notes:
            try:
                site().store.save_return(region.name, selfs, notes, site().content, based_on=based_on,
                                         note="地区在网页上填报")
            except Conflict:
                return return_page(region.name, errors=["未保存：您打开本页之后，本地区的考评表已有新内容（可能在另一窗口或由上传的工作簿填入）。"
                                                        "请重新打开本页核对后再填。"], entered=selfs, notes=notes,
                                   status_code=409)
            except DataError as exc:
                return return_page(region.name, errors=errors + [str(p) for p in exc.problems], entered=selfs,
                                   notes=notes, status_code=400)
            for task, (old, new) in changed.items():
                audit("保存自评", region=region.name, object=f"{task} 自评等次", old=old, new=new)
            for task, text in changed_notes.items():
                audit("保存自评", region=region.name, object=f"{task} 说明",
                      old=before.get(task, {}).get("remarks", ""), new=text.strip())
        if status != "已退回" and (row is None or row["status"] != "填报中"):
            workflow.set_status(region.name, "填报中", "")
        if errors:
            return return_page(region.name, errors=errors, status_code=400)
        if request.form.get("action") == "submit":
            missing = missing_self(region)
            if missing:
                lines = [f"{t.id} {t.name}" for t in missing]
                return return_page(region.name, errors=[f"已保存为草稿，但未提交：尚有 {len(missing)} 项未填自评等次——"
                                                        + "；".join(lines)], status_code=400)
            old = workflow.set_status(region.name, "已提交", "")
            audit("提交自评", region=region.name, old=old, new="已提交")
            return redirect(url_for("return_page", name=region.name, saved="submitted"))
        return redirect(url_for("return_page", name=region.name, saved="draft"))

    @app.post("/return/<name>/xlsx")
    def return_xlsx(name: str):
        """The region's filled workbook: its self-ratings and 说明 fill the same form."""
        from .intake import read_return

        region = region_or_404(name)
        state, status, row, editable, why = return_state(region)
        if not editable:
            abort(409, why)
        upload = request.files.get("workbook")
        if not upload or not upload.filename:
            return return_page(region.name, errors=["请选择本地区填好的考评表（.xlsx 工作簿）。"], status_code=400)
        filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "未命名.xlsx"
        data = upload.read()
        store = site().store
        upload_id = store.receive(None, filename, data)
        try:
            found, rated, problems, warnings, footer = read_return(filename, data, site().content)
        except Exception:  # noqa: BLE001 - kept, and said
            found, rated, problems, warnings, footer = None, None, ["读取这个工作簿时出错，未能读完，请检查文件后重新上传"], [], {}
        if rated is not None and found != region.name:
            problems, rated = [f"这是{found}的考评表，不是{region.name}的；请上传本地区的考评表"], None
            warnings = [w.replace(accepted_as(found), "") for w in warnings]
        if rated is None:
            store.refuse(upload_id, found if found == region.name else None, problems, warnings, footer)
            audit("上传考评表", region=region.name, object=filename, result="拒绝", reason="；".join(problems)[:500])
            return return_page(region.name, errors=["未接收：" + p for p in problems], status_code=400)
        from ..results import TaskResult
        from .entered import keep_entered, labels_of
        own = {task: TaskResult(None, r.self_rating, r.remarks, r.where) for task, r in rated.items()}  # finals are the department's
        before = store.rows(region.name)
        merged = keep_entered(before, own)
        store.accept(upload_id, region.name, own, warnings, footer, labels_of(site().content))
        if status != "已退回" and (row is None or row["status"] != "填报中"):
            site().workflow.set_status(region.name, "填报中", "")
        audit("上传考评表", region=region.name, object=filename,
              new=f"自评等次 {sum(1 for r in merged.rated.values() if r.self_rating)} 项")
        for task, old, new in merged.changed_selfs:
            audit("上传考评表", region=region.name, object=f"{task} 自评等次", old=old, new=new)
        for task, old, new in merged.changed_notes:
            audit("上传考评表", region=region.name, object=f"{task} 说明", old=old, new=new)
        return redirect(url_for("return_page", name=region.name, saved="xlsx", upload=upload_id))

    @app.get(f"/return/<name>/evidence/<int(max={MAX_ID}):evidence_id>")
    def evidence_file(name: str, evidence_id: int):
        region = region_or_404(name)
        found = site().workflow.evidence_file(region.name, evidence_id)
        if found is None:
            abort(404)
        row, path = found
        download = f"佐证材料-{region.name}-{row['task']}-{row['id']}.{EXTENSIONS[row['kind']]}"
        response = send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=download)
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download)}"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @app.get("/return/<name>/考评表.xlsx")
    def return_checklist(name: str):
        from ..jobs import checklist_job
        from .views import send_rendered

        region = region_or_404(name)
        rows = site().store.rows(region.name)
        entries = {task: (row.get("self_rating", ""), row.get("remarks", "")) for task, row in rows.items()}
        response = send_rendered(checklist_job(site().content, region.assessment_class, region), "xlsx")
        if not any(a or b for a, b in entries.values()):
            return response  # the blank form, as rendered
        from .entered import with_entries
        from .views import send_bytes

        response.direct_passthrough = False
        blank = response.get_data()
        response.close()  # the rendered file, read
        data = with_entries(blank, entries)
        disposition = response.headers["Content-Disposition"]
        response = send_bytes(data, "考评表.xlsx", response.mimetype)
        response.headers["Content-Disposition"] = disposition  # the rendered file's own name
        return response

    # --- the department's review -----------------------------------------------------------------
    @app.post("/region/<name>/send-back")
    def review_send_back(name: str):
        region = region_or_404(name)
        reason = " ".join(request.form.get("reason", "").split())
        if not reason:
            abort(400, "退回修改须写明原因（地区会在其页面顶部看到）。")
        if len(reason) > 500:
            abort(400, "退回原因请写在 500 字以内。")
        _, status, _, _, _ = return_state(region)
        if status not in ("已提交", "已考评"):
            abort(409, f"{region.name}的自评{status}，没有可退回的提交。")
        old = site().workflow.set_status(region.name, "已退回", reason)
        audit("退回修改", region=region.name, old=old, new="已退回", reason=reason)
        return redirect(url_for("region_page", name=region.name, saved="sent-back"))

    @app.post("/region/<name>/accept")
    def review_accept(name: str):
        region = region_or_404(name)
        state, status, _, _, _ = return_state(region)
        if state.missing or not state.total or state.final_done < state.total:
            abort(409, f"{region.name}尚有 {len(state.missing) or state.total} 项未填考评等次，不能标为已考评。")
        rows = site().store.rows(region.name)
        reasons = site().workflow.reasons(region.name)
        lacking = [t for t, r in rows.items() if r.get("self_rating") and r.get("final_rating")
                   and r["self_rating"] != r["final_rating"] and not reasons.get(t)]
        if not (site().workflow.row(region.name) is not None or region_has_account(region.name)):
            lacking = []
        if lacking:
            abort(409, f"考评等次与自评不同的 {'、'.join(sorted(lacking))} 须先写明理由。")
        old = site().workflow.set_status(region.name, "已考评", "")
        audit("确认考评", region=region.name, old=old, new="已考评")
        return redirect(url_for("region_page", name=region.name, saved="accepted"))

    @app.post("/region/<name>/reopen")
    def review_reopen(name: str):
        region = region_or_404(name)
        reason = " ".join(request.form.get("reason", "").split())[:500]
        old = site().workflow.row(region.name)
        site().workflow.reopen(region.name)
        audit("重新开放", region=region.name, old=(old or {}).get("status", "未开始"),
              new="自评截止后允许补交或修改", reason=reason)
        return redirect(url_for("region_page", name=region.name, saved="reopened"))


def workflow_max() -> int:
    from .workflow import MAX_EVIDENCE_BYTES
    return MAX_EVIDENCE_BYTES


__all__ = ["register", "REGION"]
