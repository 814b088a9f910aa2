"""The office's console for one period: who has reported (at a glance and per unit, with each
unit's link to copy), the department's result per indicator against its target, every report
version to download, "lập lại ngay", and closing or reopening the period after a confirmation.
Every action is a POST through OfficeGate: the office's session, a CSRF token, an audit row."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from scheduler.clock import to_local
from scheduler.collect import links, record
from scheduler.policy.periods import Period
from scheduler.report import versions
from scheduler.report.consolidate import IndicatorResult
from scheduler.report.errors import TemplateError
from scheduler.report.prose import target_words, verdict
from scheduler.report.wording import percent
from scheduler.store import audit, db
from scheduler.store.tables import ReportRow, SendRow
from scheduler.text import long_date, number, short_datetime
from scheduler.web.context import Pages, WebContext, patient
from scheduler.web.gate import OfficeGate
from scheduler.web.security import Csrf

STATE_LABELS = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa nộp", "awaiting": "Chờ Thủ trưởng duyệt",
                "returned": "Trả lại để sửa"}
REMAKE_WINDOW = timedelta(minutes=2)  # "lập lại ngay" pressed twice this soon makes one version
log = logging.getLogger("baocao.web")

# What a redirect after an action tells the office, by the `xong` query parameter.
DONE = {
    "gui-lai": "Đã đưa thư của {unit} vào hàng gửi; thư đi ngay trong ít giây.",
    "gui-lai-da-nop": "{unit} đã nộp báo cáo kỳ này: không gửi lại thư nhắc.",
    "gui-lai-vua-gui": "Thư của {unit} vừa được gửi lại cách đây ít phút: không gửi thêm lần nữa.",
    "tra-lai": "Đã trả lại báo cáo của {unit} để sửa; đơn vị nhận thư kèm ý kiến của Văn phòng.",
    "nhap-ho": "Đã ghi báo cáo của {unit} do Văn phòng nhập hộ.",
    "lap-lai": "Đã lập bản báo cáo tổng hợp mới; thư gửi Văn phòng đi ngay trong ít giây.",
    "lap-lai-vua-lap": "Bản mới nhất vừa được lập cách đây ít phút: không lập thêm bản trùng.",
    "mo-yeu-cau": "Đã mở báo cáo đột xuất; thư thông báo kèm đường dẫn tới từng đơn vị đi ngay trong ít giây.",
    "mo-yeu-cau-lich": "Đã mở báo cáo đột xuất; thư thông báo kèm đường dẫn đi ở lượt nhắc tới (ngày làm việc, từ giờ gửi thư).",
    "khoa": "Đã khoá kỳ báo cáo: không nhận thêm bản sửa đổi, không nhắc nữa.",
    "mo-lai": "Đã mở lại kỳ báo cáo: đơn vị gửi và sửa báo cáo được như trước.",
}
ACTIONS = {"gui-lai": "Gửi lại thư", "tra-lai": "Trả lại để sửa", "nhap-ho": "Nhập hộ báo cáo", "lap-lai": "Lập lại báo cáo",
           "khoa": "Khoá kỳ", "mo-lai": "Mở lại kỳ", "mo-yeu-cau": "Mở báo cáo đột xuất", "dang-nhap": "Đăng nhập",
           "duyet": "Thủ trưởng duyệt", "tra-lai-thu-truong": "Thủ trưởng trả lại"}


def unit_state(standing) -> str:
    """The state the console shows: returned and awaiting approval before on time or late."""
    if getattr(standing, "returned", None) is not None:
        return "returned"
    if getattr(standing, "awaiting", None) is not None and standing.state == "missing":
        return "awaiting"
    return standing.state


def period_phase(period: Period, closed_at: datetime | None, now: datetime, first_start: datetime | None) -> str:
    """How a period reads in the list: closed, taking reports, past its deadline (late reports
    still taken), or over before the service was installed (nobody was reminded)."""
    if closed_at is not None:
        return f"Đã khoá ngày {to_local(closed_at):%d/%m/%Y}"
    if now < period.deadline:
        return "Đang nhận báo cáo"
    if first_start is not None and period.deadline <= first_start:
        return "Đã qua hạn trước khi dùng hệ thống"
    return "Đã quá hạn, vẫn nhận báo cáo muộn"


def indicator_rows(results: list[IndicatorResult]) -> list[dict]:
    """Each indicator's department result against its target, as the period page lists it."""
    rows = []
    for r in results:
        ind, total, value = r.indicator, r.total, r.value
        if total is None or value is None:
            shown, judged = "chưa có số liệu", ""
        elif ind.kind == "ratio":
            shown = f"{number(total.num)}/{number(total.den or 0)} = {percent(value, r.target)}"
            judged = verdict(value, r.target, ind) if r.target else ""
        else:
            shown = f"{number(int(value)) if float(value).is_integer() else value} {ind.unit or ''}".strip()
            judged = verdict(value, r.target, ind) if r.target else ""
        rows.append({"number": r.number, "name": ind.name, "child": bool(r.depth), "value": shown,
                     "target": target_words(r.target, ind) if r.target else "không giao", "verdict": judged,
                     "met": r.met, "units": r.units})
    return rows


