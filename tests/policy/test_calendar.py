"""Deadlines and working days of 2026, checked against the dates in DOMAIN.md."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.policy.periods import WorkingCalendar, due_date, periods_in_window
from scheduler.policy.planner import step_instant


def d(text: str) -> date:
    day, month, year = map(int, text.split("/"))
    return date(year, month, day)


def steps_of(config, period) -> dict[str, str]:
    return {s.id: f"{step_instant(config, period, s):%d/%m/%Y %H:%M %z}" for s in config.plan.reminders.steps}


def test_campaign_has_q2_q3_q4_2026_with_deadline_at_midnight_on_the_5th(shipped_config):
    periods = shipped_config.periods
    assert [p.key for p in periods] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert [p.deadline.isoformat() for p in periods] == [
        "2026-06-05T00:00:00+07:00",
        "2026-09-05T00:00:00+07:00",
        "2026-12-05T00:00:00+07:00",
    ]
    assert [p.title for p in periods] == ["Quý II/2026", "Quý III/2026", "Quý IV/2026"]


def test_q1_falls_outside_the_campaign_but_has_its_deadline():
    q1 = periods_in_window("quy", "quarter", "last", 5, date(2026, 1, 1), date(2026, 3, 31))
    assert [(p.key, p.due) for p in q1] == [("2026-Q1", date(2026, 3, 5))]


@pytest.mark.parametrize(
    "key, expected",
    [
        # Q1 2026: Tết 16–20/02 pushes the notice back to 12/02.
        ("2026-Q1", {"notice-10": "12/02/2026", "reminder-3": "02/03/2026", "reminder-1": "04/03/2026",
                     "overdue+1": "05/03/2026", "overdue+3": "09/03/2026",
                     "digest-1": "04/03/2026", "digest+1": "05/03/2026"}),
        # Q2 2026, deadline Friday 05/06: 08:00 on the 5th is already late.
        ("2026-Q2", {"notice-10": "22/05/2026", "reminder-3": "02/06/2026", "reminder-1": "04/06/2026",
                     "overdue+1": "05/06/2026", "overdue+3": "09/06/2026",
                     "digest-1": "04/06/2026", "digest+1": "05/06/2026"}),
        # Q3 2026, deadline Saturday 05/09: 31/08–02/09 off, Saturday 22/08 worked.
        ("2026-Q3", {"notice-10": "20/08/2026", "reminder-3": "28/08/2026", "reminder-1": "04/09/2026",
                     "overdue+1": "07/09/2026", "overdue+3": "09/09/2026",
                     "digest-1": "04/09/2026", "digest+1": "07/09/2026"}),
        # Q4 2026, deadline Saturday 05/12: 24/11 is Ngày Văn hoá Việt Nam.
        ("2026-Q4", {"notice-10": "20/11/2026", "reminder-3": "02/12/2026", "reminder-1": "04/12/2026",
                     "overdue+1": "07/12/2026", "overdue+3": "09/12/2026",
                     "digest-1": "04/12/2026", "digest+1": "07/12/2026"}),
    ],
)
def test_every_quarter_of_2026_places_each_step_at_0800_on_a_working_day(shipped_config, key, expected):
    year_config_periods = periods_in_window("quy", "quarter", "last", 5, date(2026, 1, 1), date(2026, 12, 31))
    period = next(p for p in year_config_periods if p.key == key)
    got = steps_of(shipped_config, period)
    assert got == {step: f"{day} 08:00 +0700" for step, day in expected.items()}
    for step in shipped_config.plan.reminders.steps:
        assert shipped_config.calendar.is_working_day(step_instant(shipped_config, period, step).date())


def test_september_holidays_are_days_off(shipped_config):
    cal = shipped_config.calendar
    for day in ("31/08/2026", "01/09/2026", "02/09/2026"):
        assert not cal.is_working_day(d(day)), day
    assert cal.is_working_day(d("03/09/2026"))
    # the three working days before the Q3 deadline skip the holidays (DOMAIN.md)
    assert [cal.working_day_before(d("05/09/2026"), n) for n in (1, 2, 3, 4)] == [
        d("04/09/2026"), d("03/09/2026"), d("28/08/2026"), d("27/08/2026")]


def test_swap_saturday_22_08_counts_as_a_working_day(shipped_config):
    cal = shipped_config.calendar
    assert cal.is_working_day(d("22/08/2026"))
    assert not cal.is_working_day(d("29/08/2026"))  # an ordinary Saturday
    # so the Q3 notice lands on 20/08, not 19/08
    assert cal.working_day_before(d("05/09/2026"), 10) == d("20/08/2026")


def test_config_overrides_decide_swaps_the_package_does_not_know():
    plain = WorkingCalendar()
    assert plain.is_working_day(d("10/12/2026"))
    swapped = WorkingCalendar(extra_days_off=[d("10/12/2026")], extra_working_days=[d("12/12/2026")])
    assert not swapped.is_working_day(d("10/12/2026"))
    assert swapped.is_working_day(d("12/12/2026"))
    assert swapped.working_day_before(d("14/12/2026"), 1) == d("12/12/2026")


def test_vietnam_culture_day_and_tet_are_days_off(shipped_config):
    cal = shipped_config.calendar
    assert not cal.is_working_day(d("24/11/2026"))
    for day in range(16, 21):
        assert not cal.is_working_day(date(2026, 2, day))
    assert not cal.is_working_day(d("30/04/2026")) and not cal.is_working_day(d("01/05/2026"))


def test_due_rule_covers_half_years_years_and_short_months():
    assert due_date(date(2026, 7, 1), 6, "last", 10) == date(2026, 12, 10)
    assert due_date(date(2026, 1, 1), 12, 13, 15) == date(2027, 1, 15)  # yearly, due mid-January
    assert due_date(date(2026, 4, 1), 3, 3, 31) == date(2026, 6, 30)  # 31 June → 30 June
    h = periods_in_window("h", "half_year", 7, 10, date(2026, 1, 1), date(2027, 12, 31))
    # A period belongs to the window when it overlaps it: 2025-H2, due inside, covers 2025;
    # 2027-H2, due 10/01/2028, covers the window's last months.
    assert [(p.key, p.title, p.due) for p in h] == [
        ("2026-H1", "6 tháng đầu năm 2026", date(2026, 7, 10)),
        ("2026-H2", "6 tháng cuối năm 2026", date(2027, 1, 10)),
        ("2027-H1", "6 tháng đầu năm 2027", date(2027, 7, 10)),
        ("2027-H2", "6 tháng cuối năm 2027", date(2028, 1, 10)),
    ]
