"""Each unit's link per period: a 256-bit token derived from the secret key, stored as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from scheduler.store.tables import LinkRow


def _token(secret: bytes, row: LinkRow) -> str:
    digest = hmac.new(secret, f"link|{row.period_key}|{row.unit_code}|{row.salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_token(session: Session, secret: bytes, period_key: str, unit_code: str, now: datetime) -> str:
    """The unit's current token for the period, creating its link on first use. Caller commits."""
    row = session.exec(
        select(LinkRow).where(LinkRow.period_key == period_key, LinkRow.unit_code == unit_code,
                              col(LinkRow.revoked_at).is_(None))
    ).first()
    if row is not None and row.token_hash != token_hash(_token(secret, row)):
        # Made under another secret key (the key was rotated): retire it and issue a new one,
        # or every mail from now on would carry a link that opens nothing.
        row.revoked_at = now
        session.add(row)
        row = None
    if row is None:
        row = LinkRow(period_key=period_key, unit_code=unit_code, salt=secrets.token_hex(16), token_hash="",
                      created_at=now)
        row.token_hash = token_hash(_token(secret, row))
        session.add(row)
        session.flush()
    return _token(secret, row)


def find(session: Session, token: str) -> LinkRow | None:
    """The link a token opens (revoked ones included, so the caller can say 'expired')."""
    if not token or len(token) > 100:
        return None
    return session.exec(select(LinkRow).where(LinkRow.token_hash == token_hash(token))).first()


def revoke(session: Session, period_key: str, unit_code: str, now: datetime) -> int:
    """Retire a unit's link (e.g. forwarded to the wrong person); the next mail carries a new one."""
    rows = session.exec(select(LinkRow).where(LinkRow.period_key == period_key, LinkRow.unit_code == unit_code,
                                              col(LinkRow.revoked_at).is_(None))).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    return len(rows)
