"""A unit's own form for one period, opened by the token in its mails."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.collect import record
from scheduler.collect import links
from scheduler.store import db, reviews
from scheduler.policy.periods import Period
from scheduler.clock import to_local
from scheduler.config.model import Unit
from scheduler.store.tables import Submission
from scheduler.collect.asked import data_range
from scheduler.collect.bundle import Part, error_key, filled, part_title, parts, prefix
from scheduler.collect.validate import Entry, as_entry, shown, validate
from scheduler.text import long_date, short_datetime
from scheduler.web import formcache
from scheduler.web.context import DB_BUSY, FORM_BODY, NOT_FOUND, Pages, WebContext, patient
from scheduler.web.security import CSRF_FIELD, BodyTooLarge, Csrf, read_form
# The page itself, shared with the office's nhập hộ (console_unit imports these from here too).
from scheduler.web.form_page import SCRIPT, entry_from_form, heading, render_form

log = logging.getLogger("baocao.web")
EXPIRED = ("Đường dẫn đã hết hiệu lực", "Đường dẫn này không còn dùng được. Vui lòng dùng đường dẫn trong thư "
           "mới nhất của Văn phòng, hoặc liên hệ Văn phòng để được cấp lại.")
SLOT_BYTES = formcache.SLOT.encode()
SLOW_DOWN = ("Thử quá nhiều lần", "Máy của bạn đã mở quá nhiều đường dẫn không đúng. Vui lòng thử lại sau ít phút.")


# A whole report: about 45 fields, each heading at most MAX_TEXT characters (three bytes each in
# UTF-8, tripled again by URL encoding) — well under this. A longer text still arrives and is
# reported beside its field, what was typed kept; only a body no form can produce is refused
# (by its Content-Length before anything else, see app.BodyLimit, or while it is read).
MAX_BODY = FORM_BODY
MAX_FIELDS = 300
TOO_LARGE = ("Báo cáo gửi lên vượt quá giới hạn của hệ thống (4 MB). Vui lòng bấm nút Quay lại của trình duyệt "
             "(nội dung đã nhập vẫn còn), rút gọn phần thuyết minh rồi gửi lại, hoặc liên hệ Văn phòng.")


async def resolve_link(ctx: WebContext, pages: Pages, request: Request, token: str, role: str):
    """(period, unit, closed) for a link of `role` (the unit's form, the head's approval page), or
    the error response to send instead. A valid link always opens, however many bad ones came from
    the same address (behind a proxy that address may be everyone's); bad ones, of either role,
    count on one throttle per address."""
    address = request.client.host if request.client else "?"

    def lookup():
        with Session(ctx.engine) as session:
            link = links.find(session, token, role=role)
            if link is None:
                return None
            period = ctx.periods(session).get(link.period_key)
            unit = ctx.config().unit(link.unit_code)
            if link.revoked_at is not None or period is None or unit is None:
                return "expired"
            return period, unit, record.is_closed(session, period.key)

    # In a thread: a database that is slow to answer must not hold up every other page.
    found = await asyncio.to_thread(lookup)
    if found == "expired":
        return pages.error(request, 410, *EXPIRED)
    if found is not None:
        return found
    if ctx.throttle.blocked(address):
        return pages.error(request, 429, *SLOW_DOWN)
    # Guessing gets slower and slower. No database connection is held while waiting.
    await asyncio.sleep(ctx.throttle.fail(address))
    return pages.error(request, 404, *NOT_FOUND)


def warm_store(ctx: WebContext) -> None:
    """A connection opened and the form's statements compiled (read with one unit's keys), so
    that the first unit after the web process (re)starts does not pay for them: 75-121 ms beside
    a busy core. A store that does not answer is left to the first request, which says so."""
    config = ctx.config()
    try:
        with Session(ctx.engine) as session:
            periods = db.all_periods(session, config)
            links.find(session, "0" * 43)
            if periods and config.units:
                period, unit = periods[0], config.units[0]
                record.is_closed(session, period.key)
                formcache.version(session, formcache.watched(config, period, unit), unit.code)
                record.latest(session, period.key, unit.code)
    except Exception:  # noqa: BLE001 - whatever the store says now, the request will say in Vietnamese
        log.debug("Chưa làm nóng được truy vấn biểu mẫu", exc_info=True)


def router(ctx: WebContext, pages: Pages, csrf: Csrf, cache: formcache.FormCache | None = None) -> APIRouter:
    r = APIRouter()
    cache = cache if cache is not None else formcache.FormCache()

    async def resolve(request: Request, token: str):
        return await resolve_link(ctx, pages, request, token, role="unit")

    def bundle(session: Session, period: Period, unit: Unit) -> list[Part]:
        """The parts of the unit's form: every open period of the plans it owes that day, this
        one among them (one link per unit and deadline)."""
        config = ctx.config()
        return parts(config, record.open_bundle(session, config, period, unit), unit)

    def returned_banner(period: Period, unit: Unit, newest: Submission | None) -> str | None:
        """What the unit must know first when its newest revision (`newest`, as the caller read
        it) was sent back: by whom, and why."""
        if newest is None:
            return None
        with Session(ctx.engine) as session:
            decided = reviews.reviews_of(session, period.key, unit.code, newest.revision)
        back = next((r for r in decided.values() if r.decision == "returned"), None)
        if back is None:
            return None
        who = "Thủ trưởng đơn vị" if back.role == "head" else ctx.config().plan.organisation.office_name
        said = f": “{back.comment}”" if back.comment else "."
        return (f"{who} đã trả lại bản thứ {back.revision} để sửa lúc {short_datetime(to_local(back.at))}{said} "
                "Sửa theo ý kiến trên rồi gửi lại; báo cáo ở trạng thái “trả lại để sửa” đến khi đơn vị gửi bản đã sửa.")

    def form_page(request: Request, token: str, period: Period, unit: Unit, entries: list[Entry],
                  errors: dict[str, str], last: Submission | None, status: int = 200,
                  sections: list[Part] | None = None, problem: str | None = None) -> HTMLResponse:
        csrf_value, new_cookie = csrf.token_for(request, scope=links.token_hash(token))
        response = render_form(ctx, pages, request, action=f"/f/{token}", csrf_value=csrf_value, period=period,
                               unit=unit, entries=entries, errors=errors, last=last, status=status, sections=sections,
                               banner=returned_banner(period, unit, last), problem=problem)
        csrf.set_cookie(response, new_cookie)
        return response

    def readonly_page(request: Request, token: str, period: Period, unit: Unit, sub: Submission, closed: bool,
                      just_sent: bool) -> HTMLResponse:
        config = ctx.config()
        figures, narrative = shown(config, period, sub.figures, sub.narrative, unit)
        others = []  # the other parts of the unit's form for that day, as last sent
        with Session(ctx.engine) as session:
            for part in bundle(session, period, unit):
                if part.period.key == period.key:
                    continue
                got = record.latest(session, part.period.key, unit.code)
                if got is not None:
                    more_figures, more_narrative = shown(config, part.period, got.figures, got.narrative, unit)
                    others.append({"title": part.title, "figures": more_figures, "narrative": more_narrative,
                                   "revision": got.revision, "received": short_datetime(to_local(got.received_at))})
        return pages.render(request, "readonly.html", period=period, heading=heading(period), unit=unit, sub=sub,
                            closed=closed, others=others, own_title=part_title(config, period),
                            just_sent=just_sent, received=short_datetime(to_local(sub.received_at)),
                            due_long=long_date(period.due), figures=figures, narrative=narrative,
                            data_range=data_range(period), edit_url=f"/f/{token}",
                            to_head=just_sent and reviews.required(config, period) and sub.channel != "office")

    @r.get("/f/{token}", response_class=HTMLResponse)
    async def show(request: Request, token: str) -> Response:
        found = await resolve(request, token)
        if isinstance(found, Response):
            return found
        period, unit, closed = found
        # In a thread: the store's answers and, on a miss, the render (see formcache).
        shown = await asyncio.to_thread(show_work, request, token, period, unit, closed)
        if isinstance(shown, Response):
            return shown
        body, status = shown
        csrf_value, new_cookie = csrf.token_for(request, scope=links.token_hash(token))
        response = HTMLResponse(body.replace(SLOT_BYTES, csrf_value.encode()), status_code=status,
                                headers={"Cache-Control": "no-store"})  # personal forms and figures
        csrf.set_cookie(response, new_cookie)
        return response

    def show_work(request: Request, token: str, period: Period, unit: Unit, closed: bool):
        """The open form's page as (body with formcache.SLOT, status), from the cache while its
        version stands; or, for a closed period, the page to answer with."""
        config, link = ctx.config(), links.token_hash(token)
        keys = formcache.watched(config, period, unit)
        with Session(ctx.engine) as session:
            if not closed:
                stamp = (formcache.version(session, keys, unit.code), to_local(ctx.clock()).date())
                if (hit := cache.get(config, link, stamp)) is not None:
                    return hit
            last = record.latest(session, period.key, unit.code)
            sections = bundle(session, period, unit)
            latest = {p.period.key: last if p.period.key == period.key else record.latest(session, p.period.key, unit.code)
                      for p in sections}
        if closed:
            if last is None:
                return pages.error(request, 410, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {period.title} đã khoá và đơn vị không gửi báo cáo trong kỳ này.")
            return readonly_page(request, token, period, unit, last, closed=True, just_sent=False)
        # Each part pre-filled with its own period's last revision; the sender as last time.
        entries = [as_entry(sub.figures, sub.narrative, sub.submitted_by) if (sub := latest[p.period.key]) else Entry()
                   for p in sections]
        sender = last.submitted_by if last else next((e.submitted_by for e in entries if e.submitted_by), "")
        for entry in entries:
            entry.submitted_by = sender
        page = render_form(ctx, pages, request, action=f"/f/{token}", csrf_value=formcache.SLOT, period=period,
                           unit=unit, entries=entries, errors={}, last=last, sections=sections,
                           banner=returned_banner(period, unit, last))
        with Session(ctx.engine) as session:  # kept only if nothing changed while it was rendered
            if formcache.version(session, keys, unit.code) == stamp[0]:
                cache.put(config, link, stamp, bytes(page.body), page.status_code)
        return bytes(page.body), page.status_code

    def store(request: Request, token: str, period: Period, unit: Unit, closed: bool, form: dict):
        """Validate and store a posted form (in a worker thread): the page to answer with, or
        (created, revision) once stored."""
        with Session(ctx.engine) as session:
            patient(session)
            config = ctx.config()
            sections = bundle(session, period, unit)
            count, now = len(sections), ctx.clock()
            entries = [entry_from_form(form, p.indicators, p.headings, prefix(n, count)) for n, p in enumerate(sections)]
            if closed:  # closed while the page was open: nothing stored, but what was typed is on screen
                last = record.latest(session, period.key, unit.code)
                return form_page(request, token, period, unit, entries, {}, last, status=409, sections=sections,
                                 problem=f"Văn phòng đã khoá kỳ báo cáo {period.title} trong lúc trang này đang mở: báo "
                                         "cáo chưa được ghi. Nội dung vừa nhập vẫn ở dưới đây; xin chép lại rồi liên hệ "
                                         f"{config.plan.organisation.office_name}.")
            reports, errors = [], {}
            for n, part in enumerate(sections):  # each period's report on its own, errors where they were typed
                report, found = validate(config, part.period, filled(part, entries[n], entries), unit)
                reports.append((part.period, report))
                for key, message in found.items():
                    errors.setdefault(error_key(part, n, count, key), message)
            if errors:
                last = record.latest(session, period.key, unit.code)
                return form_page(request, token, period, unit, entries, errors, last, status=422, sections=sections)
            created, confirmed = False, False
            shut = next((p for p, _ in reports if record.is_closed(session, p.key)), None)
            if shut is not None:  # nothing stored when any part can no longer be stored
                return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {shut.title} đã khoá; không nhận thêm bản sửa đổi.")
            try:
                for part_period, report in reports:
                    before = record.latest(session, part_period.key, unit.code)
                    if (part_period.key != period.key and before is not None and before.figures == report.figures
                            and before.narrative == report.narrative):
                        continue  # another part of the form, unchanged: no new revision, no receipt
                    # One receipt for the whole form: the first part stored carries it (see messages).
                    recorded = record.record(session, config, part_period, unit, report, "form", now,
                                             mail_from=ctx.settings.mail_from, confirm=not confirmed)
                    created = created or recorded.created
                    confirmed = confirmed or recorded.created
                    if part_period.key == period.key:
                        revision = recorded.submission.revision
            except record.ClosedPeriod:  # closed between opening the link and storing
                return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                                   f"Kỳ báo cáo {period.title} đã khoá; không nhận thêm bản sửa đổi.")
            session.commit()
        return created, revision

    def busy(request: Request, token: str, period: Period, unit: Unit, form: dict) -> Response:
        with Session(ctx.engine) as session:
            sections = bundle(session, period, unit)
            last = record.latest(session, period.key, unit.code)
        count = len(sections)
        entries = [entry_from_form(form, p.indicators, p.headings, prefix(n, count)) for n, p in enumerate(sections)]
        return form_page(request, token, period, unit, entries, {}, last, status=503, sections=sections,
                         problem="Hệ thống đang bận, báo cáo chưa được ghi. Nội dung vừa nhập vẫn ở dưới đây: "
                                 "vui lòng đợi một lát rồi bấm “Gửi báo cáo” lần nữa.")

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
        if not csrf.valid(request, form.get(CSRF_FIELD), scope=links.token_hash(token)):
            return pages.error(request, 403, "Phiên làm việc không hợp lệ",
                               "Trang đã mở quá lâu hoặc không được gửi từ biểu mẫu của hệ thống. "
                               "Vui lòng mở lại đường dẫn và gửi lại.")
        try:
            # In a thread: storing waits for the database's write lock (another process, a tick, a
            # backup), and the other pages must not wait with it.
            outcome = await asyncio.to_thread(store, request, token, period, unit, closed, form)
        except DB_BUSY:
            # Nothing was stored (the transaction rolled back): the form again, as typed.
            return await asyncio.to_thread(busy, request, token, period, unit, form)
        if isinstance(outcome, Response):
            return outcome
        created, revision = outcome
        if created:
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

    @r.get("/tep/bieu-mau.js", include_in_schema=False)
    async def form_script() -> Response:
        return Response(SCRIPT.read_bytes(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

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
