"""The store's tables. Rows hold facts (who reported what, what was sent); decisions are
made by the pure planner from those facts."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) and
    PostgreSQL alike. Naive values are refused: they are always a bug here."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(sa.JSON(), nullable=nullable))


class UnitRow(SQLModel, table=True):
    """A unit as last synced from units.yaml (kept when removed from the file)."""

    __tablename__ = "unit"
    code: str = Field(primary_key=True, max_length=20)
    name: str
    active: bool = True
    # None: present from the first sync, so it owes every step; otherwise the unit was
    # added mid-campaign and joins from the next step after this instant.
    joined_at: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts()


class PeriodRow(SQLModel, table=True):
    """A reporting period: from the plan (synced) or an on-request report."""

    __tablename__ = "period"
    key: str = Field(primary_key=True, max_length=60)
    obligation: str = Field(max_length=60)
    title: str
    start: date
    end: date
    due: date
    source: str = Field(default="plan", max_length=10)  # plan | request
    units: list[str] | None = _json()  # None: every unit of the obligation
    # A request's questions, a subset of its obligation's; None: all of them.
    indicators: list[str] | None = _json()
    headings: list[str] | None = _json()
    # The days a request's figures cover ("Số liệu tính từ … đến …"); None: not said.
    data_from: date | None = None
    data_to: date | None = None
    created_at: datetime = _ts()
    closed_at: datetime | None = _ts(nullable=True)


class Submission(SQLModel, table=True):
    """One revision of one unit's report for one period. Never updated: a correction is a new row."""

    __tablename__ = "submission"
    __table_args__ = (sa.UniqueConstraint("period_key", "unit_code", "revision", name="uq_submission_revision"),)
    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(foreign_key="period.key", max_length=60, index=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=20)
    revision: int
    received_at: datetime = _ts()
    on_time: bool
    channel: str = Field(max_length=10)  # form | file | office
    figures: dict[str, Any] | None = _json()
    narrative: dict[str, Any] | None = _json()
    submitted_by: str | None = None
    # What a revision the office entered came as: "Bản giấy, Công văn số 123/TTBVTV ngày 03/12/2026".
    note: str | None = None


class SendRow(SQLModel, table=True):
    """The send ledger: one row per (period, audience, step), written before SMTP is touched,
    so that no message can go twice even across restarts or several instances."""

    __tablename__ = "send"
    __table_args__ = (sa.UniqueConstraint("period_key", "audience", "step", name="uq_send_once"),)
    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=60, index=True)
    audience: str = Field(max_length=20)  # unit code, or "*" for the office digest
    step: str = Field(max_length=30)  # e.g. notice-10, overdue+1
    kind: str = Field(max_length=10)
    scheduled_at: datetime = _ts()
    created_at: datetime = _ts()
    status: str = Field(default="pending", max_length=10, index=True)  # pending|sending|sent|failed
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = Field(default=None, max_length=250)
    to_addrs: list[str] | None = _json()
    cc_addrs: list[str] | None = _json()
    next_attempt_at: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    retry_rcpts: list[str] | None = _json()  # after a partial 4xx: resend to these addresses only
    ref: int | None = None  # the revision a receipt confirms, the version a report mail carries


class ReportRow(SQLModel, table=True):
    """A generated consolidated report; versions are kept."""

    __tablename__ = "report"
    __table_args__ = (sa.UniqueConstraint("period_key", "version", name="uq_report_version"),)
    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=60, index=True)
    version: int
    created_at: datetime = _ts()
    filename: str
    content: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))
    # The same report as PDF (report/pdf.py); None when LibreOffice was missing or failed, and
    # for versions made before PDFs were.
    pdf: bytes | None = Field(default=None, sa_column=Column(sa.LargeBinary(), nullable=True))
    sources: dict[str, Any] | None = _json()  # unit code → submission revision used
    mailed_at: datetime | None = _ts(nullable=True)


class LinkRow(SQLModel, table=True):
    """A unit's personal link for one period. Only the token's SHA-256 is stored; the token
    itself is re-derived from the secret key and `salt` when a mail needs it, so a resent
    mail carries the same link and a copy of the database alone opens nothing."""

    __tablename__ = "link"
    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=60, index=True)
    unit_code: str = Field(max_length=20)
    salt: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    role: str = Field(default="unit", max_length=10, sa_column_kwargs={"server_default": "unit"})  # unit | head


class StateRow(SQLModel, table=True):
    """Small facts about the service itself, one row per key: the newest tick, when the store
    was first ticked and whether the admin confirmed that first clock. Rows keyed `vp-session:…`
    are the office's live logins (scheduler/web/security.py, OfficeSessions): `at` is when each
    ends, `value` the user."""

    __tablename__ = "service_state"
    key: str = Field(primary_key=True, max_length=40)
    at: datetime | None = _ts(nullable=True)
    value: str | None = None
    updated_at: datetime = _ts()


class Review(SQLModel, table=True):
    """A decision on one revision: the unit head's (approved | returned) when the plan asks for
    approval, or the office's (returned: sent back for correction). One per revision and role: a
    double click is one decision, and its mail is claimed once."""

    __tablename__ = "review"
    __table_args__ = (sa.UniqueConstraint("period_key", "unit_code", "revision", "role", name="uq_review_once"),)
    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=60, index=True)
    unit_code: str = Field(max_length=20)
    revision: int
    role: str = Field(max_length=10)  # head | office
    decision: str = Field(max_length=10)  # approved | returned
    actor: str | None = Field(default=None, max_length=120)
    comment: str | None = None
    at: datetime = _ts()


class AuditRow(SQLModel, table=True):
    """What the office (or a unit head) did, who and when: never updated, never deleted."""

    __tablename__ = "audit"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default=None, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=120)
    action: str = Field(max_length=40)
    period_key: str | None = Field(default=None, max_length=60)
    unit_code: str | None = Field(default=None, max_length=20)
    detail: str | None = None
