"""The office's console: an audit trail of what the office does; decisions on revisions (the
unit head's approval or return, the office's return for correction); what a revision entered by
the office came as (paper, công văn); the indicators and headings an on-request report asks, and the days its figures cover; the
role a link opens for (the unit's form, or its head's approval page).

Only additions: nothing existing is changed or dropped.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

from scheduler.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("period_key", sa.String(length=60), nullable=True),
        sa.Column("unit_code", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(), nullable=True),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_key", sa.String(length=60), nullable=False),
        sa.Column("unit_code", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("period_key", "unit_code", "revision", "role", name="uq_review_once"),
    )
    op.create_index("ix_review_period_key", "review", ["period_key"])
    with op.batch_alter_table("submission") as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(), nullable=True))
    with op.batch_alter_table("period") as batch_op:
        batch_op.add_column(sa.Column("indicators", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("headings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("data_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("data_to", sa.Date(), nullable=True))
    with op.batch_alter_table("link") as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=10), nullable=False, server_default="unit"))


def downgrade() -> None:
    with op.batch_alter_table("link") as batch_op:
        batch_op.drop_column("role")
    with op.batch_alter_table("period") as batch_op:
        batch_op.drop_column("data_to")
        batch_op.drop_column("data_from")
        batch_op.drop_column("headings")
        batch_op.drop_column("indicators")
    with op.batch_alter_table("submission") as batch_op:
        batch_op.drop_column("note")
    op.drop_index("ix_review_period_key", "review")
    op.drop_table("review")
    op.drop_index("ix_audit_at", "audit")
    op.drop_table("audit")
