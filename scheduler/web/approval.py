"""The unit head's approval page, opened by the head's own link in the approval mail
(/duyet/<token>; a unit's link does not open it, nor does the head's open the unit's form).

It shows the revision waiting for the head read-only, with two actions: "Duyệt báo cáo" (the
revision counts as reported from then on) and "Trả lại để sửa" (with a comment, mailed to the
focal points). Each POST carries the page's CSRF token (scope: the link) and names the revision
it decides: a page opened before a newer revision arrived cannot approve that one unseen. The
decision is one conditional insert (store/reviews.decide): a double click is one decision."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.clock import to_local
from scheduler.collect import links, record
from scheduler.collect.asked import data_range
from scheduler.collect.validate import clean_text, shown
from scheduler.config.model import Unit
from scheduler.policy.periods import Period
from scheduler.store import reviews
from scheduler.store.tables import Submission
from scheduler.text import long_date, short_datetime
from scheduler.web.context import SMALL_BODY, Pages, WebContext
from scheduler.web.security import CSRF_FIELD, BodyTooLarge, Csrf, read_form
from scheduler.web.unit_form import heading, resolve_link

# The page's own body limit is app.SMALL_BODY (16 KB): a comment of this many characters fits
# it even when every letter carries Vietnamese diacritics and is URL-encoded (9 bytes each).
MAX_COMMENT = 1500
STALE = ("Phiên làm việc không hợp lệ", "Trang đã mở quá lâu hoặc không được gửi từ trang duyệt của hệ thống. Vui lòng "
         "mở lại đường dẫn trong thư rồi làm lại; chưa có gì thay đổi.")


def actor(unit: Unit) -> str:
    return f"Thủ trưởng {unit.head.name}"


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    r = APIRouter()

    async def resolve(request: Request, token: str):
        return await resolve_link(ctx, pages, request, token, role="head")

    def page(request: Request, token: str, period: Period, unit: Unit, closed: bool, status: int = 200,
             error: str | None = None, comment: str = "") -> HTMLResponse:
        with Session(ctx.engine) as session:
            subs = record.revisions(session, period.key, unit.code)
            sub: Submission | None = subs[-1] if subs else None
            asked = sub is not None and reviews.asked(session, period.key, unit.code, sub.revision)
            decided = reviews.reviews_of(session, period.key, unit.code, sub.revision) if sub else {}
        figures, narrative = shown(ctx.config(), period, sub.figures, sub.narrative, unit) if sub else ([], [])
        head = decided.get("head")
        office = decided.get("office")
        value, cookie = csrf.token_for(request, scope=links.token_hash(token))
        response = pages.render(
            request, "approval.html", status, period=period, unit=unit, heading=heading(period), sub=sub,
            received=short_datetime(to_local(sub.received_at)) if sub else "", due_long=long_date(period.due),
            data_range=data_range(period), figures=figures, narrative=narrative, closed=closed,
            # Only a revision asked of the head and decided by nobody yet takes a decision here.
            open=sub is not None and asked and not decided and not closed,
            asked=asked, head=head, office=office,
            decided_at=short_datetime(to_local(head.at)) if head else "",
            office_at=short_datetime(to_local(office.at)) if office else "",
            csrf=value, action=f"/duyet/{token}", error=error, comment=comment, max_comment=MAX_COMMENT)
        csrf.set_cookie(response, cookie)
        return response

    @r.get("/duyet/{token}", response_class=HTMLResponse)
    async def show(request: Request, token: str) -> Response:
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        return page(request, token, period, unit, closed)

    @r.post("/duyet/{token}", response_class=HTMLResponse)
    async def decide(request: Request, token: str) -> Response:
        # The token first: an unauthenticated POST reads no body.
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        try:
            form = await read_form(request, SMALL_BODY, 20)
        except BodyTooLarge:
            return pages.error(request, 413, "Nội dung gửi quá lớn",
                               f"Ý kiến quá dài; vui lòng rút gọn (tối đa {MAX_COMMENT} ký tự) rồi gửi lại.")
        if not csrf.valid(request, form.get(CSRF_FIELD), scope=links.token_hash(token)):
            return pages.error(request, 403, *STALE)
        if closed:
            return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                               f"Kỳ báo cáo {period.title} đã khoá; không nhận thêm quyết định duyệt.")
        choice = str(form.get("quyet_dinh", ""))
        comment = clean_text(str(form.get("comment", "")))
        wanted = str(form.get("ban", ""))
        now = ctx.clock()
        with Session(ctx.engine) as session:
            subs = record.revisions(session, period.key, unit.code)
            newest = subs[-1].revision if subs else None
            error, status = None, 422
            if choice not in ("duyet", "tra-lai"):
                error = "Chọn “Duyệt báo cáo” hoặc “Trả lại để sửa”."
            elif newest is None or wanted != str(newest):
                status = 409
                error = ("Đơn vị đã gửi bản mới hơn bản đồng chí đang xem: vui lòng xem bản mới nhất dưới đây "
                         "trước khi quyết định.")
            elif choice == "tra-lai" and not comment:
                error = "Ghi ý kiến cần sửa: đơn vị cần biết phải sửa gì."
            elif len(comment) > MAX_COMMENT:
                error = f"Ý kiến dài {len(comment)} ký tự, tối đa {MAX_COMMENT}."
            elif not reviews.asked(session, period.key, unit.code, newest):
                error = "Bản này không cần Thủ trưởng duyệt."
            elif "office" in reviews.reviews_of(session, period.key, unit.code, newest):
                status = 409  # the office sent it back (or entered it from signed paper) meanwhile
                error = f"{ctx.config().plan.organisation.office_name} đã quyết định về bản này; xem trạng thái dưới đây."
            if error is None:
                decision = "approved" if choice == "duyet" else "returned"
                made = reviews.decide(session, period, unit, newest, "head", decision, actor(unit), now,
                                      comment=comment if decision == "returned" else None,
                                      mail_from=ctx.settings.mail_from,
                                      audit_action="duyet" if decision == "approved" else "tra-lai-thu-truong")
                session.commit()
        if error is not None:  # the page again, what was typed kept, the problem above the buttons
            return page(request, token, period, unit, closed, status, error, comment)
        if made:
            ctx.after_submit()  # the return's mail to the focal points, now rather than at the next tick
        # A second click lands on the same page, which shows the one decision taken.
        return RedirectResponse(f"/duyet/{token}?xong=1", status_code=303)

    return r
