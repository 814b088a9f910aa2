"""The send ledger: rows are claimed before SMTP is touched and updated after.

Claiming is an INSERT … ON CONFLICT DO NOTHING on (period, audience, step), so two ticks
(or two instances on one PostgreSQL) can never both own a send. Taking a row for delivery
is a conditional UPDATE; a row left in "sending" by a crash is taken again once its lease
runs out and goes with the Message-ID it was given at claim time.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.mail import new_message_id
from scheduler.outcome import Outcome
from scheduler.models import SendRow
from scheduler.planner import OwedSend

LEASE = timedelta(minutes=15)  # longer than any batch can take with its timeouts
# A send that cannot go out is retried for days (an SMTP outage over a long weekend must not
# lose it); a newer step for the same unit supersedes it first (see Service._no_longer_owed).
GIVE_UP_AFTER = timedelta(days=7)
# Only a process that keeps dying while sending one row gets this far: stop the crash loop.
MAX_ATTEMPTS = 200
WAITING = ("pending", "sending")


def claim(session: Session, owed: list[OwedSend], now: datetime, mail_from: str) -> int:
    """Write one pending row per owed send; returns how many were new. Caller commits."""
    if not owed:
        return 0
    # Imported here: the PostgreSQL dialect pulls in asyncio and asyncpg's module for every command.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    created = 0
    for send in owed:
        stmt = insert(SendRow).values(
            period_key=send.period.key, audience=send.audience, step=send.step, kind=send.kind,
            scheduled_at=send.at, created_at=now, status="pending", attempts=0,
            message_id=new_message_id(mail_from), to_addrs=list(send.to), cc_addrs=list(send.cc),
        ).on_conflict_do_nothing(index_elements=["period_key", "audience", "step"]).returning(SendRow.id)
        # rowcount is -1 on PostgreSQL with RETURNING; a returned id is the honest count.
        created += session.execute(stmt).first() is not None
    return created


def due(session: Session, now: datetime) -> list[SendRow]:
    """Rows waiting for delivery whose retry time (or lease) has come, oldest first."""
    stmt = (
        select(SendRow)
        .where(col(SendRow.status).in_(WAITING))
        .where(sa.or_(col(SendRow.next_attempt_at).is_(None), col(SendRow.next_attempt_at) <= now))
        .order_by(col(SendRow.scheduled_at), col(SendRow.id))
    )
    return list(session.exec(stmt).all())


def take(session: Session, row: SendRow, now: datetime) -> bool:
    """Mark `row` as being sent, unless someone else took it first. Commits."""
    if row.attempts >= MAX_ATTEMPTS:
        record(session, row.id, Outcome("permanent", f"bỏ qua sau {row.attempts} lần thử không có kết quả"), now)
        session.commit()
        return False
    stmt = (
        sa.update(SendRow)
        .where(col(SendRow.id) == row.id)
        .where(col(SendRow.status) == row.status)
        .where(col(SendRow.attempts) == row.attempts)
        .values(status="sending", attempts=row.attempts + 1, next_attempt_at=now + LEASE)
    )
    taken = session.execute(stmt).rowcount == 1
    session.commit()
    return taken


def retry_delay(attempts: int) -> timedelta:
    """Exponential (1, 2, 4 … minutes, capped at an hour) with ±20% jitter, so that several
    instances do not all come back to a recovering server at the same second."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2))


def record(session: Session, row_id: int, outcome: Outcome, now: datetime) -> SendRow:
    """Store what delivery did. Caller commits."""
    row = session.get(SendRow, row_id)
    assert row is not None
    row.last_error = outcome.error
    if outcome.status == "sent":
        row.status, row.sent_at, row.next_attempt_at, row.retry_rcpts = "sent", now, None, None
    elif outcome.status == "cancelled":
        row.status, row.next_attempt_at = "cancelled", None
    elif outcome.status == "permanent":
        row.status, row.next_attempt_at = "failed", None
    elif now - row.created_at > GIVE_UP_AFTER:
        row.status, row.next_attempt_at = "failed", None
        row.last_error = f"bỏ qua: không gửi được sau {GIVE_UP_AFTER.days} ngày: {outcome.error}"
    else:
        row.status, row.next_attempt_at = "pending", now + retry_delay(row.attempts)
        if outcome.retry_rcpts:
            row.sent_at = row.sent_at or now  # the others have it
            row.retry_rcpts = list(outcome.retry_rcpts)
    session.add(row)
    return row
