"""Send ledger: recipients still to retry after a partial "try later" (4xx).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("send") as batch_op:
        batch_op.add_column(sa.Column("retry_rcpts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("send") as batch_op:
        batch_op.drop_column("retry_rcpts")
