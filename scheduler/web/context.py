"""What every route gets: the service's context (settings, clock, store, current config,
throttles, office sessions), the page renderer, and the body limits. Its own module so that the
routers and the application factory that includes them import it, not each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from scheduler.clock import Clock
from scheduler.config.model import Config
from scheduler.policy.periods import Period
from scheduler.settings import Settings
from scheduler.store import db
from scheduler.web.security import OfficeSessions, Throttle

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
        return {p.key: p for p in db.all_periods(session, self.config())}


class Pages:
    """Renders the Vietnamese pages with what every page shows (office name, contact)."""

    def __init__(self, ctx: WebContext):
        self.ctx = ctx
        env = Environment(loader=FileSystemLoader(str(Path(ctx.settings.templates_dir) / "web")),
                          autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
        self.templates = Jinja2Templates(env=env)

    def warm(self) -> None:
        """Compile every page's template now (~130 ms in all), not in the first request of each."""
        env = self.templates.env
        for name in env.list_templates(filter_func=lambda name: name.endswith(".html")):
            try:
                env.get_template(name)
            # An edited page that does not compile, or saved in another encoding, or unreadable,
            # fails where it is shown, as before: never the whole web process at its start.
            except (TemplateError, UnicodeError, OSError):
                pass

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        org = self.ctx.config().plan.organisation
        context = {"office_name": org.office_name, "contact": org.contact} | context
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # personal forms and figures
        return response

    def error(self, request: Request, status: int, heading: str, message: str,
              link: tuple[str, str] | None = None) -> HTMLResponse:
        """`link`: (address, words) of where to go from here, e.g. the office's login page."""
        return self.render(request, "error.html", status, heading=heading, message=message, link=link)


# What a request body may weigh: a unit's whole report (see unit_form.MAX_BODY), and for every
# other form (login, logout) a few kilobytes.
FORM_BODY = 4 * 1024 * 1024
SMALL_BODY = 16 * 1024


# How long a web request's write waits for the database's write lock before it is told to try again
# (SQLite's own timeout, for the service's other work, is 30 s): shorter than a person's patience.
WEB_PATIENCE_MS = 8000
DB_BUSY = (OperationalError, InterfaceError)


def patient(session: Session) -> None:
    """This session's writes wait WEB_PATIENCE_MS for SQLite's lock, then fail (DB_BUSY). The
    connection goes back to the pool with the setting: reset when it is next checked out (db.py)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {WEB_PATIENCE_MS}")
