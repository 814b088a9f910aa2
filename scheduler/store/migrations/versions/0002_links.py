"""Per-unit, per-period links (token hashes only).

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=60), nullable=False),
        sa.Column("unit_code", sa.String(length=20), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("link") as batch_op:
        batch_op.create_index("ix_link_period_key", ["period_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link") as batch_op:
        batch_op.drop_index("ix_link_period_key")
    op.drop_table("link")
