"""Send ledger: the revision a receipt confirms and the version a report mail carries, as a
column (they were read back out of the step's name, receipt#N and report-vN).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("send") as batch_op:
        batch_op.add_column(sa.Column("ref", sa.Integer(), nullable=True))
    # "receipt#" and "report-v" are both 8 characters: the number follows.
    op.execute("UPDATE send SET ref = CAST(SUBSTR(step, 9) AS INTEGER) "
               "WHERE (kind = 'receipt' AND step LIKE 'receipt#%') OR (kind = 'report' AND step LIKE 'report-v%')")


def downgrade() -> None:
    with op.batch_alter_table("send") as batch_op:
        batch_op.drop_column("ref")
