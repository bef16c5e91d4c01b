"""Outgoing mail: the transactional outbox.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Reviewed by hand. One new table, nothing else changes: the release still running during a
rolling upgrade sends mail as it always did and never reads it. Nothing to fill in: mail sent
before the upgrade left no trace in the database.
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outgoing_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('recipient', sa.String(length=254), nullable=True),
        sa.Column('recipient_domain', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('message', sa.LargeBinary(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name=op.f('ck_outgoing_mail_status')
        ),
        sa.CheckConstraint(
            "kind IN ('invitation', 'reset', 'reminder', 'announcement', 'vote_link')",
            name=op.f('ck_outgoing_mail_kind'),
        ),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_outgoing_mail_attempts_not_negative')),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['user_account.id'],
            name=op.f('fk_outgoing_mail_user_id_user_account'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail')),
    )
    op.create_index(
        'ix_outgoing_mail_status_next_attempt_at',
        'outgoing_mail',
        ['status', 'next_attempt_at'],
        unique=False,
    )
    op.create_index(
        op.f('ix_outgoing_mail_user_id'), 'outgoing_mail', ['user_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_outgoing_mail_user_id'), table_name='outgoing_mail')
    op.drop_index('ix_outgoing_mail_status_next_attempt_at', table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
