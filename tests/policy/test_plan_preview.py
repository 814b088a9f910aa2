"""`baocao plan` is a faithful preview (issue 10, Must show 4): Q4 2026 walked with the service's
tick at 08:00 every day from an empty database, against a real SMTP server, sends exactly what
`plan` printed beforehand — catch-up sends, the first-start hold of overdue mail, the report mail
to the office, and an on-request report opened mid-period."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from scheduler.cli.main import cli
from scheduler.clock import TZ
from tests.conftest import SHIPPED_CONFIG, tick_at

END = date(2026, 12, 31)


def command(db_url: str, moment: str, *args: str):
    """A `baocao` command as the admin types it, with the clock pinned at `moment`."""
    with freeze_time(moment):
        result = CliRunner().invoke(cli, list(args), env={"BAOCAO_DATABASE_URL": db_url,
                                                           "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG)})
    assert result.exit_code == 0, result.output
    return result.output


def plan(db_url: str, moment: str, start: date) -> list[dict]:
    return json.loads(command(db_url, moment, "plan", "--from", f"{start:%d/%m/%Y}", "--to", f"{END:%d/%m/%Y}",
                              "--json"))


def planned(entries: list[dict], since: datetime | None = None, until: datetime | None = None) -> list[tuple]:
    """The mails `plan` said would go (not the held ones), as the office would compare them."""
    return sorted((e["at"][:10], e["kind"], e["period"], e["unit"], tuple(e["to"]), tuple(e["cc"]))
                  for e in entries if not e.get("held")
                  and (since is None or datetime.fromisoformat(e["at"]) >= since)
                  and (until is None or datetime.fromisoformat(e["at"]) < until))


class Mailbox:
    """Every message the SMTP server accepted, by the day of the tick that sent it."""

    def __init__(self, smtp_server, config):
        self.server = smtp_server
        self.unit_of = {p.email: u.code for u in config.units for p in u.focal_points}
        self.got: list[tuple] = []

    def collect(self, day: date) -> None:
        for msg in self.server.recorder.take():
            to = tuple(a.addr_spec for a in msg["To"].addresses)
            cc = tuple(a.addr_spec for a in msg["Cc"].addresses) if msg["Cc"] else ()
            kind = re.match(r"[a-z]+", msg["X-Baocao-Step"]).group()
            assert msg["Date"].datetime.astimezone(TZ).date() == day
            self.got.append((day.isoformat(), kind, msg["X-Baocao-Period"], self.unit_of.get(to[0]), to, cc))

    def since(self, first: date) -> list[tuple]:
        return sorted(m for m in self.got if m[0] >= first.isoformat())


def days(start: date, end: date):
    while start <= end:
        yield start
        start += timedelta(days=1)


def walk(service, mailbox: Mailbox, start: date, end: date = END) -> dict[date, object]:
    """`baocao remind` at 08:00 every day, as the service's daily tick; the tick reports by day."""
    reports = {}
    for day in days(start, end):
        reports[day] = tick_at(service, f"{day.isoformat()}T08:00:00+07:00")
        mailbox.collect(day)
    return reports


@pytest.mark.parametrize("start", [date(2026, 11, 20), date(2026, 11, 27), date(2026, 12, 3), date(2026, 12, 10)],
                         ids=lambda d: f"{d:%d-%m}")
def test_plan_printed_on_an_empty_database_is_every_mail_the_daily_tick_sends(smtp_server, make_service, db_url,
                                                                            start):
    service = make_service(smtp_server.port)
    mailbox = Mailbox(smtp_server, service.config)
    shown = plan(db_url, f"{start.isoformat()}T07:00:00+07:00", start)
    reports = walk(service, mailbox, start)

    assert mailbox.since(start) == planned(shown)
    assert [e for e in shown if e["kind"] == "report"]  # the report to the office is in the preview
    first = [m for m in mailbox.got if m[0] == start.isoformat()]
    held = [e for e in shown if e.get("held")]
    if start == date(2026, 11, 20):  # on the notice's day: the whole quarter, each step on its day
        assert {m[1] for m in first} == {"notice"} and len(first) == 18
    if start == date(2026, 11, 27):  # the notice of 20/11 is caught up the first day, once
        assert {(m[1], m[2]) for m in first} == {("notice", "2026-Q4")} and len(first) == 18
    if start == date(2026, 12, 3):  # only reminder-3 (02/12) goes late; the notice of 20/11 is not sent
        assert {m[1] for m in first} == {"reminder"} and len(first) == 18
        assert not [m for m in mailbox.got if m[1] == "notice"]
    if start == date(2026, 12, 10):
        # First start after the deadline, clock unconfirmed: overdue+3 (09/12) is held, and plan said so.
        assert len(held) == 18 and {e["kind"] for e in held} == {"overdue"}
        assert {e["at"][:10] for e in held} == {"2026-12-10"}
        assert reports[start].held == 18
        assert not [m for m in mailbox.got if m[1] == "overdue"]
        assert {m[1] for m in first} == {"digest", "report"}
    else:
        assert not held


