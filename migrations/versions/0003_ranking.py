"""Ranking: an award's quorum and the casting decisions that break remaining ties.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Reviewed by hand. Existing awards get a quorum of 3 (a server default for the upgrade only).
A casting decision keeps the decided order as a JSON list of nominee slugs; it goes with its
award, and its author is never deleted from under it.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'casting_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('award_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('nominee_order', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "method IN ('mean', 'median', 'trimmed_mean', 'zscore', 'borda')",
            name=op.f('ck_casting_decision_method'),
        ),
        sa.CheckConstraint('length(reason) > 0', name=op.f('ck_casting_decision_reason_given')),
        sa.ForeignKeyConstraint(['award_id'], ['award.id'],
                                name=op.f('fk_casting_decision_award_id_award'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                                name=op.f('fk_casting_decision_decided_by_id_user_account'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casting_decision')),
    )
    op.create_index('ix_casting_decision_award_id', 'casting_decision', ['award_id'])
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quorum', sa.Integer(), nullable=False, server_default='3'))
        batch_op.create_check_constraint('quorum_positive', 'quorum >= 1')
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.alter_column('quorum', server_default=None)


def downgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_award_quorum_positive'), type_='check')
        batch_op.drop_column('quorum')
    op.drop_index('ix_casting_decision_award_id', table_name='casting_decision')
    op.drop_table('casting_decision')
