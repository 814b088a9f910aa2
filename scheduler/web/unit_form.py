"""A unit's own form for one period, opened by the token in its mails."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.collect import record
from scheduler.collect import links
from scheduler.policy.periods import Period
from scheduler.clock import to_local
from scheduler.config.model import Unit
from scheduler.store.tables import Submission
from scheduler.collect.asked import asked, data_range
from scheduler.collect.validate import Entry, as_entry, headings_for, indicators_for, shown, validate
from scheduler.text import long_date, remaining, requirement, short_datetime
from scheduler.web.context import FORM_BODY, NOT_FOUND, Pages, WebContext
from scheduler.web.security import CSRF_FIELD, BodyTooLarge, Csrf, read_form

EXPIRED = ("Đường dẫn đã hết hiệu lực", "Đường dẫn này không còn dùng được. Vui lòng dùng đường dẫn trong thư "
           "mới nhất của Văn phòng, hoặc liên hệ Văn phòng để được cấp lại.")
SLOW_DOWN = ("Thử quá nhiều lần", "Máy của bạn đã mở quá nhiều đường dẫn không đúng. Vui lòng thử lại sau ít phút.")


def heading(period: Period) -> str:
    """'Báo cáo Quý IV/2026'; an on-request title usually says "Báo cáo …" itself."""
    return period.title if period.title.lower().startswith("báo cáo") else f"Báo cáo {period.title}"


def entry_from_form(form, indicators, headings) -> Entry:
    entry = Entry(submitted_by=str(form.get("submitted_by", "")))
    for ind in indicators:  # only what applies to the unit: any other field posted is ignored
        den = str(form.get(f"{ind.id}__den", "")) if ind.has_denominator else ""
        entry.figures[ind.id] = (str(form.get(f"{ind.id}__num", "")), den, form.get(f"{ind.id}__kps") == "1")
    for h in headings:
        entry.narrative[h.id] = str(form.get(f"h__{h.id}", ""))
    return entry


def field_ids(indicators, headings) -> tuple[dict[str, str], dict[str, str]]:
    """For the error summary: each error key's anchor and human label."""
    anchors, labels = {"submitted_by": "submitted_by"}, {"submitted_by": "Người gửi báo cáo"}
    for ind in indicators:
        anchors |= {ind.id: f"ct-{ind.id}", f"{ind.id}.num": f"{ind.id}__num", f"{ind.id}.den": f"{ind.id}__den"}
        labels |= {ind.id: ind.name, f"{ind.id}.num": f"{ind.name} — {ind.numerator}",
                   f"{ind.id}.den": f"{ind.name} — {ind.denominator or ind.numerator}"}
    for h in headings:
        anchors[f"h.{h.id}"], labels[f"h.{h.id}"] = f"h__{h.id}", h.title
    return anchors, labels


