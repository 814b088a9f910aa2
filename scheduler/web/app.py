"""FastAPI application factory. Everything the routes need comes in through WebContext."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from scheduler.clock import to_local
from scheduler.store import leader
from scheduler.web.context import FORM_BODY, NOT_FOUND, SMALL_BODY, Pages, WebContext
from scheduler.web.security import Csrf

log = logging.getLogger("baocao.web")
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


def create_app(ctx: WebContext, health: Callable[[], dict] | None = None) -> FastAPI:
    """`health`: what the running service says of itself on /healthz (its role, next tick, when
    its config was loaded); the store's part is asked of the store by the route."""
    from scheduler.web import approval, console, console_unit, formcache, office, requests, unit_form

    app = FastAPI(title="baocao", docs_url=None, redoc_url=None, openapi_url=None)
    secret = ctx.settings.secret()
    secure = ctx.settings.public_url.startswith("https://")
    app.add_middleware(SessionMiddleware, secret_key=secret.decode(), session_cookie="baocao_vp",
                       max_age=8 * 3600, same_site="lax", https_only=secure)
    pages = Pages(ctx)
    app.state.warm = pages.warm  # by the web process before it says it is ready
    csrf = Csrf(secret, secure)
    form_pages = formcache.FormCache()
    app.state.forget_pages = form_pages.clear  # by the web process on a reload: the old config's pages go
    app.state.warm_store = lambda: unit_form.warm_store(ctx)  # by the web process once it serves
    app.include_router(unit_form.router(ctx, pages, csrf, form_pages))
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # Whatever went wrong (the database failing mid-login, a bug), the person sees Vietnamese
        # and what to do; the journal gets the traceback.
        logging.getLogger("baocao.web").error("Lỗi khi xử lý %s %s", request.method, request.url.path, exc_info=exc)
        return pages.error(request, 500, "Có lỗi hệ thống", "Hệ thống gặp lỗi nên chưa làm được việc này. Vui lòng "
                           "thử lại sau ít phút; nếu vẫn lỗi, báo người quản trị hệ thống.")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon; without this every page logs a 404 for it

    @app.get("/suc-khoe", include_in_schema=False)
    async def alive() -> dict:
        return {"ok": True}  # the process answers; /healthz says whether it can do its work

    down: list[bool] = []  # non-empty while the last probe failed

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "database": {"reachable": True}}
        try:
            # In a thread, and bounded twice (the probe's own timeouts, then this wait): the event
            # loop serving every form never waits on a database that hangs.
            store = await asyncio.wait_for(asyncio.to_thread(leader.probe, ctx.settings.database_url),
                                           leader.PROBE_TIMEOUT + 1)
        except Exception as exc:  # noqa: BLE001 - whatever the database says, the answer is 503
            if not down:  # once per outage: a load balancer asks every few seconds
                log.warning("Kiểm tra sức khoẻ: không truy cập được cơ sở dữ liệu: %s", exc)
            store = None
            # The detail goes to the journal only: this page is public and the error may name hosts.
            body["status"] = "lỗi"
            body["database"] = {"reachable": False, "error": "không truy cập được cơ sở dữ liệu "
                                "(chi tiết trong nhật ký của dịch vụ)"}
        body |= (health() if health is not None else {"role": None, "next_tick": None, "config_loaded_at": None})
        if store is not None:
            last = store.pop("last_tick")
            body["last_tick"] = to_local(last).isoformat(timespec="seconds") if last else None
            body["ledger"] = store
        else:
            body["last_tick"], body["ledger"] = None, None
        if down and store is not None:
            log.info("Kiểm tra sức khoẻ: cơ sở dữ liệu đã truy cập được trở lại")
        down[:] = [] if store is not None else [True]
        return JSONResponse(body, status_code=200 if store is not None else 503,
                            headers={"Cache-Control": "no-store"})

    return app
