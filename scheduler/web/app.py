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
from scheduler.web.security import Csrf, Sessions, Throttle

NOT_FOUND = ("Không tìm thấy trang", "Đường dẫn không đúng hoặc không còn tồn tại. Vui lòng kiểm tra lại "
             "đường dẫn trong thư của Văn phòng, hoặc liên hệ Văn phòng.")


@dataclass
class WebContext:
    settings: Settings
    clock: Clock
    engine: Engine
    config: Callable[[], Config]  # the current config: it changes on SIGHUP
    after_submit: Callable[[], Any] = lambda: None  # e.g. deliver the receipt now
    throttle: Throttle = field(default_factory=Throttle)
    sessions: Sessions = field(default_factory=Sessions)

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