def test_after_confirm_clock_plan_and_tick_both_send_the_late_overdue_mail(smtp_server, make_service, db_url):
    service = make_service(smtp_server.port)
    mailbox = Mailbox(smtp_server, service.config)
    before = command(db_url, "2026-12-10T07:00:00+07:00", "plan", "--from", "10/12/2026", "--to", "31/12/2026")
    assert "Giữ lại, không gửi: 18 thư báo quá hạn" in before
    assert "baocao confirm-clock 10/12/2026" in before
    command(db_url, "2026-12-10T07:05:00+07:00", "confirm-clock", "10/12/2026")
    shown = plan(db_url, "2026-12-10T07:10:00+07:00", date(2026, 12, 10))
    walk(service, mailbox, date(2026, 12, 10))
    assert mailbox.since(date(2026, 12, 10)) == planned(shown)
    assert not [e for e in shown if e.get("held")]
    assert len([m for m in mailbox.got if m[1] == "overdue"]) == 18


def test_a_request_opened_mid_period_is_previewed_with_its_catch_up_notice(smtp_server, make_service, db_url):
    """The service runs from 27/11; on 10/12 at 09:00 the office opens a request due 18/12. The
    plan printed then says the running service sends its notice at its next check (every few
    minutes), and everything after, as the service then does."""
    service = make_service(smtp_server.port)
    mailbox = Mailbox(smtp_server, service.config)
    first_plan = plan(db_url, "2026-11-27T07:00:00+07:00", date(2026, 11, 27))
    walk(service, mailbox, date(2026, 11, 27), date(2026, 12, 10))
    opened = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)
    assert sorted(mailbox.got) == planned(first_plan, until=opened)

    out = command(db_url, opened.isoformat(), "request", "--title", "Báo cáo rà soát thủ tục hành chính",
                  "--deadline", "18/12/2026", "--units", "KL,MT")
    assert "YC-20261218" in out
    shown = plan(db_url, "2026-12-10T09:01:00+07:00", date(2026, 12, 10))
    before = len(mailbox.got)
    tick_at(service, "2026-12-10T09:05:00+07:00")  # the running service's periodic check
    mailbox.collect(date(2026, 12, 10))
    walk(service, mailbox, date(2026, 12, 11))

    assert sorted(mailbox.got[before:]) == planned(shown)
    request = [m for m in mailbox.got if m[2] == "YC-20261218"]
    assert ("2026-12-10", "notice", "YC-20261218", "KL", ("kiemlam.daumoi@example.org",), ()) in request
    assert {m[1] for m in request} == {"notice", "reminder", "overdue", "digest", "report"}


def test_plan_columns_stay_aligned_with_an_on_request_key(db_url):
    command(db_url, "2026-12-01T09:00:00+07:00", "request", "--title", "Báo cáo đột xuất", "--deadline",
            "11/12/2026", "--units", "KL")
    command(db_url, "2026-12-01T09:00:00+07:00", "request", "--title", "Báo cáo đột xuất lần hai", "--deadline",
            "11/12/2026", "--units", "MT")
    out = command(db_url, "2026-12-01T09:05:00+07:00", "plan", "--from", "01/12/2026", "--to", "31/12/2026")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Thời điểm"))
    columns = [lines[header].index(title) for title in ("Loại", "Kỳ", "Đơn vị", "Gửi tới")]
    rows = [line for line in lines[header + 1:] if re.match(r"\d\d:\d\d ", line)]
    assert any("YC-20261211-2" in row for row in rows)
    for row in rows:
        assert all(row[c - 1] == " " and row[c] != " " for c in columns), row
    # the second request's notice day (27/11) has passed: the running service's next check sends it
    assert any(row.startswith("09:05 Thứ Ba 01/12/2026") and "YC-20261211-2" in row and "Thông báo" in row
               and "gửi bù" in row for row in rows)
