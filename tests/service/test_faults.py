"""Faults that used to stop mail or do lasting damage: a broken Word template, a composing fault,
a clock that was wrong, reports of every period kind, a database locked while recording."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter
from datetime import datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from freezegun import freeze_time
from sqlmodel import Session, select

from scheduler.collect import record
from scheduler.clock import TZ
from scheduler.store.tables import ReportRow, SendRow
from tests.conftest import ROOT, edit, retry_at, sqlite_only, templates_with, tick_at


def steps(messages) -> Counter:
    return Counter(m["X-Baocao-Step"] for m in messages)


# ---------------------------------------------------------------- the office's Word template

def test_a_broken_placeholder_in_the_template_stops_no_reminder_nor_overdue_mail(tmp_path, smtp_server, make_service,
                                                                                  caplog):
    templates = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    service = make_service(smtp_server.port, templates_dir=templates)
    assert tick_at(service, "2026-12-02T08:00:00+07:00").sent == 18  # reminders, before the deadline
    smtp_server.recorder.take()
    with caplog.at_level(logging.ERROR, logger="baocao.service"):
        result = tick_at(service, "2026-12-07T08:00:00+07:00")  # Monday after the deadline: report day
    got = steps(smtp_server.recorder.take())
    assert got == {"overdue+1": 18, "digest+1": 1}  # the day's mail went; no report to mail
    assert result.sent == 19
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Không lập được báo cáo tổng hợp kỳ 2026-Q4" in e and "{{ titel }}" in e for e in errors), errors
    with Session(service.engine) as session:
        assert session.exec(select(ReportRow)).all() == []
    # check-config names it too
    result = CliRunner().invoke(__import__("scheduler.cli.main", fromlist=["cli"]).cli, ["check-config"],
                                env={"BAOCAO_TEMPLATES_DIR": str(templates), "BAOCAO_CONFIG_DIR": str(ROOT / "config")})
    assert result.exit_code == 1 and "{{ titel }}" in result.output
    # Fixed by the office: the next tick makes the report and mails it
    service.settings = service.settings.model_copy(update={"templates_dir": ROOT / "templates"})
    tick_at(service, "2026-12-07T08:05:00+07:00")
    assert steps(smtp_server.recorder.take()) == {"report-v1": 1}


def test_a_mail_template_being_edited_delays_the_mail_and_does_not_lose_it(tmp_path, smtp_server, make_service,
                                                                           caplog):
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    good = (templates / "email" / "reminder.txt").read_text(encoding="utf-8")
    (templates / "email" / "reminder.txt").write_text(good + "{{ chua_co }}\n", encoding="utf-8")
    service = make_service(smtp_server.port, templates_dir=templates)
    with caplog.at_level(logging.ERROR, logger="baocao.service"):
        result = tick_at(service, "2026-12-02T08:00:00+07:00")
    assert (result.sent, result.failed, result.waiting) == (0, 0, 18)  # not "failed for good"
    assert any("Không soạn được thư Nhắc hạn (reminder-3)" in r.getMessage() and "chua_co" in r.getMessage() for r in caplog.records)
    (templates / "email" / "reminder.txt").write_text(good, encoding="utf-8")
    assert retry_at(service, "2026-12-02T08:10:00+07:00").sent == 18
    assert steps(smtp_server.recorder.take()) == {"reminder-3": 18}


# ---------------------------------------------------------------- every period kind gets its report

PERIOD_KINDS = """  - id: thang
    title: Báo cáo tháng
    period: month
    due: {month: 2, day: 3}
    indicators: [so_hoa]
    headings: [tuyen_truyen]
  - id: nua_nam
    title: Báo cáo sáu tháng
    period: half_year
    due: {month: 7, day: 10}
    indicators: [so_hoa]
    headings: [tuyen_truyen]
  - id: nam
    title: Báo cáo năm
    period: year
    due: {month: 14, day: 15}
    indicators: [so_hoa]
    headings: [tuyen_truyen]
