"""FastAPI application factory. Everything the routes need comes in through WebContext."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from scheduler import store
from scheduler.calendar import Period
from scheduler.clock import Clock
from scheduler.config import Config
from scheduler.settings import Settings
from scheduler.web.security import Csrf, OfficeSessions, Throttle

NOT_FOUND = ("Không tìm thấy trang", "Đường dẫn không đúng hoặc không còn tồn tại. Vui lòng kiểm tra lại "
             "đường dẫn trong thư của Văn phòng, hoặc liên hệ Văn phòng.")


@dataclass
class WebContext:
    settings: Settings
    clock: Clock
    engine: Engine
    config: Callable[[], Config]  # the current config: it changes on SIGHUP
    after_submit: Callable[[], Any] = lambda: None  # e.g. deliver the receipt now
    # Two separate counters: an address that guessed unit links (perhaps a shared proxy, or a unit
    # that mistyped one) is no reason to keep the office from logging in from it.
    throttle: Throttle = field(default_factory=Throttle)  # bad /f/<token>, per address
    # Failed logins, per user name and address: 3 free, then 0.25 s, 0.5 s, … up to 5 s per answer;
    # after 10 within 5 minutes that pair is refused until the oldest has aged out (at most 5
    # minutes). That caps guessing at ~3,000 a day per address, while the office, having mistyped
    # ten times, waits minutes, not forever; and nobody elsewhere can lock the office out.
    login_throttle: Throttle = field(default_factory=lambda: Throttle(window=300.0, free=3, block_after=10))
    sessions: OfficeSessions | None = None  # made from the engine and clock unless given

    def __post_init__(self) -> None:
        if self.sessions is None:
            self.sessions = OfficeSessions(self.engine, self.clock)

    def periods(self, session: Session) -> dict[str, Period]:
        return {p.key: p for p in store.all_periods(session, self.config())}


class Pages:
    """Renders the Vietnamese pages with what every page shows (office name, contact)."""

    def __init__(self, ctx: WebContext):
        self.ctx = ctx
        env = Environment(loader=FileSystemLoader(str(Path(ctx.settings.templates_dir) / "web")),
                          autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
        self.templates = Jinja2Templates(env=env)

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        org = self.ctx.config().plan.organisation
        context = {"office_name": org.office_name, "contact": org.contact} | context
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # personal forms and figures
        return response

    def error(self, request: Request, status: int, heading: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status, heading=heading, message=message)


# What a request body may weigh: a unit's whole report (see unit_form.MAX_BODY), and for every
# other form (login, logout) a few kilobytes.
FORM_BODY = 4 * 1024 * 1024
SMALL_BODY = 16 * 1024
DRAIN = 16 * 1024 * 1024  # beyond this, a refused body is not read to its end: the connection is closed


def body_limit(path: str) -> int:
    return FORM_BODY if path.startswith("/f/") else SMALL_BODY


class BodyLimit:
    """Refuses a request whose Content-Length is over its route's limit before anything else
    runs: no token looked up, no byte of the body read. A body that is merely too large is read
    and discarded by the server so the browser gets the page; a huge one closes the connection.
    A body without a length (chunked) is read within the same limit by the routes (read_form)."""

    def __init__(self, app, refuse: Callable[[Request, int], Any]):
        self.app, self.refuse = app, refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
            limit = body_limit(scope["path"])
            if length.isdigit() and int(length) > limit:
                response = self.refuse(Request(scope), limit)
                if int(length) > DRAIN:
                    response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(ctx: WebContext) -> FastAPI:
    from scheduler.web import office, unit_form

    app = FastAPI(title="baocao", docs_url=None, redoc_url=None, openapi_url=None)
    secret = ctx.settings.secret()
    secure = ctx.settings.public_url.startswith("https://")
    app.add_middleware(SessionMiddleware, secret_key=secret.decode(), session_cookie="baocao_vp",
                       max_age=8 * 3600, same_site="lax", https_only=secure)
    pages = Pages(ctx)
    csrf = Csrf(secret, secure)
    app.include_router(unit_form.router(ctx, pages, csrf))
    app.include_router(office.router(ctx, pages, csrf))

    def too_large(request: Request, limit: int) -> HTMLResponse:
        if limit == FORM_BODY:
            return pages.error(request, 413, "Nội dung gửi quá lớn", unit_form.TOO_LARGE)
        return pages.error(request, 413, "Nội dung gửi quá lớn", "Nội dung gửi lên quá lớn so với biểu mẫu này.")

    app.add_middleware(BodyLimit, refuse=too_large)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # Links carry a secret token: never leak it in a Referer; never frame these pages.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return pages.error(request, 404, *NOT_FOUND)
        if exc.status_code == 405:
            return pages.error(request, 405, "Thao tác không hợp lệ", "Trang này không nhận thao tác đó.")
        return pages.error(request, exc.status_code, "Có lỗi", str(exc.detail))

    @app.get("/suc-khoe", include_in_schema=False)
    async def health() -> dict:
        return {"ok": True}

    return app
