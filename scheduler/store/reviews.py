"""Decisions on revisions, and what counts as reported once a plan asks the unit head's approval.

A revision awaits the head when its approval was asked: record.record() claims an "approval"
mail for it (ledger kind "approval", ref = the revision) in the same transaction as the revision,
exactly when the period's plan says `approval: head`. So the store itself says which revisions
need a decision, and every reader (the planner's facts, the deliverer's re-check, the office's
table, the report) applies one rule without the config: a revision counts as reported unless its
approval was asked and nobody approved it. With approval off no such mail exists and every
revision counts, as before.

Deciding is one conditional INSERT (ON CONFLICT DO NOTHING on (period, unit, revision, role)):
a double click, or two tabs, make one decision, one audit row and one mail. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.config.model import Config, Unit
from scheduler.policy.periods import Period
from scheduler.policy.planner import OwedSend
from scheduler.store import audit, dialect, ledger
from scheduler.store.tables import Review, SendRow, Submission

APPROVAL = "approval"  # ledger kind: the mail asking the head to approve revision `ref`
RETURNED = "returned"  # ledger kind: the mail telling the focal points revision `ref` went back
ROLES = ("head", "office")
DECISIONS = ("approved", "returned")

_sub, _send, _review = Submission.__table__, SendRow.__table__, Review.__table__


def required(config: Config, period: Period) -> bool:
    """Whether `period`'s plan asks the unit head's approval (a request: its obligation's plan)."""
    ob = config.obligation_of(period)
    return ob is not None and ob.approval == "head"


def approval_send(period: Period, unit: Unit, revision: int, now: datetime) -> OwedSend:
    return OwedSend(at=now, kind=APPROVAL, step=f"approval#{revision}", period=period, unit=unit.code, ref=revision,
                    to=(unit.head.email,))


def returned_send(period: Period, unit: Unit, revision: int, now: datetime) -> OwedSend:
    """To the focal points, the head in copy (the unit's report went back, whoever sent it back)."""
    focal = tuple(p.email for p in unit.focal_points)
    return OwedSend(at=now, kind=RETURNED, step=f"return#{revision}", period=period, unit=unit.code, ref=revision,
                    to=focal, cc=() if unit.head.email in focal else (unit.head.email,))


def _asked(sub=_sub):
    return sa.exists().where(_send.c.period_key == sub.c.period_key, _send.c.audience == sub.c.unit_code,
                             _send.c.kind == APPROVAL, _send.c.ref == sub.c.revision)


def _approved(sub=_sub):
    return sa.exists().where(_review.c.period_key == sub.c.period_key, _review.c.unit_code == sub.c.unit_code,
                             _review.c.revision == sub.c.revision, _review.c.decision == "approved")


def counts():
    """SQL: the revision of `submission` counts as reported."""
    return sa.or_(~_asked(), _approved())


def reported_pairs(session: Session) -> set[tuple[str, str]]:
    """(period key, unit code) for every unit with a revision that counts."""
    stmt = sa.select(_sub.c.period_key, _sub.c.unit_code).where(counts()).distinct()
    return {(p, u) for p, u in session.execute(stmt).all()}


def reported_among(session: Session, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of `pairs` (period key, unit code) whose unit has a revision that counts: one query
    for a delivery batch instead of one per message."""
    if not pairs:
        return set()
    stmt = sa.select(_sub.c.period_key, _sub.c.unit_code).where(
        _sub.c.period_key.in_({p for p, _ in pairs}), _sub.c.unit_code.in_({u for _, u in pairs}), counts()).distinct()
    return {(p, u) for p, u in session.execute(stmt).all()} & pairs


def reported(session: Session, period_key: str, unit_code: str) -> bool:
    stmt = (sa.select(_sub.c.id).where(_sub.c.period_key == period_key, _sub.c.unit_code == unit_code, counts())
            .limit(1))
    return session.execute(stmt).first() is not None


@dataclass(frozen=True)
class Decisions:
    """What the store says about each revision of a period: whose approval was asked, and the
    decisions taken on it (by role)."""

    asked: frozenset[tuple[str, int]]  # (unit, revision) whose approval was asked
    decisions: dict[tuple[str, int], dict[str, Review]]  # (unit, revision) → role → review

    def counts(self, sub: Submission) -> bool:
        key = (sub.unit_code, sub.revision)
        return key not in self.asked or any(r.decision == "approved" for r in self.decisions.get(key, {}).values())

    def awaits(self, sub: Submission) -> bool:
        """Asked of the head and not decided by anyone yet."""
        key = (sub.unit_code, sub.revision)
        return key in self.asked and not self.decisions.get(key)

    def returned(self, sub: Submission) -> Review | None:
        """The newest 'returned' decision on this revision, the head's or the office's."""
        found = [r for r in self.decisions.get((sub.unit_code, sub.revision), {}).values() if r.decision == "returned"]
        return max(found, key=lambda r: (r.at, r.id or 0)) if found else None


def decisions(session: Session, period_key: str) -> Decisions:
    asked = frozenset((a, r) for a, r in session.execute(
        sa.select(_send.c.audience, _send.c.ref).where(_send.c.period_key == period_key, _send.c.kind == APPROVAL)).all())
    decisions: dict[tuple[str, int], dict[str, Review]] = {}
    for review in session.exec(select(Review).where(Review.period_key == period_key).order_by(col(Review.id))).all():
        decisions.setdefault((review.unit_code, review.revision), {})[review.role] = review
    return Decisions(asked, decisions)


def reviews_of(session: Session, period_key: str, unit_code: str, revision: int) -> dict[str, Review]:
    """role → the decision taken on one revision."""
    rows = session.exec(select(Review).where(Review.period_key == period_key, Review.unit_code == unit_code,
                                             Review.revision == revision)).all()
    return {r.role: r for r in rows}


def asked(session: Session, period_key: str, unit_code: str, revision: int) -> bool:
    stmt = sa.select(_send.c.id).where(_send.c.period_key == period_key, _send.c.audience == unit_code,
                                       _send.c.kind == APPROVAL, _send.c.ref == revision).limit(1)
    return session.execute(stmt).first() is not None


def decide(session: Session, period: Period, unit: Unit, revision: int, role: str, decision: str, actor: str,
           now: datetime, comment: str | None = None, mail_from: str = "baocao@example.org",
           audit_action: str | None = None) -> bool:
    """Record `role`'s decision on one revision; False when that role had already decided it
    (nothing written, nothing sent). A return claims the "returned" mail to the focal points
    (step return#N: the head's and the office's return of one revision are one mail). The audit
    row is written in the same transaction. Caller commits."""
    assert role in ROLES and decision in DECISIONS, (role, decision)
    stmt = (dialect.insert(session)(Review).values(period_key=period.key, unit_code=unit.code, revision=revision, role=role,
                                            decision=decision, actor=actor[:120], comment=comment or None, at=now)
            .on_conflict_do_nothing(index_elements=["period_key", "unit_code", "revision", "role"])
            .returning(Review.id))
    if session.execute(stmt).first() is None:
        return False
    detail = f"bản thứ {revision}" + (f": {comment}" if comment else "")
    audit.write(session, now, actor, audit_action or f"{role}-{decision}", period.key, unit.code, detail)
    if decision == "returned":
        ledger.claim(session, [returned_send(period, unit, revision, now)], now, mail_from)
    return True


PAPER = "Nhập hộ từ văn bản giấy có chữ ký của Thủ trưởng đơn vị"


def approved_on_paper(session: Session, period: Period, unit: Unit, revision: int, actor: str,
                      now: datetime) -> None:
    """A revision the office typed from a paper report or công văn: the head's signature on it is
    the approval, so no mail asks for it again. Recorded as the office's approval, in the
    revision's own transaction (the entry's audit row is the office's, written by its caller)."""
    session.execute(dialect.insert(session)(Review).values(
        period_key=period.key, unit_code=unit.code, revision=revision, role="office", decision="approved",
        actor=actor[:120], comment=PAPER, at=now).on_conflict_do_nothing(
        index_elements=["period_key", "unit_code", "revision", "role"]))


def awaiting(session: Session, period_key: str, unit_code: str) -> Submission | None:
    """The unit's newest revision when it waits for the head's decision (asked, not decided)."""
    newest = session.exec(select(Submission).where(Submission.period_key == period_key,
                                                   Submission.unit_code == unit_code)
                          .order_by(col(Submission.revision).desc())).first()
    if newest is None or not asked(session, period_key, unit_code, newest.revision):
        return None
    return None if reviews_of(session, period_key, unit_code, newest.revision) else newest
