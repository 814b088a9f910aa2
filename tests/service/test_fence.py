"""Outcomes are written fenced, many in one statement: each row whose lease ran out and that
another deliverer took since keeps that deliverer's take, whatever the others in the batch do."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from scheduler.clock import TZ
from scheduler.policy.planner import OwedSend
from scheduler.store import db, ledger
from scheduler.store.sends import Outcome

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=TZ)
LEASE = timedelta(minutes=5)


def test_a_batch_of_outcomes_skips_exactly_the_rows_another_deliverer_took(any_db_url, shipped_config):
    engine = db.open_store(any_db_url)
    period = shipped_config.period("2026-Q4")
    units = [u.code for u in shipped_config.units_for(period)][:6]
    owed = [OwedSend(NOW, "notice", "notice", period, code, (f"{code.lower()}@example.org",)) for code in units]
    with Session(engine) as session:
        assert ledger.claim(session, owed, NOW, "baocao@example.org") == 6
        session.commit()
        first = ledger.take_many(session, ledger.due(session, NOW), NOW, LEASE)
    assert len(first) == 6
    # The first deliverer stalls past its lease; a second one takes two of its rows.
    later = NOW + LEASE + timedelta(minutes=1)
    with Session(engine) as session:
        second = ledger.take_many(session, [first[1].id, first[4].id], later, LEASE)
        assert [t.id for t in second] == [first[1].id, first[4].id]
        # Still its own: the others. Then it records a mixed batch, all of it at once.
        assert ledger.extend_many(session, first, later + LEASE) == 4
        batch = [(t, Outcome("sent") if n % 3 else Outcome("transient", "421 bận")) for n, t in enumerate(first)]
        # One of its recipients said "later" (greylisting): it goes again to that one alone.
        batch[5] = (first[5], Outcome("transient", "450 thử lại sau", retry_rcpts=("mot@example.org",)))
        statuses = ledger.record_many(session.connection(), batch, later)
        session.commit()
    assert statuses == ["pending", None, "sent", "pending", None, "pending"]
    with Session(engine) as session:
        assert ledger.record_many(session.connection(), [(t, Outcome("sent")) for t in second], later) == ["sent", "sent"]
        session.commit()
        rows = {row.id: row for row in session.execute(sa.text("SELECT * FROM send"))}
    assert [rows[t.id].status for t in first] == ["pending", "sent", "sent", "pending", "sent", "pending"]
    assert [rows[t.id].attempts for t in first] == [1, 2, 1, 1, 2, 1]
    assert [rows[t.id].last_error for t in first] == ["421 bận", None, None, "421 bận", None, "450 thử lại sau"]
    with Session(engine) as session:  # read back through the table's own types (JSON)
        again = ledger.take_many(session, [first[5].id], later + timedelta(hours=6), LEASE)
    assert [t.retry_rcpts for t in again] == [("mot@example.org",)]
    engine.dispose()
