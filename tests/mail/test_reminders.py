"""Reminders for real: a real SMTP server on 127.0.0.1, a real SQLite file, time pinned."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from click.testing import CliRunner
from freezegun import freeze_time
from sqlmodel import Session, select

from scheduler.cli.main import cli
from scheduler.clock import TZ
from scheduler.store.tables import SendRow, Submission
from tests.conftest import Q4_2026_DEADLINE, ROOT, SHIPPED_CONFIG, cli_run as run_cli, retry_at, tick_at

EXPECTED_Q4 = {
    date(2026, 11, 20): "notice-10",
    date(2026, 12, 2): "reminder-3",
    date(2026, 12, 4): "reminder-1",
    date(2026, 12, 7): "overdue+1",
    date(2026, 12, 9): "overdue+3",
}
EXPECTED_DIGESTS = {date(2026, 12, 4): "digest-1", date(2026, 12, 7): "digest+1"}


def days(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def report(service, unit: str, period: str, moment: datetime, revision: int = 1) -> None:
    with Session(service.engine) as session:
        session.add(Submission(period_key=period, unit_code=unit, revision=revision, received_at=moment,
                               on_time=moment < Q4_2026_DEADLINE, channel="office"))
        session.commit()


def test_walking_through_q4_each_unit_gets_exactly_its_steps_on_the_right_days(smtp_server, make_service):
    service = make_service(smtp_server.port)
    active = {u.code: u for u in service.config.units if u.active}
    got: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day in days(date(2026, 11, 15), date(2026, 12, 14)):
        if day == date(2026, 12, 3):
            report(service, "BPMC", "2026-Q4", datetime(2026, 12, 3, 9, 30, tzinfo=TZ))
        for hour in (8, 15):  # a second tick the same afternoon must send nothing more
            tick_at(service, f"{day.isoformat()}T{hour:02d}:00:30+07:00")
            for msg in smtp_server.recorder.take():
                got[msg["X-Baocao-Period"] + "/" + (msg["To"].addresses[0].addr_spec)].append((day, msg["X-Baocao-Step"]))
                assert msg["Date"].datetime.astimezone(TZ).date() == day
    by_unit = {code: got[f"2026-Q4/{u.focal_points[0].email}"] for code, u in active.items()}
    for code, sends in by_unit.items():
        if code == "BPMC":  # reported on 03/12: notice and first reminder only
            assert sends == [(date(2026, 11, 20), "notice-10"), (date(2026, 12, 2), "reminder-3")]
        else:
            assert sends == sorted(EXPECTED_Q4.items()), code
    office = got["2026-Q4/vanphong@example.org"]
    assert [x for x in office if x[1].startswith("digest")] == sorted(EXPECTED_DIGESTS.items())
    # the consolidated report: first working-day tick after the deadline, once (no late figures came)
    assert [x for x in office if x[1].startswith("report")] == [(date(2026, 12, 7), "report-v1")]
    sent_days = {d for sends in got.values() for d, _ in sends}
    assert date(2026, 11, 24) not in sent_days
    assert all(d.weekday() < 5 for d in sent_days)
    assert not [k for k in got if "nuocsach" in k]  # the inactive unit (TTNS) got nothing


def test_overdue_mail_copies_the_head_and_digest_lists_who_reported(smtp_server, make_service):
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-04T08:00:00+07:00")
    smtp_server.recorder.take()
    report(service, "KHTC", "2026-Q4", datetime(2026, 12, 4, 16, 0, tzinfo=TZ))
    report(service, "TTRA", "2026-Q4", datetime(2026, 12, 6, 9, 0, tzinfo=TZ))
    tick_at(service, "2026-12-07T08:00:00+07:00")
    messages = smtp_server.recorder.take()
    kl = next(m for m in messages if m["To"].addresses[0].addr_spec == "kiemlam.daumoi@example.org")
    assert [a.addr_spec for a in kl["Cc"].addresses] == ["kiemlam.truongdonvi@example.org"]
    assert any("kiemlam.truongdonvi@example.org" in rcpts for _, rcpts in smtp_server.recorder.envelopes)
    assert kl["Subject"] == "[Quá hạn báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026 đã qua"
    assert "đã quá hạn 3 ngày" in kl.get_body(("plain",)).get_content()
    digest = next(m for m in messages if m["X-Baocao-Step"] == "digest+1")
    assert digest["Subject"] == "[Tình hình báo cáo] Quý IV/2026 – đã nộp 2/18 đơn vị"
    body = digest.get_body(("plain",)).get_content()
    assert "Đã nộp đúng hạn: 1/18 đơn vị\n  - Phòng Kế hoạch - Tài chính (16:00 Thứ Sáu 04/12/2026)" in body
    assert "Nộp muộn: 1 đơn vị\n  - Thanh tra Sở (09:00 Chủ nhật 06/12/2026)" in body
    assert "Chưa nộp: 16 đơn vị" in body and "  - Chi cục Kiểm lâm\n" in body
    assert not [m for m in messages if m["To"].addresses[0].addr_spec in ("khtc.daumoi@example.org",
                                                                          "thanhtra.daumoi@example.org")]


def test_remind_twice_and_restart_on_the_same_day_send_nothing_twice(smtp_server, make_service):
    first = make_service(smtp_server.port)
    tick_at(first, "2026-12-02T08:00:05+07:00")
    assert len(smtp_server.recorder.take()) == 18
    tick_at(first, "2026-12-02T08:00:05+07:00")
    restarted = make_service(smtp_server.port)  # a new process on the same database
    tick_at(restarted, "2026-12-02T11:40:00+07:00")
    assert smtp_server.recorder.take() == []


def test_service_first_started_on_27_11_sends_each_unit_one_notice(smtp_server, make_service):
    service = make_service(smtp_server.port)
    tick_at(service, "2026-11-27T10:15:00+07:00")
    messages = smtp_server.recorder.take()
    assert len(messages) == 18
    assert {m["X-Baocao-Step"] for m in messages} == {"notice-10"}
    assert {m["X-Baocao-Period"] for m in messages} == {"2026-Q4"}  # no Q2/Q3 backlog
    assert len({m["To"].addresses[0].addr_spec for m in messages}) == 18


def test_smtp_down_then_up_sends_each_once_after_recovery(smtp_server, make_service):
    smtp_server.stop()  # connection refused
    service = make_service(smtp_server.port)
    result = tick_at(service, "2026-12-02T08:00:00+07:00")
    assert (result.claimed, result.sent, result.waiting) == (18, 0, 18)
    with Session(service.engine) as session:
        rows = session.exec(select(SendRow)).all()
    assert {r.status for r in rows} == {"pending"}
    assert all("không kết nối được máy chủ SMTP" in r.last_error for r in rows)
    smtp_server.start()
    assert retry_at(service, "2026-12-02T08:00:40+07:00").sent == 0  # back-off (1 min) not over yet
    assert retry_at(service, "2026-12-02T08:05:00+07:00").sent == 18
    tick_at(service, "2026-12-02T15:00:00+07:00")
    messages = smtp_server.recorder.take()
    assert len(messages) == 18 and len({m["Message-ID"] for m in messages}) == 18
    ids = {m["Message-ID"] for m in messages}
    with Session(service.engine) as session:
        assert {r.message_id for r in session.exec(select(SendRow)).all()} == ids


def test_550_for_one_recipient_does_not_block_the_others_and_shows_in_status(smtp_server, make_service, db_url):
    smtp_server.recorder.refuse["kiemlam.daumoi@example.org"] = "550 5.1.1 Hộp thư không tồn tại"
    service = make_service(smtp_server.port)
    result = tick_at(service, "2026-12-02T08:00:00+07:00")
    assert (result.sent, result.failed) == (17, 1)
    assert len(smtp_server.recorder.take()) == 17
    # not retried forever: later ticks and retries leave it failed
    tick_at(service, "2026-12-02T15:00:00+07:00")
    retry_at(service, "2026-12-02T16:00:00+07:00")
    assert smtp_server.recorder.take() == []
    out = run_cli(["status", "--period", "2026-Q4"], db_url)
    assert out.exit_code == 0, out.output
    assert ("  KL       Chi cục Kiểm lâm: Chưa nộp\n           - Nhắc hạn (reminder-3): LỖI, 1 lần thử — "
            "máy chủ từ chối người nhận: kiemlam.daumoi@example.org: 550") in out.output
    out = run_cli(["status", "--period", "2026-Q4", "--json"], db_url)
    import json
    units = {u["unit"]: u for u in json.loads(out.output)["units"]}
    assert units["KL"]["sends"][0]["status"] == "failed"
    assert units["BPMC"]["sends"][0]["status"] == "sent" and units["BPMC"]["state"] == "missing"


def test_a_send_left_sending_by_a_crash_goes_again_with_the_same_message_id(smtp_server, make_service):
    from scheduler.store import ledger

    service = make_service(smtp_server.port)
    smtp_server.stop()
    service.settings = service.settings.model_copy(update={"smtp_attempts": 1})
    tick_at(service, "2026-12-02T08:00:00+07:00")  # everything claimed, nothing delivered
    with Session(service.engine) as session:
        row = session.exec(select(SendRow).where(SendRow.audience == "BPMC")).one()
        # the crash: taken for delivery, then the process died before recording the outcome
        row.next_attempt_at = None
        session.add(row)
        session.commit()
        taken_at = datetime(2026, 12, 2, 8, 1, tzinfo=TZ)
        assert ledger.take(session, row.id, taken_at, service.lease)
        message_id = row.message_id
    smtp_server.start()
    retry_at(service, (taken_at + service.lease - timedelta(seconds=1)).isoformat())  # lease still running
    assert not [m for m in smtp_server.recorder.take() if m["Message-ID"] == message_id]
    retry_at(service, (taken_at + service.lease + timedelta(seconds=1)).isoformat())  # lease over
    again = [m for m in smtp_server.recorder.take() if m["Message-ID"] == message_id]
    assert len(again) == 1 and again[0]["To"].addresses[0].addr_spec == "bpmc.daumoi@example.org"


def test_unit_that_reports_while_its_reminder_waits_for_retry_is_not_mailed(smtp_server, make_service):
    smtp_server.stop()
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-02T08:00:00+07:00")
    report(service, "BPMC", "2026-Q4", datetime(2026, 12, 2, 8, 2, tzinfo=TZ))
    smtp_server.start()
    result = retry_at(service, "2026-12-02T09:00:00+07:00")
    assert (result.sent, result.cancelled) == (17, 1)
    assert "bpmc.daumoi@example.org" not in {m["To"].addresses[0].addr_spec for m in smtp_server.recorder.take()}


def test_one_unit_whose_mail_cannot_be_composed_does_not_stop_the_others(smtp_server, make_service):
    from scheduler.config.model import Person

    service = make_service(smtp_server.port)
    units = list(service.config.units)
    kl = units[10]
    assert kl.code == "KL"
    # an address that slipped past the config check (it refuses accents before the @)
    units[10] = kl.model_copy(update={"focal_points": [Person.model_construct(name="X", email="quyết@example.org")]})
    service.config = type(service.config)(service.config.plan, tuple(units), service.config.directory)
    result = tick_at(service, "2026-12-02T08:00:00+07:00")
    assert (result.sent, result.failed) == (17, 1)
    with Session(service.engine) as session:
        row = session.exec(select(SendRow).where(SendRow.audience == "KL")).one()
    assert row.status == "failed" and row.last_error.startswith("không soạn được thư")


def test_smtp_down_over_a_weekend_sends_the_current_step_not_the_stale_one(smtp_server, make_service):
    smtp_server.stop()
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-04T08:00:00+07:00")  # reminder-1 and digest-1 claimed, SMTP down
    for moment in ("2026-12-04T16:00:00+07:00", "2026-12-05T10:00:00+07:00", "2026-12-06T20:00:00+07:00"):
        retry_at(service, moment)
    smtp_server.start()
    result = tick_at(service, "2026-12-07T08:00:00+07:00")  # Monday: overdue+1 is due
    messages = smtp_server.recorder.take()
    assert {m["X-Baocao-Step"] for m in messages} == {"overdue+1", "digest+1", "report-v1"}
    assert len(messages) == 20 and result.cancelled == 19  # Friday's mails were superseded, not lost silently
    with Session(service.engine) as session:
        stale = session.exec(select(SendRow).where(SendRow.step == "reminder-1")).all()
    assert {r.status for r in stale} == {"cancelled"} and stale[0].last_error == "đã có thư mới hơn cho bước sau"


def test_greylisting_of_one_recipient_retries_that_recipient_only(smtp_server, make_service):
    smtp_server.recorder.refuse["bpmc.tiepnhan@example.org"] = "451 4.7.1 Greylisted, try again later"
    service = make_service(smtp_server.port)
    tick_at(service, "2026-12-02T08:00:00+07:00")
    first = [(m["Message-ID"], rcpts) for m, (_, rcpts) in zip(smtp_server.recorder.take(), smtp_server.recorder.envelopes)
             if "bpmc.daumoi@example.org" in rcpts]
    assert [r for _, r in first] == [["bpmc.daumoi@example.org"]]
    with Session(service.engine) as session:
        row = session.exec(select(SendRow).where(SendRow.audience == "BPMC")).one()
    assert (row.status, row.retry_rcpts) == ("pending", ["bpmc.tiepnhan@example.org"])
    del smtp_server.recorder.refuse["bpmc.tiepnhan@example.org"]
    smtp_server.recorder.envelopes.clear()
    retry_at(service, "2026-12-02T08:10:00+07:00")
    again = smtp_server.recorder.take()
    assert [m["Message-ID"] for m in again] == [first[0][0]]  # the same message, to the one who missed it
    assert smtp_server.recorder.envelopes == [(service.settings.mail_from, ["bpmc.tiepnhan@example.org"])]
    with Session(service.engine) as session:
        assert session.exec(select(SendRow).where(SendRow.audience == "BPMC")).one().status == "sent"


def test_baocao_remind_run_twice_as_a_command_sends_nothing_twice(smtp_server, db_url, tmp_path):
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG),
           "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"), "BAOCAO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
           "BAOCAO_SMTP_HOST": "127.0.0.1", "BAOCAO_SMTP_PORT": str(smtp_server.port), "BAOCAO_SMTP_SECURITY": "none"}
    outputs = []
    for moment in ("2026-12-02T08:00:10+07:00", "2026-12-02T08:00:20+07:00"):
        with freeze_time(moment, real_asyncio=True):
            result = CliRunner().invoke(cli, ["remind"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.output.splitlines()[-1])
    assert outputs == ["Lượt nhắc xong — mới: 18, đã gửi: 18, lỗi vĩnh viễn: 0, chờ gửi lại: 0, huỷ: 0.",
                       "Lượt nhắc xong — mới: 0, đã gửi: 0, lỗi vĩnh viễn: 0, chờ gửi lại: 0, huỷ: 0."]
    assert len(smtp_server.recorder.take()) == 18
