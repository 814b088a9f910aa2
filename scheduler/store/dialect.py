"""The store's one dialect-dependent statement: INSERT … ON CONFLICT, which SQLAlchemy offers per
dialect. Every claim (sends, reviews, versions, links, state rows) goes through it."""

from __future__ import annotations

from sqlmodel import Session


def insert(session: Session):
    """The dialect's INSERT, which has ON CONFLICT. Imported when called: the PostgreSQL dialect
    pulls in asyncio and asyncpg's module, which every command would otherwise pay for."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert
