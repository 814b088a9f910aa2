"""The pure decision taken just before a waiting send goes: is it still owed? (planner.no_longer_owed)

A row can wait for minutes or days (SMTP down, a template being fixed). By the time it is taken
the world may have moved on; each rule below is one way it did."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from scheduler.clock import TZ
from scheduler.policy.planner import OFFICE, Waiting, no_longer_owed

PLANNED = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)  # reminder-1 of 2026-Q4
NOW = PLANNED + timedelta(hours=3)
GIVE_UP = timedelta(days=7)
PERIODS = frozenset({"2026-Q3", "2026-Q4"})


def waiting(kind="reminder", audience="MT", period="2026-Q4", partial=False, created=PLANNED):
    return Waiting(period_key=period, audience=audience, kind=kind, scheduled_at=PLANNED, created_at=created,
                   partial=partial)


def decide(shipped_config, row, *, periods=PERIODS, closed=frozenset(), reported=frozenset(), newest=None, now=NOW):
    return no_longer_owed(shipped_config, row, periods, closed, reported, newest or {}, now, GIVE_UP)


def test_a_reminder_to_a_unit_that_has_not_reported_is_still_owed(shipped_config):
    assert decide(shipped_config, waiting()) is None


def test_a_period_removed_from_the_plan_owes_nothing(shipped_config):
    assert decide(shipped_config, waiting(period="2027-Q1")) == ("cancelled", "kỳ báo cáo không còn trong cấu hình")


def test_a_closed_period_owes_no_reminder_but_still_its_receipts(shipped_config):
    closed = frozenset({"2026-Q4"})
    assert decide(shipped_config, waiting(), closed=closed) == ("cancelled", "kỳ báo cáo đã khoá")
    assert decide(shipped_config, waiting(kind="receipt"), closed=closed) is None


def test_mail_that_could_not_go_for_a_week_is_given_up_not_sent_stale(shipped_config):
    row = waiting(created=NOW - GIVE_UP - timedelta(minutes=1))
    assert decide(shipped_config, row) == ("permanent", "bỏ qua: không gửi được sau 7 ngày")


@pytest.mark.parametrize("kind", ["notice", "reminder", "overdue"])
def test_a_unit_that_has_reported_owes_no_more_notices_reminders_or_overdue_mail(shipped_config, kind):
    assert decide(shipped_config, waiting(kind=kind), reported={("2026-Q4", "MT")}) == (
        "cancelled", "đơn vị đã nộp báo cáo")


def test_a_unit_that_has_reported_still_gets_its_receipt(shipped_config):
    assert decide(shipped_config, waiting(kind="receipt"), reported={("2026-Q4", "MT")}) is None


def test_a_newer_step_for_the_same_unit_supersedes_one_still_waiting(shipped_config):
    newest = {("2026-Q4", "MT", "reminder"): PLANNED + timedelta(days=2)}  # reminder-2 already made
    assert decide(shipped_config, waiting(), newest=newest) == ("cancelled", "đã có thư mới hơn cho bước sau")


def test_a_message_half_delivered_goes_to_the_rest_even_after_a_newer_step(shipped_config):
    """Its other recipients have it: the ones who said "try later" get the same message."""
    newest = {("2026-Q4", "MT", "reminder"): PLANNED + timedelta(days=2)}
    assert decide(shipped_config, waiting(partial=True), newest=newest) is None


def test_a_unit_removed_or_made_inactive_is_no_longer_reminded(shipped_config):
    assert decide(shipped_config, waiting(audience="KHONGCO")) == ("cancelled", "đơn vị không còn được theo dõi")


def test_the_office_s_digest_does_not_depend_on_who_reported(shipped_config):
    row = waiting(kind="digest", audience=OFFICE)
    assert decide(shipped_config, row, reported={("2026-Q4", code) for code in ("MT", "KL")}) is None
