"""Recording what units return. A submission is a new revision, never an overwrite, and its
receipt is claimed in the send ledger in the same transaction (with, when the plan asks the
head's approval, the mail asking it: see store/reviews); the same report sent twice in quick
succession is one revision. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.store import ledger, reviews
from scheduler.policy.periods import Period
from scheduler.config.model import Config, Unit
from scheduler.store.tables import PeriodRow, Review, SendRow, Submission
from scheduler.policy.planner import OwedSend
from scheduler.collect.validate import Report


class ClosedPeriod(Exception):
    """The office has closed the period: the figures are final."""


def is_closed(session: Session, period_key: str) -> bool:
    row = session.get(PeriodRow, period_key)
    return bool(row and row.closed_at)


def open_bundle(session: Session, config: Config, period: Period, unit: Unit,
                known: tuple[frozenset[str], frozenset[str]] | None = None) -> list[Period]:
    """The periods of `unit`'s one-day form for `period` (Config.bundle) that still take reports:
    `period` itself, and every other one stored and not closed. The form asks them, the
    reminder lists those not yet reported. `known`: (stored, closed) period keys, when the
    caller has read them already."""
    due = []
    for other in config.bundle(period, unit):
        if other.key != period.key:
            if known is not None:  # what a delivery pass has read once for all its messages
                stored, closed = known
                if other.key not in stored or other.key in closed:
                    continue
            else:
                row = session.get(PeriodRow, other.key)
                if row is None or row.closed_at is not None:
                    continue
        due.append(other)
    return due if any(p.key == period.key for p in due) else [period]


def revisions(session: Session, period_key: str, unit_code: str) -> list[Submission]:
    return list(session.exec(
        select(Submission).where(Submission.period_key == period_key, Submission.unit_code == unit_code)
        .order_by(col(Submission.revision))
    ).all())


def histories(session: Session, period_key: str, counted: bool = True) -> dict[str, list[Submission]]:
    """Every unit's revisions for a period that count as reported, oldest first: all of them,
    unless the plan asks the head's approval, then those approved (see store/reviews). With
    `counted` False, every revision, approved or not."""
    decided = reviews.decisions(session, period_key) if counted else None
    found: dict[str, list[Submission]] = {}
    for row in session.exec(select(Submission).where(Submission.period_key == period_key)
                            .order_by(col(Submission.revision))).all():
        if decided is None or decided.counts(row):
            found.setdefault(row.unit_code, []).append(row)
    return found


def standing(history: list[Submission]) -> str:
    """on_time | late | missing. The first revision decides: a later correction does not make
    a unit late, and a late unit does not become on time by correcting."""
    return "missing" if not history else ("on_time" if history[0].on_time else "late")


@dataclass(frozen=True)
class Standing:
    """One unit's place in a period: its state and every revision it sent that counts, oldest
    first (with the head's approval asked: the approved ones; see store/reviews)."""

    code: str
    name: str
    state: str  # on_time | late | missing, by the first revision that counts
    history: list[Submission]
    # The unit's newest revision while it waits for the head's decision (approval asked, not
    # decided): sent, but not reported yet.
    awaiting: Submission | None = None
    # The decision that sent the newest revision back for correction (the head's, or the
    # office's); None once a newer revision arrived.
    returned: Review | None = None

    @property
    def received_at(self) -> datetime | None:
        """When the first revision arrived: what made the unit on time or late."""
        return self.history[0].received_at if self.history else None

    @property
    def last(self) -> Submission | None:
        return self.history[-1] if self.history else None


def standings(session: Session, config: Config, period: Period, former: bool = False) -> list[Standing]:
    """Every unit that owes `period`, in config order; with `former`, also units that reported
    but no longer owe it (removed from units.yaml or the obligation), so no figures vanish."""
    every = histories(session, period.key, counted=False)
    decided = reviews.decisions(session, period.key)
    codes = [u.code for u in config.units_for(period)]
    if former:
        codes += [c for c in every if c not in codes]
    out = []
    for code in codes:
        unit, sent = config.unit(code), every.get(code, [])
        history = [sub for sub in sent if decided.counts(sub)]
        newest = sent[-1] if sent else None
        out.append(Standing(code, unit.name if unit else code, standing(history), history,
                            awaiting=newest if newest is not None and decided.awaits(newest) else None,
                            returned=decided.returned(newest) if newest is not None else None))
    return out


def latest(session: Session, period_key: str, unit_code: str) -> Submission | None:
    return session.exec(
        select(Submission).where(Submission.period_key == period_key, Submission.unit_code == unit_code)
        .order_by(col(Submission.revision).desc())
    ).first()


# An identical resubmission this soon after the last one is the same report sent twice: a
# double tap on a phone, a browser resending a slow POST, the office running the same import
# twice. Ten minutes covers those with room to spare, yet is short enough that a unit asked to
# "send it again" later gets a new revision and a fresh receipt, as it expects.
DUPLICATE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Recorded:
    """What record() did: `submission` is the revision the sender should be shown; `created` is
    False when it was already there (an identical resubmission) and nothing new was stored."""

    submission: Submission
    created: bool


def _recorded_at(session: Session, sub: Submission) -> datetime:
    """When a revision was stored. The office may date a paper report days back (--received),
    so its receipt's claim time says when the import ran; a form's received_at is that time."""
    claimed = session.exec(
        select(SendRow.created_at).where(SendRow.period_key == sub.period_key, SendRow.audience == sub.unit_code,
                                         SendRow.step == f"receipt#{sub.revision}")
    ).first()
    return claimed or sub.received_at


def _same_as(session: Session, last: Submission | None, report: Report, channel: str,
             received_at: datetime | None, now: datetime) -> bool:
    """Whether `report` repeats `last` moments after it was stored. A stated received_at (a paper
    report's date) must match too: re-entering it with a corrected date is a correction."""
    return (last is not None and last.channel == channel and last.submitted_by == report.submitted_by
            and (last.figures or {}) == report.figures and (last.narrative or {}) == report.narrative
            and (received_at is None or last.received_at == received_at)
            # Either way round: a revision stamped by a clock that ran ahead stops absorbing
            # resends once the window is over, not only once the clock has caught up.
            and abs(now - _recorded_at(session, last)) < DUPLICATE_WINDOW)


def record(session: Session, config: Config, period: Period, unit: Unit, report: Report, channel: str,
           now: datetime, received_at: datetime | None = None, mail_from: str = "baocao@example.org",
           confirm: bool = True, actor: str = "Văn phòng", note: str | None = None,
           signed: bool | None = None) -> Recorded:
    """Store `report` as the unit's next revision and queue its receipt (unless `confirm` is
    False: another part of the same one-day form carries it); or, if it repeats the
    unit's latest revision within DUPLICATE_WINDOW, store nothing and return that revision. On
    time means received before the deadline (00:00 on the due day). Raises ClosedPeriod when the
    period is closed. When the period's plan asks the head's approval, the mail asking it is
    claimed with the revision (channel "form" or "file"); a revision the office enters
    (channel "office", by `actor`) is typed from a paper report the head has signed, so it is
    recorded as approved by the office instead — unless `signed` is False (an e-mail the office
    typed in). `note`: what an office entry came as. Safe against a concurrent submit for the same
    unit, in this process or another. Caller commits (on SQLite the savepoint below may already have committed the new
    revision with its receipt; both or neither, never one without the other)."""
    if is_closed(session, period.key):
        raise ClosedPeriod(period.key)
    received = received_at or now
    while True:
        last = latest(session, period.key, unit.code)
        if _same_as(session, last, report, channel, received_at, now):
            return Recorded(last, created=False)
        revision = (last.revision if last else 0) + 1
        sub = Submission(
            period_key=period.key, unit_code=unit.code, revision=revision, received_at=received,
            on_time=received < period.deadline, channel=channel, figures=report.figures,
            narrative=report.narrative, submitted_by=report.submitted_by, note=note,
        )
        receipt = OwedSend(at=now, kind="receipt", step=f"receipt#{revision}", period=period, unit=unit.code, ref=revision,
                           to=tuple(p.email for p in unit.focal_points))
        try:
            # The receipt is claimed inside the savepoint too: on SQLite (pysqlite) a savepoint
            # opened outside a transaction is the transaction, and its release commits it, so
            # the revision and its receipt must be in it together.
            with session.begin_nested():
                session.add(sub)
                session.flush()
                # The other parts of a one-day form share the first part's receipt.
                sends = [receipt] if confirm else []
                if reviews.required(config, period):
                    # A paper report or công văn carries the head's signature: that is the approval.
                    # An e-mail the office typed in does not (`signed`; None: every office entry).
                    if (channel == "office") if signed is None else signed:
                        reviews.approved_on_paper(session, period, unit, revision, actor, now)
                    else:
                        sends.append(reviews.approval_send(period, unit, revision, now))
                ledger.claim(session, sends, now, mail_from)
        except sa.exc.IntegrityError:
            # Another request or process stored this revision number first (the unique
            # (period, unit, revision) key). Look again: it may be this very report.
            winner = latest(session, period.key, unit.code)
            if winner is None or winner.revision < revision:
                raise  # not a lost race (a missing unit or period row): a bug, not a retry
            continue
        return Recorded(sub, created=True)


def open_request(session: Session, config: Config, title: str, deadline: date, like: str,
                 units: list[str] | None, now: datetime, key: str | None = None,
                 indicators: list[str] | None = None, headings: list[str] | None = None,
                 data_from: date | None = None, data_to: date | None = None) -> PeriodRow:
    """An on-request report ("khi có yêu cầu"): a period of its own that the planner, the
    reminders and the form treat like any other. `indicators` and `headings`: what it asks, a
    subset of `like`'s (None: all of them). Caller commits."""
    if key is None:
        base = f"YC-{deadline:%Y%m%d}"
        taken = set(session.exec(select(PeriodRow.key).where(col(PeriodRow.key).startswith(base))).all())
        key = base if base not in taken else next(f"{base}-{n}" for n in range(2, 1000) if f"{base}-{n}" not in taken)
    row = PeriodRow(key=key, obligation=like, title=title, start=now.date(), end=deadline, due=deadline,
                    source="request", units=units, created_at=now, indicators=indicators, headings=headings,
                    data_from=data_from, data_to=data_to)
    session.add(row)
    return row


def announce(session: Session, config: Config, period: Period, now: datetime, mail_from: str) -> int:
    """Tell the units of a request just opened now, rather than on its notice step's day (ten
    working days before its deadline, which may be a week away, while the office asked today).
    The mail is that notice step's, claimed under its own step name: the planner finds it sent and
    does not send it again on its day; later reminders go as planned. Nothing when the notice day
    has already come (the next tick sends it anyway) or the plan has no notice. Caller commits."""
    from scheduler.policy.planner import step_instant

    notices = [s for s in config.unit_steps if s.kind == "notice" and step_instant(config, period, s) > now]
    if not notices:
        return 0
    step = min(notices, key=lambda s: step_instant(config, period, s))  # the first notice
    owed = [OwedSend(at=now, kind="notice", step=step.id, period=period, unit=u.code,
                     to=tuple(p.email for p in u.focal_points)) for u in config.units_for(period)]
    return ledger.claim(session, owed, now, mail_from)


def close(session: Session, period_key: str, now: datetime) -> bool:
    """Close a period; False when it was closed already. One conditional UPDATE: two offices
    clicking at once close it once."""
    result = session.execute(sa.update(PeriodRow).where(PeriodRow.key == period_key, PeriodRow.closed_at.is_(None))
                             .values(closed_at=now))
    return result.rowcount == 1


def reopen(session: Session, period_key: str) -> bool:
    """Take reports again for a closed period; False when it was open."""
    result = session.execute(sa.update(PeriodRow).where(PeriodRow.key == period_key, PeriodRow.closed_at.is_not(None))
                             .values(closed_at=None))
    return result.rowcount == 1