def mailed_words(status: str | None, sent_at: datetime | None) -> str:
    """Where a version's mail to the office stands, from its ledger row."""
    if sent_at is not None:
        return f"đã gửi lúc {short_datetime(to_local(sent_at))}"
    if status in (None, "cancelled"):
        return "không gửi" if status else "chưa gửi"
    return "không gửi được — báo người quản trị hệ thống" if status == "failed" else "đang chờ gửi"


def chart(counts: dict[str, int], total: int) -> list[dict]:
    """The completeness bar: one segment per state, widths in percent of the units owing."""
    order = ("on_time", "late", "awaiting", "returned", "missing")
    return [{"state": s, "label": STATE_LABELS[s], "count": counts[s], "width": round(100 * counts[s] / total, 1)}
            for s in order if counts.get(s) and total]


def router(ctx: WebContext, pages: Pages, csrf: Csrf) -> APIRouter:
    gate = OfficeGate(ctx, pages, csrf)
    r = APIRouter(prefix="/vp")

    def period_or_404(session: Session, request: Request, key: str) -> Period | Response:
        period = ctx.periods(session).get(key)
        if period is None:
            return pages.error(request, 404, "Không có kỳ báo cáo này", f"Không có kỳ “{key}”.")
        return period

    def back(key: str, done: str, unit: str = "") -> Response:
        return RedirectResponse(f"/vp/ky/{key}?xong={done}" + (f"&dv={unit}" if unit else ""), status_code=303)

    script = (Path(__file__).parent / "static" / "console.js").read_bytes()

    @r.get("/tep/console.js", include_in_schema=False)
    async def console_js() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    @r.get("/ky/{key}", response_class=HTMLResponse)
    async def period_page(request: Request, key: str, xong: str = "", dv: str = "") -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        return await gate.run(request, period_work, request, key, xong, dv)

    def period_work(request: Request, key: str, xong: str, dv: str) -> Response:
        config, now = ctx.config(), ctx.clock()
        secret, base = ctx.settings.secret(), ctx.settings.public_url.rstrip("/")
        with Session(ctx.engine) as session:
            period = period_or_404(session, request, key)
            if isinstance(period, Response):
                return period
            row = session.get(db.PeriodRow, key)
            closed_at = row.closed_at if row is not None else None
            standings = record.standings(session, config, period)
            rows = []
            for s in standings:
                state = unit_state(s)
                token = links.link_token(session, secret, key, s.code, now)  # made once, then the same link
                rows.append({"code": s.code, "name": s.name, "state": state, "state_label": STATE_LABELS[state],
                             "count": len(s.history) or len(record.revisions(session, key, s.code)),
                             "last": short_datetime(to_local(s.last.received_at)) if s.last else "",
                             "link": f"{base}/f/{token}", "reported": state in ("on_time", "late", "returned")})
            session.commit()  # the links made for units that had none yet
            made = session.exec(select(ReportRow.version, ReportRow.created_at, ReportRow.filename,
                                       ReportRow.pdf.is_not(None))  # type: ignore[union-attr]
                                .where(ReportRow.period_key == key).order_by(col(ReportRow.version).desc())).all()
            # Each version's mail to the office is the ledger's report row that carries it.
            mails = {ref: (status, sent) for ref, status, sent in session.exec(
                select(SendRow.ref, SendRow.status, SendRow.sent_at)
                .where(SendRow.period_key == key, SendRow.kind == "report")).all()}
            result = versions.consolidation(session, config, period)
            first = db.read_state(session).get("first_tick")
            first_start = first.at if first else None
            trail = audit.recent(session, key, limit=50)
        counts = {s: sum(x["state"] == s for x in rows) for s in STATE_LABELS}
        unit = config.unit(dv)
        return gate.page(
            request, "office_period.html", period=period, due_long=long_date(period.due), rows=rows, counts=counts,
            closed=closed_at is not None,
            phase=period_phase(period, closed_at, now, first_start),
            chart=chart(counts, len(rows)), indicators=indicator_rows(result.indicators),
            versions=[{"version": v, "made": short_datetime(to_local(at)), "filename": name, "pdf": pdf,
                       "mailed": mailed_words(*mails.get(v, (None, None)))} for v, at, name, pdf in made],
            done=DONE.get(xong, "").format(unit=unit.name if unit else dv),
            trail=[{"at": short_datetime(to_local(a.at)), "actor": a.actor, "action": ACTIONS.get(a.action, a.action),
                    "unit": (config.unit(a.unit_code).name if a.unit_code and config.unit(a.unit_code) else a.unit_code or ""),
                    "detail": a.detail or ""} for a in trail],
            past_deadline=now >= period.deadline)

    @r.get("/ky/{key}/ban-{version}.{fmt}")
    async def download_version(request: Request, key: str, version: int, fmt: str) -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        with Session(ctx.engine) as session:
            row = session.exec(select(ReportRow).where(ReportRow.period_key == key, ReportRow.version == version)).first()
        body = None if row is None else row.content if fmt == "docx" else row.pdf if fmt == "pdf" else None
        if body is None:
            return pages.error(request, 404, "Không có bản báo cáo này",
                               f"Kỳ “{key}” không có bản số {version} ở định dạng {fmt.upper()}.")
        media = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document" if fmt == "docx"
                 else "application/pdf")
        name = row.filename if fmt == "docx" else row.filename.removesuffix(".docx") + ".pdf"
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                         "Cache-Control": "no-store"})

    @r.post("/ky/{key}/lap-lai")
    async def regenerate(request: Request, key: str) -> Response:
        form = await gate.form(request)
        if isinstance(form, Response):
            return form
        config, now = ctx.config(), ctx.clock()

        def make() -> int | str | None:
            with Session(ctx.engine) as session:
                period = ctx.periods(session).get(key)
                if period is None:
                    return None
                if record.is_closed(session, key):
                    return "closed"
                last = versions.latest_version(session, key)
                if last is not None and abs(now - last.created_at) < REMAKE_WINDOW:
                    return "recent"  # a double click, or a second office member at the same moment
                made = versions.make_version(session, config, period, now, ctx.settings.templates_dir / "docx",
                                             ctx.settings.mail_from, force=True)
                if made is None:
                    return 0
                gate.audit(session, request, "lap-lai", key, detail=f"bản {made.version}")
                session.commit()
                return made.version

        try:
            # Rendering and the PDF take seconds: off the event loop, so other pages keep answering.
            version = await asyncio.to_thread(make)
        except TemplateError as exc:  # the office's Word template: its message says what to fix there
            return pages.error(request, 500, "Không lập được báo cáo", f"Mẫu báo cáo tổng hợp có lỗi: {exc}")
        except Exception:  # noqa: BLE001 - anything else: in the journal, not on the office's screen
            log.exception("Không lập được báo cáo tổng hợp kỳ %s theo yêu cầu của Văn phòng", key)
            return pages.error(request, 500, "Không lập được báo cáo",
                               "Chưa lập được báo cáo tổng hợp do lỗi hệ thống; chưa có gì thay đổi. Vui lòng thử lại "
                               "sau ít phút hoặc báo người quản trị hệ thống (chi tiết trong nhật ký dịch vụ).")
        if version is None:
            return pages.error(request, 404, "Không có kỳ báo cáo này", f"Không có kỳ “{key}”.")
        if version == "closed":
            return pages.error(request, 409, "Kỳ báo cáo đã khoá",
                               "Kỳ đã khoá: số liệu không đổi nên không lập thêm bản; mở lại kỳ nếu cần lập lại.")
        if version == "recent":
            return back(key, "lap-lai-vua-lap")
        return gate.deliver_after(back(key, "lap-lai"))  # the new version's mail to the office

    async def confirm(request: Request, key: str, action: str) -> Response:
        if not gate.logged_in(request):
            return gate.to_login()
        with Session(ctx.engine) as session:
            period = period_or_404(session, request, key)
            if isinstance(period, Response):
                return period
            missing = sum(s.state == "missing" for s in record.standings(session, ctx.config(), period))
        return gate.page(request, "office_confirm.html", period=period, action=action, missing=missing)

    async def close_or_reopen(request: Request, key: str, action: str) -> Response:
        return await gate.act(request, close_work, request, key, action)

    def close_work(request: Request, key: str, action: str, form: dict) -> Response:
        with Session(ctx.engine) as session:
            patient(session)
            period = period_or_404(session, request, key)
            if isinstance(period, Response):
                return period
            if form.get("xac_nhan") != "1":  # the confirmation box left unticked: ask again, warning as before
                missing = sum(s.state == "missing" for s in record.standings(session, ctx.config(), period))
                return gate.page(request, "office_confirm.html", 422, period=period, action=action, missing=missing,
                                 unticked=True)
            changed = record.close(session, key, ctx.clock()) if action == "khoa" else record.reopen(session, key)
            if changed:
                gate.audit(session, request, action, key)
            session.commit()
        return back(key, action)

    for action in ("khoa", "mo-lai"):  # /vp/ky/<key>/khoa, /vp/ky/<key>/mo-lai: GET asks, POST does
        async def ask(request: Request, key: str, action: str = action) -> Response:
            return await confirm(request, key, action)

        async def do(request: Request, key: str, action: str = action) -> Response:
            return await close_or_reopen(request, key, action)

        r.add_api_route(f"/ky/{{key}}/{action}", ask, methods=["GET"], response_class=HTMLResponse)
        r.add_api_route(f"/ky/{{key}}/{action}", do, methods=["POST"])

    return r
