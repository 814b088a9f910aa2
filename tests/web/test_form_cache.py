"""The unit's form page is served from a cache only while nothing it shows has changed: a new
revision, a decision, a closed period, another process's write, a new day or a reloaded config
each show at once; every browser keeps its own CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlmodel import Session

from scheduler.collect import record
from tests.conftest import open_form, valid_form


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)


def test_a_cached_form_shows_every_change_and_each_browser_its_own_token(web):
    link = web.link("KL")
    with httpx.Client(base_url=web.base) as one, httpx.Client(base_url=web.base) as two:
        first, token_one = open_form(one, link)
        again, token_again = open_form(one, link)  # the same browser: the same page, the same token
        assert token_again == token_one and again.text == first.text
        _, token_two = open_form(two, link)  # another browser: its own cookie and token
        assert token_two != token_one and "csrf-slot" not in again.text
        assert "Đơn vị đã gửi" not in again.text
        # A revision stored through the form shows on the next GET, in both browsers.
        assert one.post(link, data=valid_form(csrf=token_one)).status_code == 303
        assert "Đơn vị đã gửi 1 lần" in one.get(link).text and "Đơn vị đã gửi 1 lần" in two.get(link).text
        # Written by another process (baocao submit): the store says so, not this process's memory.
        with Session(web.service.engine) as session:
            last = record.latest(session, "2026-Q4", "KL")
            session.add(type(last)(period_key=last.period_key, unit_code="KL", revision=2, received_at=web.clock(),
                                   on_time=True, channel="paper", figures=last.figures, narrative=last.narrative,
                                   submitted_by="Văn thư"))
            session.commit()
        assert "Đơn vị đã gửi 2 lần" in two.get(link).text
        # A new day: the days left are counted again.
        before = two.get(link).text
        web.clock.now = web.clock() + timedelta(days=1)
        assert two.get(link).text != before
        # Closed by the office (from any process): the link shows the last revision, read-only.
        with Session(web.service.engine) as session:
            record.close(session, "2026-Q4", web.clock())
            session.commit()
        closed = two.get(link)
        assert closed.status_code == 200 and 'name="csrf"' not in closed.text
