"""The office's pages: who has reported, each unit's history, downloads. Behind a login."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from scheduler.store import db
from scheduler.store.tables import PeriodRow, Submission
from scheduler.web.console import period_phase
from scheduler.web.context import SMALL_BODY, Pages, WebContext
from scheduler.web.gate import OfficeGate
from scheduler.web.security import CSRF_FIELD, BodyTooLarge, Csrf, Verifier, fingerprint, read_form

def tally(owing: list[str], sent: set[str], counted: set[str]) -> tuple[int, int]:
    """(reported, total) for one period, as its console counts them (exports.period_table): every
    unit owing it, plus any that sent a revision though no longer owing it; reported when a
    revision counts (approved, where the plan asks it)."""
    codes = set(owing) | sent
    return len(codes & counted), len(codes)


def tallies(session: Session, config, periods) -> dict[str, tuple[int, int]]:
    """tally() of every period from two queries over the whole store: the list of periods reads
    no revision's figures and looks no unit up one by one, so it grows with units, not their square."""
    sent: dict[str, set[str]] = {}
    for key, code in session.exec(select(Submission.period_key, Submission.unit_code).distinct()).all():
        sent.setdefault(key, set()).add(code)
    counted: dict[str, set[str]] = {}
    for key, code in db.reported_pairs(session):
        counted.setdefault(key, set()).add(code)
    return {p.key: tally([u.code for u in config.units_for(p)], sent.get(p.key, set()), counted.get(p.key, set()))
            for p in periods}


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    verifier = Verifier(concurrency=2)
    r = APIRouter(prefix="/vp")

    gate = OfficeGate(ctx, pages, csrf)
    logged_in, to_login, page, current_hash = gate.logged_in, gate.to_login, gate.page, gate._hash

    @r.get("/dang-nhap", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return page(request, "office_login.html", configured=bool(ctx.settings.office_password_hash), error=None,
                    user="")

    async def small_form(request: Request) -> dict[str, str] | None:
        try:
            return await read_form(request, SMALL_BODY, max_fields=10)
        except BodyTooLarge:
            return None

    @r.post("/dang-nhap", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await small_form(request)
        if form is None:
            return pages.error(request, 413, "Nội dung gửi quá lớn", "Nội dung gửi lên quá lớn so với biểu mẫu này.")
        address = request.client.host if request.client else "?"
        configured = bool(ctx.settings.office_password_hash)
        user, password = form.get("user", ""), form.get("password", "")
        bucket = f"{user[:64]}|{address}"
        def blocked() -> Response:
            return pages.error(request, 429, "Thử quá nhiều lần",
                               "Đã nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau ít phút.")

        if ctx.login_throttle.blocked(bucket):
            return blocked()
        if not csrf.valid(request, form.get(CSRF_FIELD), scope="vp"):
            return page(request, "office_login.html", 403, configured=configured, user="",
                        error="Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")
        stored = current_hash()
        async with verifier.turn(address):
            # Asked again in turn: guesses sent all at once are counted as they fail, not let
            # through together because none had failed yet when they arrived.
            if ctx.login_throttle.blocked(bucket):
                return blocked()
            # the password is checked even for a wrong name: the answer's delay tells nothing
            right = await verifier.check(stored, password) and user == ctx.settings.office_user
        if not right:
            await asyncio.sleep(ctx.login_throttle.fail(bucket))
            return page(request, "office_login.html", 401, configured=configured, user=user,
                        error="Tên đăng nhập hoặc mật khẩu không đúng.")
        ctx.login_throttle.forget(bucket)
        request.session.clear()
        request.session.update({"office": user, "sid": ctx.sessions.start(user), "pw": fingerprint(stored)})
        return RedirectResponse("/vp/", status_code=303)

    @r.post("/dang-xuat")
    async def logout(request: Request) -> Response:
        form = await small_form(request) or {}
        if csrf.valid(request, form.get(CSRF_FIELD), scope="vp"):
            ctx.sessions.end(request.session.get("sid"))  # a copied cookie stops working too, for good
            request.session.clear()
        return to_login()

    @r.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        if not logged_in(request):
            return to_login()
        return await gate.run(request, index_work, request)

    def index_work(request: Request) -> Response:
        now = ctx.clock()
        with Session(ctx.engine) as session:
            items = []
            first = db.read_state(session).get("first_tick")
            closed_at = dict(session.exec(select(PeriodRow.key, PeriodRow.closed_at)).all())
            config = ctx.config()
            periods = sorted(ctx.periods(session).values(), key=lambda p: p.due, reverse=True)
            counts = tallies(session, config, periods)
            for period in periods:
                reported, total = counts[period.key]
                items.append({"key": period.key, "title": period.title, "due": f"{period.due:%d/%m/%Y}",
                              "reported": reported, "total": total,
                              "phase": period_phase(period, closed_at.get(period.key), now, first.at if first else None),
                              "request": not config.is_recurring(period)})
        return page(request, "office_index.html", periods=items)

    @r.get("/ky/{key}/so-lieu.{fmt}")
    async def download(request: Request, key: str, fmt: str) -> Response:
        if not logged_in(request):
            return to_login()
        if fmt not in ("xlsx", "csv"):
            return pages.error(request, 404, "Không có định dạng này", "Chỉ có XLSX hoặc CSV.")
        from scheduler.collect import exports  # openpyxl: in the web process only once asked for

        config = ctx.config()
        with Session(ctx.engine) as session:
            period = ctx.periods(session).get(key)
            if period is None:
                return pages.error(request, 404, "Không có kỳ báo cáo này", f"Không có kỳ “{key}”.")
            rows = exports.period_table(session, config, period)
        if fmt == "xlsx":
            body = exports.to_xlsx(config, period, rows)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, media = exports.to_csv(config, period, rows), "text/csv; charset=utf-8"
        return Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="so-lieu-{key}.{fmt}"', "Cache-Control": "no-store"})

    return r
