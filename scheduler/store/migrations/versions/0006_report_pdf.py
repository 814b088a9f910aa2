"""Report versions: the PDF made beside the DOCX (nullable: versions made before it have none,
and a version made without LibreOffice has none either).

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report") as batch_op:
        batch_op.add_column(sa.Column("pdf", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report") as batch_op:
        batch_op.drop_column("pdf")
