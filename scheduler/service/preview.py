"""The preview a running service's tick would follow from now on (`baocao plan`, `status`,
`request`), read from the store without writing: the clock facts, and which report versions the
next ticks would make."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.config.model import Config
from scheduler.policy import clockcheck, planner
from scheduler.policy.periods import Period
from scheduler.report import versions
from scheduler.store import db, ledger


def stored_clock_facts(state: dict) -> clockcheck.ClockFacts:
    """What the store's state rows say about earlier clocks (db.read_state)."""
    newest, first = state.get(clockcheck.NEWEST_TICK), state.get(clockcheck.FIRST_TICK)
    return clockcheck.ClockFacts(newest.at if newest else None, first.at if first else None,
                                 clockcheck.CONFIRMED in state)


def pending_reports(session: Session, config: Config, periods: list[Period], closed: frozenset[str],
                    now: datetime, end: datetime) -> dict[str, int]:
    """Period key → the report version the next tick in its window would make, as
    versions.make_version decides: none made yet, the last one made by a clock that ran ahead,
    or the figures changed since it (a late report, a correction). Only periods whose report
    window meets [now, end]."""
    pending: dict[str, int] = {}
    for period in periods:
        if period.key in closed or period.deadline > end or period.deadline + planner.REPORT_WINDOW < now:
            continue
        last = versions.latest_version(session, period.key)
        if last is None:
            pending[period.key] = 1
            continue
        if last.created_at <= now + ledger.EARLY:
            prints = versions.fingerprints(session, period.key)
            current = {code: r.revision for code, r in versions.latest_returns(session, period.key).items()}
            if versions.digests(prints, last.sources or {}) == versions.digests(prints, current):
                continue
        pending[period.key] = last.version + 1
    return pending


def preview(engine: Engine, config: Config, now: datetime, end: datetime) -> list[planner.Planned]:
    """What a running service will send from `now` to `end` if no unit reports from now on:
    the tick's own decisions replayed on what the store knows now (planner.preview). Reads only."""
    with Session(engine) as session:
        periods = db.all_periods(session, config)
        facts = db.load_facts(session, config, now)
        clock = stored_clock_facts(db.read_state(session))
        closed = db.closed_periods(session)
        pending = pending_reports(session, config, periods, closed, now, end)
    return planner.preview(config, periods, facts, clock, now, end, pending)
