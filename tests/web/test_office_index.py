"""The office's list of periods counts each period as its console does (exports.period_table),
from two queries over the whole store instead of every period's standings."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from scheduler.clock import TZ
from scheduler.collect import exports
from scheduler.store import db
from scheduler.store.tables import Submission, UnitRow
from scheduler.web.office import tallies, tally


def test_tally_counts_owing_units_and_former_reporters():
    # B and C owe; A reported though no longer owing; only A's and B's revisions count.
    assert tally(["B", "C"], sent={"A", "B"}, counted={"A", "B", "Z"}) == (2, 3)
    assert tally([], sent=set(), counted=set()) == (0, 0)


def test_tallies_agree_with_the_console_for_every_period(make_service):
    service = make_service()
    config = service.config
    now = datetime(2026, 12, 2, 9, tzinfo=TZ)
    with Session(service.engine) as session:
        db.sync_config(session, config, now)
        periods = db.all_periods(session, config)
        q4 = config.period("2026-Q4")
        owing = config.units_for(q4)
        for n, unit in enumerate(owing[:3]):
            for revision in range(1, n + 2):  # several revisions count once
                session.add(Submission(period_key=q4.key, unit_code=unit.code, revision=revision,
                                       received_at=now + timedelta(minutes=revision), on_time=True, channel="form",
                                       figures={}, narrative={}))
        session.add(UnitRow(code="CU", name="Đơn vị cũ", active=False, updated_at=now))
        session.flush()
        session.add(Submission(period_key=q4.key, unit_code="CU", revision=1, received_at=now, on_time=False,
                               channel="paper", figures={}, narrative={}))  # a unit since removed from units.yaml
        session.commit()
        counts = tallies(session, config, periods)
        for period in periods:
            rows = exports.period_table(session, config, period)
            assert counts[period.key] == (sum(r.state != "missing" for r in rows), len(rows)), period.key
        assert counts[q4.key] == (4, len(owing) + 1)
