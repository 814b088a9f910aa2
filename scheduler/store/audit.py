"""The audit trail: who did what, when, on which period and unit. Rows are only ever added."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from scheduler.store.tables import AuditRow


def write(session: Session, now: datetime, actor: str, action: str, period_key: str | None = None,
          unit_code: str | None = None, detail: str = "") -> None:
    """Record one action in the caller's transaction: it is kept exactly when the action is."""
    session.add(AuditRow(at=now, actor=actor[:120], action=action[:40], period_key=period_key, unit_code=unit_code,
                         detail=detail or None))


def recent(session: Session, period_key: str | None = None, limit: int = 200) -> list[AuditRow]:
    """The newest actions first, for one period or all."""
    query = select(AuditRow)
    if period_key is not None:
        query = query.where(AuditRow.period_key == period_key)
    return list(session.exec(query.order_by(col(AuditRow.id).desc()).limit(limit)).all())