# A whole report: about 45 fields, each heading at most MAX_TEXT characters (three bytes each in
# UTF-8, tripled again by URL encoding) — well under this. A longer text still arrives and is
# reported beside its field, what was typed kept; only a body no form can produce is refused
# (by its Content-Length before anything else, see app.BodyLimit, or while it is read).
MAX_BODY = FORM_BODY
MAX_FIELDS = 300
TOO_LARGE = ("Báo cáo gửi lên vượt quá giới hạn của hệ thống (4 MB). Vui lòng bấm nút Quay lại của trình duyệt "
             "(nội dung đã nhập vẫn còn), rút gọn phần thuyết minh rồi gửi lại, hoặc liên hệ Văn phòng.")


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    r = APIRouter()

    async def resolve(request: Request, token: str):
        """(period, unit, closed) for a token, or the error response to send instead. A valid
        link always opens, however many bad ones came from the same address (behind a proxy
        that address may be everyone's)."""
        address = request.client.host if request.client else "?"
        with Session(ctx.engine) as session:
            link = links.find(session, token)
            found = None
            if link is not None:
                period = ctx.periods(session).get(link.period_key)
                unit = ctx.config().unit(link.unit_code)
                if link.revoked_at is not None or period is None or unit is None:
                    return pages.error(request, 410, *EXPIRED)
                found = period, unit, record.is_closed(session, period.key)
        if found is not None:
            return found
        if ctx.throttle.blocked(address):
            return pages.error(request, 429, *SLOW_DOWN)
        # Guessing gets slower and slower. No database connection is held while waiting.
        await asyncio.sleep(ctx.throttle.fail(address))
        return pages.error(request, 404, *NOT_FOUND)

    def form_page(request: Request, token: str, period: Period, unit: Unit, entry: Entry, errors: dict[str, str],
                  last: Submission | None, status: int = 200) -> HTMLResponse:
        config = ctx.config()
        indicators, headings = indicators_for(config, period, unit), headings_for(config, period, unit)
        anchors, labels = field_ids(indicators, headings)
        csrf_value, new_cookie = csrf.token_for(request, scope=links.token_hash(token))
        now = ctx.clock()

        def view(a) -> dict:
            typed = entry.figures.get(a.id, ("", "", False))
            fields = [{"name": f"{a.id}__{key[1:]}", "label": label, "value": typed[0 if key == ".num" else 1],
                       "error": errors.get(a.id + key)} for key, label in a.fields]
            return {"id": a.id, "number": a.number, "name": a.ind.name, "child": a.ind.parent is not None,
                    "note": a.note, "target": a.target_line, "fields": fields, "kps": typed[2],
                    "error": errors.get(a.id)}

        response = pages.render(
            request, "form.html", status, period=period, heading=heading(period), unit=unit, action=f"/f/{token}",
            csrf=csrf_value, data_range=data_range(period),
            due_long=long_date(period.due), remaining=remaining(period.due, to_local(now).date()),
            last=last, last_received=short_datetime(to_local(last.received_at)) if last else "",
            errors=errors, anchors=anchors, labels=labels, submitted_by=entry.submitted_by,
            by_error=errors.get("submitted_by"), template_url=f"/f/{token}/mau.xlsx",
            indicators=[view(a) for a in asked(config, period, unit)],
            headings=[{"id": h.id, "title": h.title, "requirement": requirement(h.required),
                       "text": entry.narrative.get(h.id, ""),
                       "error": errors.get(f"h.{h.id}")} for h in headings],
        )
        csrf.set_cookie(response, new_cookie)
        return response

    def readonly_page(request: Request, token: str, period: Period, unit: Unit, sub: Submission, closed: bool,
                      just_sent: bool) -> HTMLResponse:
        figures, narrative = shown(ctx.config(), period, sub.figures, sub.narrative, unit)
        return pages.render(request, "readonly.html", period=period, heading=heading(period), unit=unit, sub=sub,
                            closed=closed,
                            just_sent=just_sent, received=short_datetime(to_local(sub.received_at)),
                            due_long=long_date(period.due), figures=figures, narrative=narrative,
                            data_range=data_range(period), edit_url=f"/f/{token}")

    @r.get("/f/{token}", response_class=HTMLResponse)
    async def show(request: Request, token: str) -> Response:
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        with Session(ctx.engine) as session:
            last = record.latest(session, period.key, unit.code)
        if closed:
            if last is None:
                return pages.error(request, 410, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {period.title} đã khoá và đơn vị không gửi báo cáo trong kỳ này.")
            return readonly_page(request, token, period, unit, last, closed=True, just_sent=False)
        entry = as_entry(last.figures, last.narrative, last.submitted_by) if last else Entry()
        return form_page(request, token, period, unit, entry, {}, last)

    @r.post("/f/{token}", response_class=HTMLResponse)
    async def submit(request: Request, token: str) -> Response:
        # The token is looked up before a byte of the body is read: an unauthenticated POST holds
        # no memory, and a valid one is read within a bound (see read_form).
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        try:
            form = await read_form(request, MAX_BODY, MAX_FIELDS)
        except BodyTooLarge:
            return pages.error(request, 413, "Nội dung gửi quá lớn", TOO_LARGE)
        with Session(ctx.engine) as session:
            if not csrf.valid(request, form.get(CSRF_FIELD), scope=links.token_hash(token)):
                return pages.error(request, 403, "Phiên làm việc không hợp lệ",
                                   "Trang đã mở quá lâu hoặc không được gửi từ biểu mẫu của hệ thống. "
                                   "Vui lòng mở lại đường dẫn và gửi lại.")
            if closed:
                return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {period.title} đã khoá; không nhận thêm bản sửa đổi.")
            config = ctx.config()
            entry = entry_from_form(form, indicators_for(config, period, unit), headings_for(config, period, unit))
            report, errors = validate(config, period, entry, unit)
            if report is None:
                last = record.latest(session, period.key, unit.code)
                return form_page(request, token, period, unit, entry, errors, last, status=422)
            try:
                recorded = record.record(session, config, period, unit, report, "form", ctx.clock(),
                                             mail_from=ctx.settings.mail_from)
            except record.ClosedPeriod:  # closed between opening the link and storing
                return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {period.title} đã khoá; không nhận thêm bản sửa đổi.")
            session.commit()
            revision = recorded.submission.revision
        if recorded.created:
            ctx.after_submit()
        # A repeat (a double tap) lands on the very same confirmation: the report did arrive,
        # once, and its one receipt is on its way.
        return RedirectResponse(f"/f/{token}/da-gui?ban={revision}", status_code=303)

    @r.get("/f/{token}/da-gui", response_class=HTMLResponse)
    async def sent(request: Request, token: str, ban: str = "") -> Response:
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        with Session(ctx.engine) as session:
            subs = record.revisions(session, period.key, unit.code)
        wanted = int(ban) if ban.isdigit() else 0
        sub = next((s for s in subs if s.revision == wanted), subs[-1] if subs else None)
        if sub is None:
            return RedirectResponse(f"/f/{token}", status_code=303)
        return readonly_page(request, token, period, unit, sub, closed=closed, just_sent=True)

    @r.get("/f/{token}/mau.xlsx")
    async def workbook_template(request: Request, token: str) -> Response:
        """The XLSX template made for this unit: only what applies to it, its name filled in."""
        from scheduler.collect import workbook

        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, _ = found
        body = workbook.template(ctx.config(), period, unit)
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="mau-{period.key}-{unit.code}.xlsx"',
                                 "Cache-Control": "no-store"})

    return r
