"""Each unit's link per period: a 256-bit token derived from the secret key, stored as a hash.

A link opens for one role: the unit's own form ("unit"), or its head's approval page ("head").
The two are separate rows with their own salt, and the role is part of what the token is
derived from, so neither token can be turned into the other and each opens only its own page."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.store import dialect
from scheduler.store.tables import LinkRow

ROLES = ("unit", "head")
PATHS = {"unit": "/f/", "head": "/duyet/"}  # the page each role's link opens


def _token(secret: bytes, row: LinkRow) -> str:
    # The unit's links keep the derivation they always had: tokens already mailed still open.
    role = "" if row.role in (None, "unit") else f"{row.role}|"
    digest = hmac.new(secret, f"link|{role}{row.period_key}|{row.unit_code}|{row.salt}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_token(session: Session, secret: bytes, period_key: str, unit_code: str, now: datetime,
               role: str = "unit") -> str:
    """The current token of the unit's link for the period and `role`, creating the link on first
    use. Caller commits."""
    return link_tokens(session, secret, period_key, [unit_code], now, role)[unit_code]


def link_tokens(session: Session, secret: bytes, period_key: str, unit_codes: list[str], now: datetime,
                role: str = "unit") -> dict[str, str]:
    """link_token() for many units of one period at once (a tick mails hundreds): one query for
    the links they have, one for the generations of those that need a new one, one INSERT for
    the new ones. Caller commits."""
    assert role in ROLES, role
    wanted = set(unit_codes)
    current: dict[str, LinkRow] = {}
    for row in session.exec(
        select(LinkRow).where(LinkRow.period_key == period_key, col(LinkRow.unit_code).in_(wanted),
                              LinkRow.role == role, col(LinkRow.revoked_at).is_(None)).order_by(col(LinkRow.id))
    ):
        current.setdefault(row.unit_code, row)  # the oldest live one, as the form finds it
    for code, row in list(current.items()):
        if row.token_hash != token_hash(_token(secret, row)):
            # Made under another secret key (the key was rotated): retire it and issue a new one,
            # or every mail from now on would carry a link that opens nothing.
            row.revoked_at = now
            session.add(row)
            del current[code]
    missing = wanted - current.keys()
    if missing:
        session.flush()  # the retired ones count in their unit's generation
        # The salt is the link's generation (how many of the unit's links for the period and role
        # were retired): two requests or processes making the unit's link at once (the office's
        # page and the mail being composed) derive the same token, and the unique token hash keeps
        # one row. The secret key is what makes a token unguessable, not the salt.
        retired = dict(session.exec(
            select(LinkRow.unit_code, sa.func.count()).where(
                LinkRow.period_key == period_key, col(LinkRow.unit_code).in_(missing), LinkRow.role == role,
                col(LinkRow.revoked_at).is_not(None)).group_by(LinkRow.unit_code)).all())
        made = []
        for code in sorted(missing):
            row = LinkRow(period_key=period_key, unit_code=code, salt=f"g{retired.get(code, 0)}", token_hash="",
                          created_at=now, role=role)
            row.token_hash = token_hash(_token(secret, row))
            current[code] = row
            made.append(dict(period_key=period_key, unit_code=code, salt=row.salt, token_hash=row.token_hash,
                             created_at=now, role=role))
        # One statement run for every new row (compiled once, unlike a VALUES list of each length).
        session.connection().execute(
            dialect.insert(session)(LinkRow.__table__).on_conflict_do_nothing(index_elements=["token_hash"]), made)
    return {code: _token(secret, current[code]) for code in unit_codes}


def find(session: Session, token: str, role: str = "unit") -> LinkRow | None:
    """The link a token opens for `role` (revoked ones included, so the caller can say
    'expired'); None for a token of another role: a head's link never opens the unit's form,
    nor the unit's link the head's approval page."""
    if not token or len(token) > 100:
        return None
    return session.exec(select(LinkRow).where(LinkRow.token_hash == token_hash(token), LinkRow.role == role)).first()


def revoke(session: Session, period_key: str, unit_code: str, now: datetime, role: str | None = None) -> int:
    """Retire a unit's links (e.g. forwarded to the wrong person), of one role or all; the next
    mail carries a new one."""
    query = select(LinkRow).where(LinkRow.period_key == period_key, LinkRow.unit_code == unit_code,
                                  col(LinkRow.revoked_at).is_(None))
    if role is not None:
        query = query.where(LinkRow.role == role)
    rows = session.exec(query).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    return len(rows)
