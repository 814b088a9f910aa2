"""What every office page and action goes through: the login check, the CSRF token in each form,
and the audit trail. A POST is taken only from the office's live session with a valid token; what
it does is written to the audit in the same transaction as the change itself."""

from __future__ import annotations

import asyncio
import logging

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from sqlmodel import Session

from scheduler.store import audit
from scheduler.web.context import DB_BUSY, SMALL_BODY, Pages, WebContext
from scheduler.web.security import CSRF_FIELD, BodyTooLarge, Csrf, fingerprint, read_form

NOT_OFFICE = ("Cần đăng nhập", "Thao tác này chỉ dành cho Văn phòng. Vui lòng đăng nhập trang Văn phòng rồi làm lại.")
STALE = ("Phiên làm việc không hợp lệ", "Trang đã mở quá lâu hoặc không được gửi từ trang của Văn phòng. Vui lòng "
         "tải lại trang rồi làm lại; chưa có gì thay đổi.")
LOGIN_LINK = ("/vp/dang-nhap", "Đăng nhập trang Văn phòng")
BUSY = ("Hệ thống đang bận", "Cơ sở dữ liệu đang bận, thao tác chưa được thực hiện và chưa có gì thay đổi. "
        "Vui lòng đợi một lát rồi làm lại.")
log = logging.getLogger("baocao.web")
TOO_LARGE = ("Nội dung gửi quá lớn", "Nội dung gửi lên quá lớn so với biểu mẫu này.")


class OfficeGate:
    def __init__(self, ctx: WebContext, pages: Pages, csrf: Csrf):
        self.ctx, self.pages, self.csrf = ctx, pages, csrf

    def _hash(self) -> str | None:
        s = self.ctx.settings
        return s.office_password_hash.get_secret_value() if s.office_password_hash else None

    def logged_in(self, request: Request) -> bool:
        session = request.session
        user = self.ctx.settings.office_user
        return (session.get("office") == user and session.get("pw") == fingerprint(self._hash())
                and self.ctx.sessions.alive(session.get("sid"), user))

    def user(self, request: Request) -> str:
        return str(request.session.get("office") or "?")

    @staticmethod
    def to_login() -> Response:
        return RedirectResponse("/vp/dang-nhap", status_code=303)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        """An office page whose forms carry the CSRF token."""
        value, cookie = self.csrf.token_for(request, scope="vp")
        response = self.pages.render(request, name, status, csrf=value, **context)
        self.csrf.set_cookie(response, cookie)
        return response

    async def form(self, request: Request, max_body: int = SMALL_BODY, max_fields: int = 60) -> dict[str, str] | Response:
        """The posted fields of an office action, or the refusal to send instead: not the office's
        session (403, nothing read), a missing or wrong CSRF token (403), a body too large (413)."""
        if not self.logged_in(request):
            return self.pages.error(request, 403, *NOT_OFFICE, link=LOGIN_LINK)
        try:
            form = await read_form(request, max_body, max_fields)
        except BodyTooLarge:
            return self.pages.error(request, 413, *TOO_LARGE)
        if not self.csrf.valid(request, form.get(CSRF_FIELD), scope="vp"):
            return self.pages.error(request, 403, *STALE)
        return form

    async def run(self, request: Request, work, *args) -> Response:
        """`work(*args)`, the database part of an office page or action, in a worker thread: a
        database slow to answer, or locked by another process, holds up this page alone. Its
        writes wait WEB_PATIENCE for the lock; then the office is told nothing changed."""
        try:
            return await asyncio.to_thread(work, *args)
        except DB_BUSY:
            log.warning("Cơ sở dữ liệu bận hoặc không trả lời khi Văn phòng mở %s", request.url.path)
            return self.pages.error(request, 503, *BUSY)

    async def act(self, request: Request, work, *args, max_body: int = SMALL_BODY, max_fields: int = 60) -> Response:
        """An office action: the posted form (or its refusal, see form), then `work(*args, form)`
        through run."""
        form = await self.form(request, max_body, max_fields)
        if isinstance(form, Response):
            return form
        return await self.run(request, work, *args, form)

    def deliver_after(self, response: Response) -> Response:
        """Send what the action queued (a resend, a return, a receipt) once the answer has gone,
        on the event loop, whichever thread made the answer."""
        async def deliver() -> None:
            self.ctx.after_submit()

        response.background = BackgroundTask(deliver)
        return response

    def audit(self, session: Session, request: Request, action: str, period_key: str | None = None,
              unit_code: str | None = None, detail: str = "") -> None:
        audit.write(session, self.ctx.clock(), self.user(request), action, period_key, unit_code, detail)