"""


@pytest.mark.parametrize("obligation, key, first_working_day_after", [
    ("thang", "2026-11", "2026-12-03"),  # due before 03/12: the deadline is 00:00 on that day
    ("quy", "2026-Q4", "2026-12-07"),  # due 05/12, a Saturday
    ("nua_nam", "2026-H1", "2026-07-10"),
    ("nam", "2026", "2027-02-15"),  # due in February: 46 days after the year ends
])
def test_each_period_kind_gets_its_report_after_its_deadline(config_dir, smtp_server, make_service, obligation, key,
                                                             first_working_day_after):
    plan = config_dir / "plan.yaml"
    edit(plan, "  # Báo cáo đột xuất", PERIOD_KINDS + "  # Báo cáo đột xuất")
    edit(plan, "end: 2026-12-31", "end: 2027-03-31")
    edit(config_dir / "units.yaml", "obligations: [quy]", "obligations: [quy, thang, nua_nam, nam]", count=100)
    service = make_service(smtp_server.port, config_dir=config_dir)
    period = service.config.period(key)
    assert period is not None and period.obligation == obligation
    tick_at(service, f"{first_working_day_after}T08:00:00+07:00")
    reports = [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"] == "report-v1"
               and m["X-Baocao-Period"] == key]
    assert len(reports) == 1
    attachment = next(reports[0].iter_attachments())
    assert attachment.get_filename() == f"bao-cao-{key}-ban-1.docx"


def test_an_on_request_report_gets_its_report_after_its_deadline(smtp_server, make_service):
    from datetime import date

    service = make_service(smtp_server.port)
    with Session(service.engine) as session:
        row = record.open_request(session, service.config, "Báo cáo rà soát TTHC", date(2026, 12, 10), "quy",
                                      None, datetime(2026, 12, 1, 9, tzinfo=TZ))
        session.commit()
        key = row.key
    tick_at(service, "2026-12-10T08:00:00+07:00")
    assert [m["X-Baocao-Step"] for m in smtp_server.recorder.take() if m["X-Baocao-Period"] == key
            and m["X-Baocao-Step"].startswith("report")] == ["report-v1"]


# ---------------------------------------------------------------- the clock

def test_a_first_start_on_a_wrong_date_holds_overdue_mail_and_the_corrected_clock_sends_each_step(
        smtp_server, make_service, caplog):
    service = make_service(smtp_server.port)
    with caplog.at_level(logging.ERROR, logger="baocao.service"):
        result = tick_at(service, "2026-12-10T09:00:00+07:00")  # the clock is 8 days ahead
    got = steps(smtp_server.recorder.take())
    assert "overdue+3" not in got and "overdue+1" not in got  # no unit told it is late, no head copied
    assert result.held == 18
    assert any("baocao confirm-clock 10/12/2026" in r.getMessage() for r in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="baocao.service"):
        tick_at(service, "2026-12-02T08:00:00+07:00")  # the admin put the clock right
    assert any("Đồng hồ máy chạy lùi" in r.getMessage() for r in caplog.records)
    assert steps(smtp_server.recorder.take()) == {"reminder-3": 18}
    tick_at(service, "2026-12-04T08:00:00+07:00")
    assert steps(smtp_server.recorder.take()) == {"reminder-1": 18, "digest-1": 1}
    tick_at(service, "2026-12-07T08:00:00+07:00")
    overdue = smtp_server.recorder.take()
    # the digest and the report that the wrong clock had sent early are owed again on their day
    assert steps(overdue) == {"overdue+1": 18, "digest+1": 1, "report-v2": 1}
    assert all(m["Cc"] for m in overdue if m["X-Baocao-Step"] == "overdue+1")


def test_a_machine_that_boots_before_08_00_on_its_first_day_holds_that_day_s_overdue_mail(smtp_server, make_service):
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-07T07:30:00+07:00")  # first start, before the sending hour
    result = tick_at(service, "2026-12-07T08:05:00+07:00")
    assert "overdue+1" not in steps(smtp_server.recorder.take())
    assert result.held == 18


def test_overdue_mail_held_at_a_first_start_goes_once_the_admin_confirms_the_date(smtp_server, make_service, db_url,
                                                                                   tmp_path):
    from scheduler.cli.main import cli

    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-08T09:00:00+07:00")  # installed for real after the deadline
    assert "overdue+1" not in steps(smtp_server.recorder.take())
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(ROOT / "config"),
           "BAOCAO_SECRET_KEY_FILE": str(tmp_path / "secret_key")}
    with freeze_time("2026-12-08T09:05:00+07:00"):
        wrong = CliRunner().invoke(cli, ["confirm-clock", "09/12/2026"], env=env)
        assert wrong.exit_code == 1 and "đồng hồ máy đang báo ngày 08/12/2026" in wrong.output
        right = CliRunner().invoke(cli, ["confirm-clock", "08/12/2026"], env=env)
        assert right.exit_code == 0, right.output
    tick_at(service, "2026-12-08T09:10:00+07:00")
    sent = smtp_server.recorder.take()
    assert steps(sent) == {"overdue+1": 18}  # the latest missed step, once, heads in copy
    assert all(m["Cc"] for m in sent)


def test_a_clock_that_ran_ahead_strands_no_retry(smtp_server, make_service):
    smtp_server.stop()
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-02T08:00:00+07:00")  # 18 reminders claimed, SMTP down
    retry_at(service, "2026-12-03T20:00:00+07:00")  # the clock jumps ahead a day and a half
    with Session(service.engine) as session:
        assert min(r.next_attempt_at for r in session.exec(select(SendRow)).all()) > datetime(2026, 12, 3, 20,
                                                                                              tzinfo=TZ)
    smtp_server.start()
    # put right: the rows do not wait for 03/12 20:00
    assert retry_at(service, "2026-12-02T08:30:00+07:00").sent == 18


# ---------------------------------------------------------------- the database locked while recording

@sqlite_only
def test_a_database_locked_while_outcomes_are_recorded_repeats_nothing(smtp_server, make_service, db_url, caplog):
    """Another writer holds SQLite's write lock for several times the busy timeout while
    delivery is under way: the outcomes wait in memory and are written once the lock goes."""
    service = make_service(smtp_server.port)
    path = db_url.removeprefix("sqlite:///")
    service.engine.dispose()  # the busy timeout is shortened for the test; the lock outlasts it six times

    @sa.event.listens_for(service.engine, "checkout")  # after the engine's own, which restores 30 s
    def _short_busy_timeout(dbapi_conn, _record, _proxy):
        dbapi_conn.execute("PRAGMA busy_timeout = 500")

    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locked = threading.Event()
    accept = smtp_server.recorder.handle_DATA

    async def handle_data_taking_the_lock_first(server, session, envelope):
        # The first message is accepted only once the other writer holds the lock: its outcome
        # (and the next ones) must then wait to be recorded.
        if not locked.is_set():
            holder.execute("BEGIN IMMEDIATE")
            locked.set()
            threading.Timer(3, lambda: holder.execute("COMMIT")).start()
        return await accept(server, session, envelope)

    smtp_server.recorder.handle_DATA = handle_data_taking_the_lock_first
    with caplog.at_level(logging.WARNING, logger="baocao.service"):
        result = tick_at(service, "2026-12-02T08:00:00+07:00")
    assert locked.is_set()
    assert any("(ghi kết quả gửi)" in r.getMessage() for r in caplog.records)  # the lock was met, and waited out
    assert result.sent == 18
    messages = smtp_server.recorder.take()
    assert len(messages) == 18 and len({m["Message-ID"] for m in messages}) == 18
    with Session(service.engine) as session:
        assert {r.status for r in session.exec(select(SendRow)).all()} == {"sent"}
    assert retry_at(service, "2026-12-02T09:00:00+07:00").sent == 0  # and nothing goes again later
    holder.close()


def test_upgrading_a_store_that_already_sent_mail_holds_nothing_and_owes_again_what_could_not_be_composed(
        smtp_server, make_service, any_db_url):
    """Migration 0004 on a store from before it: its history vouches for the clock (no first-start
    hold), and mail that failed only because it could not be composed is owed again."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from scheduler.store.db import MIGRATIONS, make_engine

    engine = make_engine(any_db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(sa.text(
            "INSERT INTO send (period_key, audience, step, kind, scheduled_at, created_at, status, attempts, "
            "last_error, message_id, to_addrs, cc_addrs) VALUES ('2026-Q4', 'KL', 'reminder-1', 'reminder', "
            "'2026-12-04 01:00:00', '2026-12-04 01:00:00', 'failed', 1, "
            "'không soạn được thư: BAOCAO_SECRET_KEY phải dài ít nhất 32 ký tự', '<old@example.org>', "
            "'[\"kiemlam.daumoi@example.org\"]', '[]')"))
    engine.dispose()
    service = make_service(smtp_server.port, database_url=any_db_url)  # migrates to the newest revision
    with Session(service.engine) as session:
        assert session.exec(select(SendRow)).one().status == "pending"
    result = tick_at(service, "2026-12-07T08:00:00+07:00")  # after the deadline, first tick of this version
    assert result.held == 0
    got = steps(smtp_server.recorder.take())
    assert got["overdue+1"] == 18 and "reminder-1" not in got  # held for nobody; the stale reminder not sent late
    with Session(service.engine) as session:
        stale = session.exec(select(SendRow).where(SendRow.step == "reminder-1")).one()
    assert (stale.status, stale.last_error) == ("cancelled", "đã có thư mới hơn cho bước sau")


def test_upgrading_a_store_gives_its_receipts_and_report_mails_their_revision_and_version(smtp_server, make_service,
                                                                                          any_db_url):
    """Migration 0005: what was read back out of the step's name (receipt#N, report-vN) is a
    column; a receipt or a report mail waiting at the upgrade still goes, with the right one."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from scheduler.store.db import MIGRATIONS, make_engine

    engine = make_engine(any_db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        for audience, step, kind in (("KL", "receipt#3", "receipt"), ("*", "report-v12", "report"),
                                     ("KL", "notice-10", "notice")):
            conn.execute(sa.text(
                "INSERT INTO send (period_key, audience, step, kind, scheduled_at, created_at, status, attempts, "
                "message_id, to_addrs, cc_addrs) VALUES ('2026-Q4', :audience, :step, :kind, '2026-11-20 01:00:00', "
                "'2026-11-20 01:00:00', 'sent', 1, :mid, '[\"a@example.org\"]', '[]')"),
                {"audience": audience, "step": step, "kind": kind, "mid": f"<{step}@example.org>"})
    engine.dispose()
    service = make_service(smtp_server.port, database_url=any_db_url)  # migrates to the newest revision
    with Session(service.engine) as session:
        refs = {row.step: row.ref for row in session.exec(select(SendRow)).all()}
    assert refs == {"receipt#3": 3, "report-v12": 12, "notice-10": None}

