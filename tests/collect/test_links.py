"""A unit's first link for a period, made by two requests or processes at once (the office's page
and the mail being composed), is one link: the same token in the mail and on the page."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlmodel import Session, select

from scheduler.clock import TZ
from scheduler.collect import links
from scheduler.store.db import make_engine
from scheduler.store.tables import LinkRow

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)


def test_two_makers_of_a_first_link_at_once_make_one_link(db_url):
    engine = make_engine(db_url)
    secret = b"k" * 32
    start, tokens = threading.Barrier(4), []

    def make() -> None:
        with Session(engine) as session:
            start.wait()
            tokens.append(links.link_token(session, secret, "2026-Q4", "KL", NOW))
            session.commit()

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as session:
        rows = session.exec(select(LinkRow).where(LinkRow.unit_code == "KL")).all()
    assert len(set(tokens)) == 1 and len(rows) == 1
    with Session(engine) as session:  # and a revoked link is followed by a new, different one
        links.revoke(session, "2026-Q4", "KL", NOW)
        again = links.link_token(session, secret, "2026-Q4", "KL", NOW)
        session.commit()
    assert again != tokens[0]
    engine.dispose()
