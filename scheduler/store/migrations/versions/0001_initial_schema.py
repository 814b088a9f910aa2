"""Initial schema: units, periods, submissions (revisions), the send ledger, reports.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 03:49:59.059929
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('period',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('obligation', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('units', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_key', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=True),
    sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_key', 'version', name='uq_report_version')
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_period_key'), ['period_key'], unique=False)

    op.create_table('send',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_key', sa.String(length=60), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=True),
    sa.Column('to_addrs', sa.JSON(), nullable=True),
    sa.Column('cc_addrs', sa.JSON(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_key', 'audience', 'step', name='uq_send_once')
    )
    with op.batch_alter_table('send', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_period_key'), ['period_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_send_status'), ['status'], unique=False)

    op.create_table('unit',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_key', sa.String(length=60), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('narrative', sa.JSON(), nullable=True),
    sa.Column('submitted_by', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['period_key'], ['period.key'], ),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_key', 'unit_code', 'revision', name='uq_submission_revision')
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_period_key'), ['period_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_period_key'))

    op.drop_table('submission')
    op.drop_table('unit')
    with op.batch_alter_table('send', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_status'))
        batch_op.drop_index(batch_op.f('ix_send_period_key'))

    op.drop_table('send')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_period_key'))

    op.drop_table('report')
    op.drop_table('period')
