"""FastAPI application factory. Everything the routes need comes in through WebContext."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from scheduler.web.context import FORM_BODY, NOT_FOUND, SMALL_BODY, Pages, WebContext
from scheduler.web.security import Csrf

DRAIN = 16 * 1024 * 1024  # beyond this, a refused body is not read to its end: the connection is closed


def body_limit(path: str) -> int:
    """A whole report may come from a unit's form, or from the office typing one in for it."""
    return FORM_BODY if path.startswith("/f/") or (path.startswith("/vp/") and path.endswith("/nhap-ho")) else SMALL_BODY


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
    from scheduler.web import approval, console, console_unit, office, requests, unit_form

    app = FastAPI(title="baocao", docs_url=None, redoc_url=None, openapi_url=None)
    secret = ctx.settings.secret()
    secure = ctx.settings.public_url.startswith("https://")
    app.add_middleware(SessionMiddleware, secret_key=secret.decode(), session_cookie="baocao_vp",
                       max_age=8 * 3600, same_site="lax", https_only=secure)
    pages = Pages(ctx)
    csrf = Csrf(secret, secure)
    app.include_router(unit_form.router(ctx, pages, csrf))
    app.include_router(office.router(ctx, pages, csrf))
    app.include_router(console.router(ctx, pages, csrf))
    app.include_router(console_unit.router(ctx, pages, csrf))
    app.include_router(requests.router(ctx, pages, csrf))
    app.include_router(approval.router(ctx, pages, csrf))

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

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon; without this every page logs a 404 for it

    @app.get("/suc-khoe", include_in_schema=False)
    async def health() -> dict:
        return {"ok": True}

    return app
