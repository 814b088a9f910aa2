"""Service state (newest tick, first tick, clock confirmation); mail that failed only because it
could not be composed is owed again.

Before this revision any exception while composing a mail (a bad BAOCAO_SECRET_KEY, a template
being edited) marked the send permanently failed, so fixing the setting sent nothing. Those rows
go back to waiting: delivery cancels the ones no longer owed (unit reported, a newer step, too old).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

from scheduler.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_state",
        sa.Column("key", sa.String(length=40), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.Column("value", sa.String(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    # A store that has already sent mail has a history that vouches for its clock: its first
    # start was long ago, so nothing is held back as on a new install (scheduler/policy/clockcheck.py).
    op.execute("INSERT INTO service_state (key, at, value, updated_at) "
               "SELECT 'first_tick', NULL, 'đã có dữ liệu trước', CURRENT_TIMESTAMP FROM send "
               "WHERE EXISTS (SELECT 1 FROM send) LIMIT 1")
    op.execute("INSERT INTO service_state (key, at, value, updated_at) "
               "SELECT 'clock_confirmed', CURRENT_TIMESTAMP, 'đã có dữ liệu trước', CURRENT_TIMESTAMP FROM send "
               "WHERE EXISTS (SELECT 1 FROM send) LIMIT 1")
    op.execute("UPDATE send SET status = 'pending', next_attempt_at = NULL "
               "WHERE status = 'failed' AND sent_at IS NULL AND last_error LIKE 'không soạn được thư:%'")


def downgrade() -> None:
    op.drop_table("service_state")
