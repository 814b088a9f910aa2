"""What each ledger row's mail is: a unit's notice, reminder or overdue mail with its link, a
receipt of a revision, the office's digest, or a report version with what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlmodel import Session, select

from scheduler.collect import record
from scheduler.config.model import Config
from scheduler.mail.compose import Composer
from scheduler.policy.periods import Period
from scheduler.policy.planner import OFFICE
from scheduler.report import versions
from scheduler.store import ledger
from scheduler.store.tables import ReportRow, Submission


def message(session: Session, composer: Composer, config: Config, row: ledger.Taken, period: Period, now: datetime,
            link_for: Callable[[Session, str, str, datetime], str]):
    """The message a taken ledger row stands for, composed from what the store holds now."""
    to, cc = list(row.to_addrs), list(row.cc_addrs)
    if row.kind == "report":
        return report_mail(session, composer, config, row, period, now)
    if row.audience == OFFICE:
        return composer.digest(period, record.standings(session, config, period), to, now, row.message_id,
                               row.step)
    unit = config.unit(row.audience)
    assert unit is not None
    link = link_for(session, period.key, unit.code, now)
    if row.kind == "receipt":
        revision = row.ref
        sub = session.exec(select(Submission).where(Submission.period_key == period.key,
                                                    Submission.unit_code == unit.code,
                                                    Submission.revision == revision)).one()
        # Parts of the same one-day form, stored by the same submission (same instant), share it.
        also = []
        for other in config.bundle(period, unit):
            if other.key == period.key:
                continue
            got = session.exec(select(Submission).where(Submission.period_key == other.key,
                                                        Submission.unit_code == unit.code,
                                                        Submission.received_at == sub.received_at)).first()
            if got is not None:
                also.append((other, got.revision, got.figures or {}, got.narrative or {}))
        return composer.receipt(period, unit, to, sub.revision, sub.received_at, sub.on_time, sub.figures or {},
                                sub.narrative or {}, now, row.message_id, link, sub.channel, also)
    # One mail per unit and deadline: what the unit still owes that day under other plans too.
    also = [p for p in record.open_bundle(session, config, period, unit) if p.key != period.key
            and session.exec(select(Submission.id).where(Submission.period_key == p.key,
                                                         Submission.unit_code == unit.code)).first() is None]
    return composer.unit_mail(row.kind, period, unit, to, cc, now, row.message_id, row.step, link, also)


def report_mail(session: Session, composer: Composer, config: Config, row: ledger.Taken, period: Period, now: datetime):
    """The office's mail for report version N: the DOCX attached (and its PDF, when the version
    has one), and what changed since N-1."""
    version = row.ref
    made = {r.version: r for r in session.exec(select(ReportRow).where(ReportRow.period_key == period.key)).all()}
    report_row = made[version]
    sources = report_row.sources or {}
    states = {s.code: s for s in record.standings(session, config, period)}
    prints = versions.fingerprints(session, period.key)
    on_time = {code: states[code].state == "on_time" for code in sources if code in states}
    total = len(config.units_for(period))
    counts = {"reported": len(sources), "total": total, "on_time": sum(on_time.values()),
              "late": len(sources) - sum(on_time.values()), "missing": max(0, total - len(sources))}
    before = made[version - 1].sources or {} if version - 1 in made else {}
    changes = versions.changes(config, versions.digests(prints, before), versions.digests(prints, sources),
                              sources, on_time)
    return composer.report(period, version, report_row.filename, report_row.content, report_row.created_at, counts,
                           changes, list(row.to_addrs), now, row.message_id, report_row.pdf)
