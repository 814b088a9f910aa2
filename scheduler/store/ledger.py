"""The send ledger: rows are claimed before SMTP is touched and updated after.

Claiming is an INSERT … ON CONFLICT DO NOTHING on (period, audience, step), so a send is owed
once. Taking a row for delivery is one conditional UPDATE whose WHERE names a fixed condition
(waiting, due or its lease run out, attempts left) and whose SET increments `attempts` in SQL:
two processes, or two ticks, cannot both take it, whatever either has read before. The
incremented `attempts` is the taker's fencing token: an outcome is recorded only while the row
is still "sending" with that count, so a deliverer whose lease ran out cannot overwrite what its
successor did. A row left in "sending" by a crash is taken again once its lease (one message's
worth of SMTP timeouts) runs out and goes with the Message-ID it was given at claim time.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from scheduler.store import dialect
from scheduler.store.sends import new_message_id
from scheduler.store.tables import SendRow
from scheduler.store.sends import Outcome
from scheduler.policy.planner import OwedSend

# A send that cannot go out is retried for days (an SMTP outage over a long weekend must not
# lose it); a newer step for the same unit supersedes it first (see planner.no_longer_owed).
GIVE_UP_AFTER = timedelta(days=7)
# Only a process that keeps dying while sending one row gets this far: stop the crash loop.
MAX_ATTEMPTS = 200
WAITING = ("pending", "sending")
MAX_RETRY_DELAY = timedelta(minutes=72)  # retry_delay's cap with its jitter
MAX_LEASE = timedelta(hours=1)
# No retry or lease we set lies further ahead than this. A row waiting for a later instant was
# scheduled by a clock that ran ahead; once the clock is put right it must not wait for that day.
HORIZON = MAX_RETRY_DELAY + MAX_LEASE + timedelta(minutes=30)

# Two instances' clocks, or a tick and the claim it made, may be this far apart.
EARLY = timedelta(minutes=2)

_send = SendRow.__table__  # core statements: no ORM object, no stale attribute, no expiry


@dataclass(frozen=True)
class Taken:
    """A row as it stood when this process took it: the only copy delivery may trust."""

    id: int
    period_key: str
    audience: str
    step: str
    kind: str
    scheduled_at: datetime
    created_at: datetime
    attempts: int  # after this take: the fencing token for recording its outcome
    message_id: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    retry_rcpts: tuple[str, ...]
    sent_at: datetime | None
    ref: int | None = None  # the revision a receipt confirms, the version a report mail carries


def lease_for(smtp_timeout: float, smtp_attempts: int, smtp_retry_base: float) -> timedelta:
    """How long one message may take before another deliverer may assume its sender died: a
    send, a lost connection, every reconnect with its back-off, a resend, and a busy database
    while recording (SQLite waits 30 s for a lock)."""
    backoff = sum(smtp_retry_base * 2 ** i * 1.5 for i in range(smtp_attempts))
    seconds = smtp_timeout * (smtp_attempts + 2) + backoff + 60
    return min(MAX_LEASE, timedelta(seconds=seconds))


# Rows per conditional UPDATE … WHERE id IN (…) of take_many: well under SQLite's bound-parameter
# limit (32,766 since 3.32; 999 before), and few enough round trips for a province's tick.
CHUNK = 60


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def claim(session: Session, owed: list[OwedSend], now: datetime, mail_from: str) -> int:
    """Write one pending row per owed send; returns how many were new. Caller commits.
    INSERT … ON CONFLICT DO NOTHING: a send already claimed stays as it is. One statement for
    every row (SQLAlchemy's "insertmanyvalues" sends it as multi-row INSERTs, compiled once: a
    VALUES list built per chunk was compiled per chunk, 7% of a province's tick)."""
    if not owed:
        return 0
    stmt = (dialect.insert(session)(_send).on_conflict_do_nothing(index_elements=["period_key", "audience", "step"])
            .returning(_send.c.id))
    rows = [dict(
        period_key=send.period.key, audience=send.audience, step=send.step, kind=send.kind,
        scheduled_at=send.at, created_at=now, status="pending", attempts=0,
        message_id=new_message_id(mail_from), to_addrs=list(send.to), cc_addrs=list(send.cc), ref=send.ref,
    ) for send in owed]
    # rowcount is -1 on PostgreSQL with RETURNING; the returned ids are the honest count.
    return len(session.execute(stmt, rows).all())


def _takeable(now: datetime):
    """Waiting, planned for now or earlier, and its retry time (or the lease of a deliverer that
    died) has come — or lies beyond any delay we set, which only a clock that ran ahead can have
    written. A row planned for later was claimed by such a clock: it waits for its own time."""
    at = _send.c.next_attempt_at
    return sa.and_(_send.c.status.in_(WAITING), _send.c.scheduled_at <= now + EARLY,
                   sa.or_(at.is_(None), at <= now, at > now + HORIZON))


def due(session: Session, now: datetime) -> list[int]:
    """Ids of the rows delivery may try to take now, oldest step first. Only candidates: each is
    taken (or found taken by someone else) by `take`."""
    stmt = (sa.select(_send.c.id).where(_takeable(now), _send.c.attempts < MAX_ATTEMPTS)
            .order_by(_send.c.scheduled_at, _send.c.id))
    return list(session.execute(stmt).scalars())


def give_up_exhausted(session: Session, now: datetime) -> int:
    """Rows whose deliverer died MAX_ATTEMPTS times while sending them: failed, visibly. Commits."""
    stmt = (sa.update(_send).where(_takeable(now), _send.c.attempts >= MAX_ATTEMPTS)
            .values(status="failed", next_attempt_at=None,
                    last_error=f"bỏ qua sau {MAX_ATTEMPTS} lần thử không có kết quả"))
    count = session.execute(stmt).rowcount
    session.commit()
    return count


def _taken(row) -> Taken:
    return Taken(id=row["id"], period_key=row["period_key"], audience=row["audience"], step=row["step"],
                 kind=row["kind"], scheduled_at=row["scheduled_at"], created_at=row["created_at"],
                 attempts=row["attempts"], message_id=row["message_id"], to_addrs=tuple(row["to_addrs"] or ()),
                 cc_addrs=tuple(row["cc_addrs"] or ()), retry_rcpts=tuple(row["retry_rcpts"] or ()),
                 sent_at=row["sent_at"], ref=row["ref"])


def take_many(session: Session, row_ids: list[int], now: datetime, lease: timedelta) -> list[Taken]:
    """Take rows for delivery with one conditional UPDATE per chunk: each row whose id is named
    and that is still takeable becomes this deliverer's; the others (another deliverer has
    them, sent, not due) are left alone. The condition is fixed and re-checked by the database
    row by row, so two processes taking the same ids never both get one. Oldest step first. Commits."""
    found = []
    for chunk in _chunks(row_ids):
        stmt = (sa.update(_send)
                .where(_send.c.id.in_(chunk), _takeable(now), _send.c.attempts < MAX_ATTEMPTS)
                .values(status="sending", attempts=_send.c.attempts + 1, next_attempt_at=now + lease)
                .returning(_send))
        found += [_taken(row) for row in session.connection().execute(stmt).mappings().all()]
        session.commit()  # each chunk's rows are held (and their lease runs) from here
    return sorted(found, key=lambda t: (t.scheduled_at, t.id))


def take(session: Session, row_id: int, now: datetime, lease: timedelta) -> Taken | None:
    """Take one row (see take_many), or None when it is not (or no longer) takeable. Commits."""
    taken = take_many(session, [row_id], now, lease)
    return taken[0] if taken else None


# The rows still this deliverer's: sending, under the take it made (another deliverer that took a
# row after its lease ran out counted one more attempt). "fence": [(id, attempts), …] of its takes.
_FENCED = sa.and_(_send.c.status == "sending",
                  sa.tuple_(_send.c.id, _send.c.attempts).in_(sa.bindparam("fence", expanding=True)))


def _fence(held: list[Taken]) -> list[tuple[int, int]]:
    return [(t.id, t.attempts) for t in held]


@functools.cache
def _recording(columns: tuple[str, ...]) -> sa.Update:
    """The fenced UPDATE writing `columns`, built once: building it per batch cost four times
    what SQLite took to run it."""
    return (sa.update(_send).where(_FENCED).values({name: sa.bindparam(f"v_{name}") for name in columns})
            .returning(_send.c.id))


# Rows fenced by one statement: far below any driver's limit on parameters (SQLite: 32,766).
FENCES = 500


def extend(session: Session, taken: Taken, until: datetime) -> bool:
    """Keep holding a row still being delivered (a slow server, a busy database): its lease is
    pushed to `until`, fenced like the outcome. Commits."""
    return bool(extend_many(session, [taken], until))


def extend_many(session: Session, held: list[Taken], until: datetime) -> int:
    """extend() for every row this deliverer holds, in one transaction; returns how many are
    still its own. Commits."""
    count = 0
    for start in range(0, len(held), FENCES):
        count += session.execute(sa.update(_send).where(_FENCED).values(next_attempt_at=until),
                                 {"fence": _fence(held[start:start + FENCES])}).rowcount
    session.commit()
    return count


def void_premature(session: Session, now: datetime, note: str) -> int:
    """After the clock went back: sends planned later than now were made by a clock that ran
    ahead. Those still waiting are cancelled; those made (sent or not) give their step back, so the
    step is owed again on its real day (their row stays, renamed, as history). Receipts, a head's
    approval mail and a return for correction are owed whatever the clock (nothing plans them
    again: they answer what someone did), and a report version made early is superseded by
    versions.make_version. Caller commits."""
    early = sa.and_(_send.c.scheduled_at > now + EARLY,
                    _send.c.kind.notin_(("receipt", "report", "approval", "returned")))
    cancelled = session.execute(
        sa.update(_send).where(early, _send.c.status.in_(WAITING))
        .values(status="cancelled", next_attempt_at=None, last_error=f"huỷ: {note}")).rowcount
    session.execute(
        sa.update(_send).where(early, ~_send.c.step.contains("~"))
        .values(step=_send.c.step + "~" + sa.cast(_send.c.id, sa.String),
                last_error=sa.func.coalesce(_send.c.last_error + "; ", "") + note))
    return cancelled


def retry_delay(attempts: int) -> timedelta:
    """Exponential (1, 2, 4 … minutes, capped at an hour) with ±20% jitter, so that several
    instances do not all come back to a recovering server at the same second."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2))


def outcome_values(taken: Taken, outcome: Outcome, now: datetime) -> dict:
    """The row's new columns for `outcome` (pure)."""
    if outcome.status == "sent":
        return dict(status="sent", sent_at=now, next_attempt_at=None, retry_rcpts=None, last_error=outcome.error)
    if outcome.status == "cancelled":
        return dict(status="cancelled", next_attempt_at=None, last_error=outcome.error)
    if outcome.status == "permanent":
        return dict(status="failed", next_attempt_at=None, last_error=outcome.error)
    if now - taken.created_at > GIVE_UP_AFTER:
        return dict(status="failed", next_attempt_at=None,
                    last_error=f"bỏ qua: không gửi được sau {GIVE_UP_AFTER.days} ngày: {outcome.error}")
    values = dict(status="pending", next_attempt_at=now + retry_delay(taken.attempts), last_error=outcome.error)
    if outcome.retry_rcpts:
        values |= dict(sent_at=taken.sent_at or now, retry_rcpts=list(outcome.retry_rcpts))  # the others have it
    return values


def record_many(connection: sa.Connection, outcomes: list[tuple[Taken, Outcome]], now: datetime) -> list[str | None]:
    """Store what delivery did, fenced by each take: each row's new status, or None when the row
    is no longer this deliverer's (its lease ran out and someone else took it). Several outcomes
    in one transaction: the deliverer's group commit, the outcomes SMTP gave while the previous
    one was being written. Core statements on a connection, no ORM bookkeeping. Caller commits —
    at once: an outcome must be durable before the next message goes."""
    values = [outcome_values(taken, outcome, now) for taken, outcome in outcomes]
    # Outcomes that write the same columns go in one statement (nearly every "sent" of a group
    # commit: an UPDATE per message was a sixth of a delivery pass's time); RETURNING says which
    # rows the fence let through.
    alike: dict[str, tuple[dict, list[Taken]]] = {}
    for (taken, _), row in zip(outcomes, values):
        alike.setdefault(repr(sorted(row.items())), (row, []))[1].append(taken)
    done: set[int] = set()
    for row, held in alike.values():
        statement = _recording(tuple(row))
        written = {f"v_{name}": value for name, value in row.items()}
        for start in range(0, len(held), FENCES):
            fence = _fence(held[start:start + FENCES])
            done.update(connection.execute(statement, {"fence": fence, **written}).scalars())
    return [row["status"] if taken.id in done else None for (taken, _), row in zip(outcomes, values)]
