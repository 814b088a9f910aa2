"""What each ledger row's mail is: a unit's notice, reminder or overdue mail with its link, a
receipt of a revision, the head's request to approve a revision, a revision returned for
correction, the office's digest, or a report version with what changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlmodel import Session, select

from scheduler.collect import record
from scheduler.config.model import Config, Unit
from scheduler.mail.compose import Composer
from scheduler.policy.periods import Period
from scheduler.policy.planner import OFFICE
from scheduler.report import versions
from scheduler.store import ledger, reviews
from scheduler.store.tables import ReportRow, Submission


def _revision(session: Session, period: Period, unit: Unit, revision: int | None) -> Submission:
    return session.exec(select(Submission).where(Submission.period_key == period.key,
                                                 Submission.unit_code == unit.code,
                                                 Submission.revision == revision)).one()


@dataclass(frozen=True)
class Known:
    """What a delivery pass has read once for all the messages of a chunk."""

    stored: frozenset[str]  # keys of the periods in the store
    closed: frozenset[str]  # … and of those the office closed
    submitted: frozenset[tuple[str, str]]  # (period key, unit code) with at least one revision


def message(session: Session, composer: Composer, config: Config, row: ledger.Taken, period: Period, now: datetime,
            link_for: Callable[..., str], known: Known | None = None):
    """The message a taken ledger row stands for, composed from what the store holds now.
    `link_for(session, period_key, unit_code, now, role="unit")`: the address a link opens."""
    to, cc = list(row.to_addrs), list(row.cc_addrs)
    if row.kind == "report":
        return report_mail(session, composer, config, row, period, now)
    if row.audience == OFFICE:
        return composer.digest(period, record.standings(session, config, period), to, now, row.message_id,
                               row.step)
    unit = config.unit(row.audience)
    assert unit is not None
    if row.kind == reviews.APPROVAL:
        # The head's own link: it opens the approval page only, never the unit's form.
        sub = _revision(session, period, unit, row.ref)
        return composer.approval(period, unit, to, sub.revision, sub.received_at, sub.submitted_by or "",
                                 sub.figures or {}, sub.narrative or {}, now, row.message_id,
                                 link_for(session, period.key, unit.code, now, role="head"), row.step)
    link = link_for(session, period.key, unit.code, now)
    if row.kind == reviews.RETURNED:
        sub = _revision(session, period, unit, row.ref)
        decided = reviews.reviews_of(session, period.key, unit.code, sub.revision)
        back = max((r for r in decided.values() if r.decision == "returned"), key=lambda r: (r.at, r.id or 0))
        return composer.returned(period, unit, to, cc, sub.revision, sub.received_at, back.comment or "", now,
                                 row.message_id, link, row.step, by_head=back.role == "head")
    if row.kind == "receipt":
        sub = _revision(session, period, unit, row.ref)
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
        waits = reviews.asked(session, period.key, unit.code, sub.revision) and not reviews.reviews_of(
            session, period.key, unit.code, sub.revision)
        # Only said when true: with approval off the call is what it always was.
        extra = {"awaiting_head": True} if waits else {}
        return composer.receipt(period, unit, to, sub.revision, sub.received_at, sub.on_time, sub.figures or {},
                                sub.narrative or {}, now, row.message_id, link, sub.channel, also, **extra)
    # One mail per unit and deadline: what the unit still owes that day under other plans too.
    bundle = record.open_bundle(session, config, period, unit, (known.stored, known.closed) if known else None)
    also = [p for p in bundle if p.key != period.key and not reviews.reported(session, p.key, unit.code)]
    # A report sent but not approved yet: the reminder says it waits for the head.
    waiting = None
    if known is None or (period.key, unit.code) in known.submitted:
        waiting = reviews.awaiting(session, period.key, unit.code)
    extra = {"awaiting": (waiting.revision, waiting.received_at)} if waiting is not None else {}
    return composer.unit_mail(row.kind, period, unit, to, cc, now, row.message_id, row.step, link, also, **extra)


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
