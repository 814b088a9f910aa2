"""What is owed now: the decision the scheduler's tick and the preview share."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session

from scheduler.service import preview as tick  # the preview the tick follows
from scheduler.store import db
from scheduler.policy.clockcheck import ClockFacts
from scheduler.clock import TZ, system_clock
from scheduler.store.tables import SendRow, Submission
from scheduler.policy.planner import Facts, owed_at, preview
from tests.conftest import Q4_2026_DEADLINE


NEVER_TICKED = ClockFacts(newest_tick=None, first_tick=None, confirmed=False)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


def active_codes(config) -> set[str]:
    return {u.code for u in config.units if u.active}


def test_service_started_late_owes_one_notice_per_unit_not_a_backlog(shipped_config):
    # First start on 27/11/2026: the Q4 notice (20/11) was missed; Q2/Q3 ended long ago.
    with freeze_time("2026-11-27 03:00:00"):  # 10:00 in Hà Nội
        now = system_clock()
    owed = owed_at(shipped_config, shipped_config.periods, Facts(), now)
    assert {(s.kind, s.period.key) for s in owed} == {("notice", "2026-Q4")}
    assert sorted(s.unit for s in owed) == sorted(active_codes(shipped_config))
    assert {s.at for s in owed} == {at("20/11/2026 08:00")}


def test_service_started_after_two_missed_steps_owes_only_the_latest(shipped_config):
    with freeze_time("2026-12-03 02:00:00"):  # 09:00 on 03/12: notice and reminder-3 both missed
        now = system_clock()
    owed = owed_at(shipped_config, shipped_config.periods, Facts(), now)
    assert {s.step for s in owed} == {"reminder-3"}
    assert len(owed) == len(active_codes(shipped_config))
    # once sent, nothing more is owed that day, and the notice is not resent
    assert owed_at(shipped_config, shipped_config.periods, Facts().with_sent(owed), now) == []


def test_nothing_owed_before_0800_and_owed_from_0800(shipped_config):
    notices = owed_at(shipped_config, shipped_config.periods, Facts(), at("20/11/2026 08:00"))
    facts = Facts().with_sent(notices)
    assert owed_at(shipped_config, shipped_config.periods, facts, at("02/12/2026 07:59")) == []
    owed = owed_at(shipped_config, shipped_config.periods, facts, at("02/12/2026 08:00"))
    assert {s.step for s in owed} == {"reminder-3"}


def test_no_mail_on_national_culture_day(shipped_config):
    notices = owed_at(shipped_config, shipped_config.periods, Facts(), at("20/11/2026 08:00"))
    facts = Facts().with_sent(notices)
    assert owed_at(shipped_config, shipped_config.periods, facts, at("24/11/2026 08:00")) == []
    assert owed_at(shipped_config, shipped_config.periods, facts, at("24/11/2026 23:59")) == []


def test_service_started_on_a_holiday_waits_for_the_next_working_day(shipped_config):
    assert owed_at(shipped_config, shipped_config.periods, Facts(), at("24/11/2026 10:00")) == []
    assert owed_at(shipped_config, shipped_config.periods, Facts(), at("28/11/2026 10:00")) == []  # Saturday
    assert owed_at(shipped_config, shipped_config.periods, Facts(), at("25/11/2026 07:59")) == []
    owed = owed_at(shipped_config, shipped_config.periods, Facts(), at("25/11/2026 08:00"))
    assert {s.step for s in owed} == {"notice-10"}


def test_unit_that_reported_gets_no_more_mail_for_that_period(shipped_config):
    facts = Facts(reported=frozenset({("2026-Q4", "BPMC")}))
    for moment in ("02/12/2026 08:00", "04/12/2026 08:00", "07/12/2026 08:00", "09/12/2026 08:00"):
        owed = owed_at(shipped_config, shipped_config.periods, facts, at(moment))
        units = {s.unit for s in owed if s.unit}
        assert "BPMC" not in units and "TTRA" in units, moment


def test_overdue_copies_the_unit_head_and_digest_goes_to_the_office(shipped_config):
    owed = owed_at(shipped_config, shipped_config.periods, Facts(), at("07/12/2026 08:00"))
    bpmc = next(s for s in owed if s.unit == "BPMC")
    assert (bpmc.kind, bpmc.to, bpmc.cc) == (
        "overdue", ("bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"), ("bpmc.truongdonvi@example.org",))
    digest = next(s for s in owed if s.unit is None)
    assert (digest.kind, digest.step, digest.to, digest.cc) == ("digest", "digest+1", ("vanphong@example.org",), ())
    assert owed[-1] is digest  # the office hears after the units of the same instant


def test_inactive_unit_gets_nothing(shipped_config):
    inactive = [u.code for u in shipped_config.units if not u.active]
    assert inactive == ["TTNS"]
    everything = preview(shipped_config, shipped_config.periods, Facts(), NEVER_TICKED, at("01/05/2026 00:00"),
                         at("31/12/2026 23:59"), {"2026-Q2": 1, "2026-Q3": 1, "2026-Q4": 1})
    assert {p.send.kind for p in everything} == {"notice", "reminder", "overdue", "digest", "report"}
    assert not [p for p in everything if p.send.unit == "TTNS"]


def test_unit_added_mid_period_joins_from_the_next_step(shipped_config):
    facts = Facts(joined={"BPMC": at("25/11/2026 15:00")})
    owed = owed_at(shipped_config, shipped_config.periods, facts, at("27/11/2026 10:00"))
    assert "BPMC" not in {s.unit for s in owed}  # the notice went out before it joined
    owed = owed_at(shipped_config, shipped_config.periods, facts, at("02/12/2026 08:00"))
    assert any(s.unit == "BPMC" and s.step == "reminder-3" for s in owed)


def test_closed_period_owes_nothing(shipped_config):
    facts = Facts(closed=frozenset({"2026-Q4"}))
    assert owed_at(shipped_config, shipped_config.periods, facts, at("07/12/2026 08:00")) == []


def test_final_step_is_caught_up_for_a_few_days_only(shipped_config):
    # overdue+3 is on 09/12; a service down until 11/12 still sends it, one down until January does not
    owed = owed_at(shipped_config, shipped_config.periods, Facts(), at("11/12/2026 09:00"))
    assert {s.step for s in owed} == {"overdue+3", "digest+1"}
    assert owed_at(shipped_config, shipped_config.periods, Facts(), at("05/01/2027 09:00")) == []


def test_preview_reads_the_ledger_and_submissions_from_the_store(shipped_config, db_url):
    engine = db.open_store(db_url)
    now = Q4_2026_DEADLINE - timedelta(days=10)
    with Session(engine) as session:
        db.sync_config(session, shipped_config, now)
        session.add(SendRow(period_key="2026-Q4", audience="TTRA", step="reminder-3", kind="reminder",
                            scheduled_at=at("02/12/2026 08:00"), created_at=now, status="sent"))
        session.add(Submission(period_key="2026-Q4", unit_code="BPMC", revision=1, received_at=now,
                               on_time=True, channel="office"))
        session.commit()
    sends = [p.send for p in tick.preview(engine, shipped_config, now, at("31/12/2026 23:59"))
             if p.at >= at("01/12/2026 00:00")]
    assert not [s for s in sends if s.unit == "BPMC"]
    assert {s.step for s in sends if s.unit == "TTRA"} == {"reminder-1", "overdue+1", "overdue+3"}
    assert {s.step for s in sends if s.unit == "KHTC"} == {"reminder-3", "reminder-1", "overdue+1", "overdue+3"}
    assert [(s.step, s.at) for s in sends if s.unit is None and s.kind == "report"] == [
        ("report-v1", at("07/12/2026 08:00"))]


def test_units_synced_after_the_first_sync_join_late(shipped_config, db_url):
    engine = db.open_store(db_url)
    first = at("01/11/2026 09:00")
    smaller = type(shipped_config)(shipped_config.plan, shipped_config.units[1:], shipped_config.directory)
    with Session(engine) as session:
        db.sync_config(session, smaller, first)
        session.commit()
        db.sync_config(session, shipped_config, at("25/11/2026 10:00"))
        session.commit()
        facts = db.load_facts(session, shipped_config, at("27/11/2026 10:00"))
    assert dict(facts.joined) == {"BPMC": at("25/11/2026 10:00")}


def test_changing_the_policy_mid_period_does_not_resend_a_step(shipped_config, config_dir):
    from scheduler.config.load import load_config
    from tests.conftest import edit

    notices = owed_at(shipped_config, shipped_config.periods, Facts(), at("20/11/2026 08:00"))
    facts = Facts().with_sent(notices)
    edit(config_dir / "plan.yaml", "{kind: notice, working_days_before: 10}", "{kind: notice, working_days_before: 12}")
    changed = load_config(config_dir)
    assert owed_at(changed, changed.periods, facts, at("25/11/2026 09:00")) == []
    assert {s.step for s in owed_at(changed, changed.periods, facts, at("02/12/2026 08:00"))} == {"reminder-3"}


def test_schema_head_constant_matches_the_migrations(db_url):
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.SCHEMA_HEAD
    engine = db.open_store(db_url)
    assert db.schema_is_current(engine)


def test_a_reloaded_config_is_planned_from_its_own_send_at_and_calendar(shipped_config, config_dir):
    """Step instants are worked out once per loaded config (policy/timeline): a config read again
    after an edit is a new config, and nothing of the old one's schedule carries over."""
    from scheduler.config.load import load_config
    from scheduler.policy.planner import step_instant
    from tests.conftest import edit

    q4 = shipped_config.period("2026-Q4")
    notice = next(s for s in shipped_config.unit_steps if s.kind == "notice")
    assert step_instant(shipped_config, q4, notice) == at("20/11/2026 08:00")
    assert {s.at for s in owed_at(shipped_config, shipped_config.periods, Facts(), at("20/11/2026 08:00"))} \
        == {at("20/11/2026 08:00")}
    edit(config_dir / "plan.yaml", 'send_at: "08:00"', 'send_at: "09:30"')
    edit(config_dir / "plan.yaml", "extra_days_off:\n", "extra_days_off:\n    - 2026-11-20\n")
    changed = load_config(config_dir)
    moved = step_instant(changed, changed.period("2026-Q4"), next(s for s in changed.unit_steps if s.kind == "notice"))
    assert moved == at("19/11/2026 09:30")  # the day before the new day off, at the new hour
    assert owed_at(changed, changed.periods, Facts(), at("19/11/2026 09:00")) == []
    assert {s.at for s in owed_at(changed, changed.periods, Facts(), at("19/11/2026 09:30"))} == {moved}
    assert step_instant(shipped_config, q4, notice) == at("20/11/2026 08:00")  # the old config's own
