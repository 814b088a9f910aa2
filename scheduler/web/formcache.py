"""The unit's form page as last rendered, served again while nothing it shows has changed.

A form GET used to cost a dozen queries and a 25 KB Jinja render. What the page shows depends
on the config, the day (the days left), the unit's revisions and the decisions on them in the
periods of its form and the periods before them (pre-filled fields, last period's figures, a
"returned" banner), and which periods are closed. So the page is kept under a version read by
two small queries: the unit's newest revision and its number of decisions in each of those
periods (both tables are insert-only: every revision is kept, a decision is never rewritten) and
the closed periods. Any process may write the store (another `run`, `baocao submit`), so the version is
read from the store on every request, never trusted from memory.

The CSRF value differs per browser: the page is rendered with SLOT in its place and the real
value, bound to the link and the browser's cookie as before, is put in per request."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from typing import Hashable

import sqlalchemy as sa
from sqlmodel import Session, col

from scheduler.config.model import Config, Unit
from scheduler.policy.periods import Period
from scheduler.report.consolidate import previous_period
from scheduler.store.tables import PeriodRow, Review, Submission

SLOT = "csrf-slot-0d7c4f1e"  # hex-safe: autoescaping leaves it as it is


def watched(config: Config, period: Period, unit: Unit) -> tuple[str, ...]:
    """Keys of the periods whose revisions the unit's form for `period` shows: every period of
    its one-day form (config.bundle), and the one before each (last period's figures)."""
    keys = {period.key}
    for part in config.bundle(period, unit):
        keys.add(part.key)
        if (before := previous_period(config, part)) is not None:
            keys.add(before.key)
    return tuple(sorted(keys))


def version(session: Session, keys: tuple[str, ...], unit_code: str) -> Hashable:
    """What the page's content depends on in the store, in two queries: per period, the unit's
    newest revision and how many decisions were taken on its revisions (insert-only rows, so
    each count only grows), each an equality on the leading columns of a unique index (an IN
    over the keys would have SQLite walk every unit's rows of the period); and the closed periods."""
    parts = []
    for key in keys:
        parts.append(sa.select(sa.func.max(Submission.revision)).where(
            Submission.period_key == key, Submission.unit_code == unit_code).scalar_subquery())
        parts.append(sa.select(sa.func.count()).select_from(Review).where(
            Review.period_key == key, Review.unit_code == unit_code).scalar_subquery())
    counts = tuple(session.execute(sa.select(*parts)).one())
    closed = session.execute(sa.select(PeriodRow.key, PeriodRow.closed_at).where(col(PeriodRow.closed_at).is_not(None)))
    return counts, tuple(sorted((k, str(at)) for k, at in closed))


class FormCache:
    """Each link's page as last rendered (zlib-compressed: ~5 KB instead of 25), with the stamp
    (version, day) it was rendered under; the least recently used dropped beyond `max_bytes`;
    emptied when the config is replaced (SIGHUP)."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, tuple[Hashable, bytes, int]] = OrderedDict()
        self._size = 0
        self._config: Config | None = None
        self._lock = threading.Lock()  # pages are read and stored from worker threads

    def _same_config(self, config: Config | None) -> None:
        if config is not self._config:
            self._pages.clear()
            self._size, self._config = 0, config

    def clear(self) -> None:
        """Every page dropped, and the config they were rendered under let go of."""
        with self._lock:
            self._same_config(None)

    def get(self, config: Config, link: str, stamp: Hashable) -> tuple[bytes, int] | None:
        """(body with SLOT, status) rendered under `stamp`, or None."""
        with self._lock:
            self._same_config(config)
            found = self._pages.get(link)
            if found is None or found[0] != stamp:
                return None
            self._pages.move_to_end(link)
        return zlib.decompress(found[1]), found[2]

    def put(self, config: Config, link: str, stamp: Hashable, body: bytes, status: int) -> None:
        packed = zlib.compress(body, 1)
        with self._lock:
            self._same_config(config)
            old = self._pages.pop(link, None)
            if old is not None:
                self._size -= len(old[1])
            self._pages[link] = (stamp, packed, status)
            self._size += len(packed)
            while self._size > self.max_bytes and self._pages:
                _, (_, dropped, _) = self._pages.popitem(last=False)
                self._size -= len(dropped)
