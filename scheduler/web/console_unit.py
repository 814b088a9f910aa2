"""The office's console for one unit in one period: its history with what changed between
revisions, "gửi lại thư" (the current step's mail, now, through the ledger like any send),
"trả lại để sửa" with a comment, and "nhập hộ" (figures received on paper or by công văn)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from scheduler.clock import to_local
from scheduler.collect import diff, record
from scheduler.collect.validate import Entry, as_entry, shown, validate
from scheduler.config.model import UNIT_STEP_KINDS, Config, Unit
from scheduler.policy.periods import Period
from scheduler.policy.planner import OwedSend, step_instant
from scheduler.store import db, ledger, reviews
from scheduler.store.tables import Review, SendRow
from scheduler.text import KIND_LABELS, parse_moment, short_datetime
from scheduler.web.console import STATE_LABELS, unit_state
from scheduler.web.context import FORM_BODY, Pages, WebContext, patient
from scheduler.web.gate import LOGIN_LINK, NOT_OFFICE, OfficeGate
from scheduler.web.form_page import CHANNELS as RECEIVED_BY
from scheduler.web.security import Csrf

CHANNELS = {"form": "qua đường dẫn", "file": "Văn phòng nhập từ tệp", "office": "Văn phòng nhập hộ"}
# What the office types in from these carries the unit head's signature: with approval on, it
# counts as approved. An e-mail or anything else still goes to the head.
SIGNED = ("Bản giấy", "Công văn")
MAX_COMMENT = 2000


def resend_kind(config: Config, period: Period, now: datetime) -> str:
    """The step whose mail "gửi lại thư" sends: the latest of the plan's unit steps whose day has
    come (a reminder after the reminder's day, the overdue mail after the deadline), whatever went
    before; before the first one, the notice. Pure."""
    passed = [(step_instant(config, period, s), s.kind) for s in config.unit_steps]
    passed = [p for p in passed if p[0] <= now]
    if passed:
        return max(passed)[1]
    return "overdue" if now >= period.deadline else "notice"


RESEND_WINDOW = timedelta(minutes=2)  # a second click this soon is the same wish: one mail


def resend(session: Session, config: Config, period: Period, unit: Unit, now: datetime,
           mail_from: str) -> str | None:
    """Claim the unit's current step's mail again, as a send of its own ("resend-N"), to the same
    people as that step (the head copied on an overdue mail when the plan copies it, unless it is
    the unit's first mail). Returns the kind, or None when the unit's mail was resent moments ago.
    Two clicks at once claim one row: the step name is unique per unit and period."""
    rows = session.exec(select(SendRow.kind, SendRow.scheduled_at, SendRow.step)
                        .where(SendRow.period_key == period.key, SendRow.audience == unit.code)).all()
    resends = [at for _, at, step in rows if step.startswith("resend-")]
    if any(abs(now - at) < RESEND_WINDOW for at in resends):
        return None  # a double click, or the page submitted twice: the first one's mail is going
    kind = resend_kind(config, period, now)
    count = len(resends)
    # The head is copied as that step copies it, but never on a unit's first mail: a unit added
    # late, or whose address was wrong, has not yet been told anything to be late with.
    waiting = reviews.awaiting(session, period.key, unit.code)
    if waiting is not None:
        # The unit has sent; its head has not decided: what is missing is the head's mail, with
        # the approval link, not another reminder to the focal points.
        again = reviews.approval_send(period, unit, waiting.revision, now)
        send = OwedSend(at=now, kind=again.kind, step=f"resend-{count + 1}", period=period, unit=unit.code,
                        to=again.to, ref=waiting.revision)
        return send.kind if ledger.claim(session, [send], now, mail_from) else None
    told = any(k in UNIT_STEP_KINDS for k, _, _ in rows)
    focal = tuple(p.email for p in unit.focal_points)
    cc_head = told and unit.head.email not in focal and any(s.cc_head for s in config.unit_steps if s.kind == kind)
    send = OwedSend(at=now, kind=kind, step=f"resend-{count + 1}", period=period, unit=unit.code,
                    to=focal, cc=(unit.head.email,) if cc_head else ())
    return kind if ledger.claim(session, [send], now, mail_from) else None


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    gate = OfficeGate(ctx, pages, csrf)
    r = APIRouter(prefix="/vp")

    def find(session: Session, request: Request, key: str, code: str) -> tuple[Period, Unit] | Response:
        period = ctx.periods(session).get(key)
        unit = ctx.config().unit(code)
        if period is None or unit is None or unit.code not in {u.code for u in ctx.config().units_for(period)}:
            return pages.error(request, 404, "Không có đơn vị này trong kỳ", f"Kỳ “{key}” không có đơn vị “{code}”.")
        return period, unit

    def find_open(session: Session, request: Request, key: str, code: str, refused: str) -> tuple[Period, Unit] | Response:
        """Like find, for an action a closed period no longer takes: `refused` says which."""
        found = find(session, request, key, code)
        if not isinstance(found, Response) and record.is_closed(session, key):
            return pages.error(request, 409, "Kỳ báo cáo đã khoá", f"Kỳ {found[0].title} đã khoá: {refused}")
        return found

    @r.get("/ky/{key}/don-vi/{code}", response_class=HTMLResponse)
    async def unit_page(request: Request, key: str, code: str) -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        return await gate.run(request, render_unit, request, key, code)

    def render_unit(request: Request, key: str, code: str, status: int = 200, error: str | None = None,
                    comment: str = "") -> Response:
        config = ctx.config()
        with Session(ctx.engine) as session:
            found = find(session, request, key, code)
            if isinstance(found, Response):
                return found
            period, unit = found
            subs = record.revisions(session, key, code)
            reviews = {(v.revision, v.role): v for v in session.exec(
                select(Review).where(Review.period_key == key, Review.unit_code == code)).all()}
            standing = next((s for s in record.standings(session, config, period) if s.code == code), None)
            closed = record.is_closed(session, key)
        revisions, before = [], (None, None)
        for sub in subs:
            figures, narrative = shown(config, period, sub.figures, sub.narrative, unit)
            after = (sub.figures, sub.narrative)
            decided = [{"role": "Văn phòng" if v.role == "office" else "Thủ trưởng",
                        "decision": "duyệt" if v.decision == "approved" else "trả lại để sửa",
                        "at": short_datetime(to_local(v.at)), "comment": v.comment or "", "actor": v.actor or ""}
                       for (rev, _), v in sorted(reviews.items()) if rev == sub.revision]
            revisions.append({"revision": sub.revision, "received": short_datetime(to_local(sub.received_at)),
                              "on_time": sub.on_time, "channel": CHANNELS.get(sub.channel, sub.channel),
                              "note": sub.note or "", "by": sub.submitted_by or "", "figures": figures,
                              "narrative": narrative, "reviews": decided,
                              "changes": diff.changes(config, period, unit, before, after) if sub.revision > 1 else None})
            before = after
        state = unit_state(standing) if standing else "missing"
        return gate.page(request, "office_unit.html", status, period=period, unit=unit,
                         revisions=list(reversed(revisions)), state=state, state_label=STATE_LABELS[state],
                         returnable=bool(subs) and (subs[-1].revision, "office") not in reviews,
                         latest=subs[-1].revision if subs else 0, error=error, comment=comment, closed=closed)

    @r.post("/ky/{key}/don-vi/{code}/gui-lai")
    async def resend_mail(request: Request, key: str, code: str) -> Response:
        return await gate.act(request, resend_work, request, key, code)

    def resend_work(request: Request, key: str, code: str, _form: dict) -> Response:
        with Session(ctx.engine) as session:
            patient(session)
            found = find_open(session, request, key, code, "không gửi thư nhắc.")
            if isinstance(found, Response):
                return found
            period, unit = found
            if (key, code) in db.reported_pairs(session):
                return RedirectResponse(f"/vp/ky/{key}?xong=gui-lai-da-nop&dv={code}", status_code=303)
            now = ctx.clock()
            kind = resend(session, ctx.config(), period, unit, now, ctx.settings.mail_from)
            if kind is None:
                return RedirectResponse(f"/vp/ky/{key}?xong=gui-lai-vua-gui&dv={code}", status_code=303)
            gate.audit(session, request, "gui-lai", key, code, detail=f"thư {KIND_LABELS.get(kind, kind).lower()}")
            session.commit()
        # deliver now, not at the next periodic pass
        return gate.deliver_after(RedirectResponse(f"/vp/ky/{key}?xong=gui-lai&dv={code}", status_code=303))

    @r.post("/ky/{key}/don-vi/{code}/tra-lai", response_class=HTMLResponse)
    async def send_back(request: Request, key: str, code: str) -> Response:
        return await gate.act(request, send_back_work, request, key, code)

    def send_back_work(request: Request, key: str, code: str, form: dict) -> Response:
        comment = str(form.get("comment", "")).strip()
        with Session(ctx.engine) as session:
            patient(session)
            found = find_open(session, request, key, code, "không trả lại báo cáo được nữa; mở lại kỳ nếu cần.")
            if isinstance(found, Response):
                return found
            period, unit = found
            subs = record.revisions(session, key, code)
            revision = int(form["ban"]) if str(form.get("ban", "")).isdigit() else 0
            error = None
            decided = reviews.reviews_of(session, key, code, revision) if subs else {}
            if "head" in decided and decided["head"].decision == "returned":
                error = "Thủ trưởng đơn vị đã trả lại bản này để sửa; đơn vị đã nhận thư, chờ bản sửa."
            elif not subs or revision != subs[-1].revision:
                error = "Đơn vị đã gửi bản mới hơn; tải lại trang để xem bản mới nhất trước khi trả lại."
            elif not comment:
                error = "Ghi ý kiến của Văn phòng: đơn vị cần biết phải sửa gì."
            elif len(comment) > MAX_COMMENT:
                error = f"Ý kiến dài {len(comment)} ký tự, tối đa {MAX_COMMENT}."
            if error is None:
                # The decision and its mail to the focal points, both once: a second click finds the
                # review there and claims nothing; the audit row goes with them.
                reviews.decide(session, period, unit, revision, "office", "returned", gate.user(request), ctx.clock(),
                               comment, ctx.settings.mail_from, audit_action="tra-lai")
                session.commit()
        if error is not None:  # the page again, the comment as typed and the problem beside it
            return render_unit(request, key, code, 422, error, comment)
        return gate.deliver_after(RedirectResponse(f"/vp/ky/{key}?xong=tra-lai&dv={code}", status_code=303))

    def entry_page(request: Request, period: Period, unit: Unit, entry, errors: dict, office: dict,
                   status: int = 200, problem: str | None = None) -> Response:
        from scheduler.web import unit_form

        value, cookie = csrf.token_for(request, scope="vp")
        with Session(ctx.engine) as session:
            last = record.latest(session, period.key, unit.code)
        response = unit_form.render_form(ctx, pages, request, action=f"/vp/ky/{period.key}/don-vi/{unit.code}/nhap-ho",
                                         csrf_value=value, period=period, unit=unit, entries=[entry], errors=errors,
                                         last=last, status=status, office=office, problem=problem)
        csrf.set_cookie(response, cookie)
        return response

    async def expired(request: Request, key: str, code: str) -> Response:
        """A paper report typed for a quarter of an hour must not be lost to a session that ended
        meanwhile: the page again, everything as typed, nothing stored, and how to go on (log in in
        another tab, then press the button again: the page's token stays valid with its cookie)."""
        from scheduler.web import unit_form
        from scheduler.web.security import BodyTooLarge, read_form

        try:
            form = await read_form(request, FORM_BODY, unit_form.MAX_FIELDS)
        except BodyTooLarge:
            form = {}
        with Session(ctx.engine) as session:
            found = find(session, request, key, code)
        if isinstance(found, Response) or not form:
            return pages.error(request, 403, *NOT_OFFICE, link=LOGIN_LINK)
        period, unit = found
        config = ctx.config()
        entry = unit_form.entry_from_form(form, config.indicators_for(period, unit), config.headings_for(period, unit))
        office = {k: str(form.get(k, "")).strip() for k in ("received_at", "channel", "note")}
        return entry_page(request, period, unit, entry, {}, office, status=403,
                          problem="Phiên đăng nhập của Văn phòng đã hết (hoặc đã đăng xuất): báo cáo chưa được ghi. "
                                  "Nội dung vừa nhập vẫn ở dưới đây. Mở trang đăng nhập (/vp/dang-nhap) ở một thẻ mới, "
                                  "đăng nhập, rồi quay lại thẻ này bấm nút gửi lần nữa.")

    @r.get("/ky/{key}/don-vi/{code}/nhap-ho", response_class=HTMLResponse)
    async def entry_form(request: Request, key: str, code: str) -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        with Session(ctx.engine) as session:
            found = find_open(session, request, key, code, "mở lại kỳ để nhập.")
            if isinstance(found, Response):
                return found
            period, unit = found
            last = record.latest(session, key, code)
        # Pre-filled with the unit's last revision: paper usually corrects a figure or two.
        entry = as_entry(last.figures, last.narrative, last.submitted_by) if last else Entry()
        office = {"received_at": f"{to_local(ctx.clock()):%d/%m/%Y %H:%M}", "channel": "Bản giấy", "note": ""}
        return entry_page(request, period, unit, entry, {}, office)

    @r.post("/ky/{key}/don-vi/{code}/nhap-ho", response_class=HTMLResponse)
    async def enter(request: Request, key: str, code: str) -> Response:
        from scheduler.web import unit_form

        if not gate.logged_in(request):
            return await expired(request, key, code)
        return await gate.act(request, enter_work, request, key, code, max_body=FORM_BODY,
                              max_fields=unit_form.MAX_FIELDS)

    def enter_work(request: Request, key: str, code: str, form: dict) -> Response:
        from scheduler.web import unit_form

        config, now = ctx.config(), ctx.clock()
        with Session(ctx.engine) as session:
            patient(session)
            found = find(session, request, key, code)
            if isinstance(found, Response):
                return found
            period, unit = found
            entry = unit_form.entry_from_form(form, config.indicators_for(period, unit), config.headings_for(period, unit))
            office = {k: str(form.get(k, "")).strip() for k in ("received_at", "channel", "note")}
            report, errors = validate(config, period, entry, unit)
            received = parse_moment(office["received_at"])
            if received is None:
                errors["received_at"] = "Ghi thời điểm nhận dạng DD/MM/YYYY HH:MM, ví dụ 04/12/2026 16:30 (ngày phải có thật)."
            elif received > now:
                errors["received_at"] = "Thời điểm nhận ở tương lai; kiểm tra lại ngày, giờ."
            elif received.date() < period.start:
                errors["received_at"] = (f"Trước khi kỳ {period.title} bắt đầu ({period.start:%d/%m/%Y}); kiểm tra lại "
                                         "ngày/tháng (viết DD/MM/YYYY).")
            newest = record.latest(session, key, code)
            if received is not None and "received_at" not in errors and newest is not None \
                    and received < newest.received_at:
                errors["received_at"] = (f"Trước bản thứ {newest.revision} đã có (nhận lúc "
                                         f"{short_datetime(to_local(newest.received_at))}): bản nhập hộ sẽ là bản mới "
                                         "nhất nên phải nhận sau bản đó. Nếu văn bản giấy đến trước, bản đã có là bản "
                                         "đơn vị gửi sau cùng; không cần nhập lại.")
            if office["channel"] not in RECEIVED_BY:
                errors["channel"] = "Chọn hình thức Văn phòng nhận báo cáo."
            if len(office["note"]) > 200:
                errors["note"] = f"Dài {len(office['note'])} ký tự, tối đa 200."
            if errors or report is None:
                return entry_page(request, period, unit, entry, errors, office, status=422)
            try:
                recorded = record.record(session, config, period, unit, report, "office", now, received,
                                         mail_from=ctx.settings.mail_from, actor=gate.user(request),
                                         note=", ".join(x for x in (office["channel"], office["note"]) if x),
                                         signed=office["channel"] in SIGNED)
            except record.ClosedPeriod:
                return pages.error(request, 409, "Kỳ báo cáo đã khoá", f"Kỳ {period.title} đã khoá; mở lại kỳ để nhập.")
            if recorded.created:
                gate.audit(session, request, "nhap-ho", key, code,
                           detail=f"bản {recorded.submission.revision}; {recorded.submission.note}; nhận lúc "
                                  f"{short_datetime(received)}")
            session.commit()
        # the unit's receipt
        return gate.deliver_after(RedirectResponse(f"/vp/ky/{key}?xong=nhap-ho&dv={code}", status_code=303))

    return r
