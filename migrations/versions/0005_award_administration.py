"""Award administration: rules per award, withdrawn nominees, per-criterion comment
requirements, and jury assignments.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Reviewed by hand. New NOT NULL columns get server defaults for the rows that exist (the seeded
award: every juror scores every nominee, blind, no comment requirements), dropped afterwards so
that the models stay the single source of defaults.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nominee_id', sa.Integer(), nullable=False),
        sa.Column('juror_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['juror_id'], ['user_account.id'],
                                name=op.f('fk_assignment_juror_id_user_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['nominee_id'], ['nominee.id'],
                                name=op.f('fk_assignment_nominee_id_nominee'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment')),
        sa.UniqueConstraint('nominee_id', 'juror_id',
                            name=op.f('uq_assignment_nominee_id_juror_id')),
    )
    op.create_index('ix_assignment_juror_id', 'assignment', ['juror_id'])

    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_comment', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('blind', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('assignment_mode', sa.String(length=10), nullable=False,
                                      server_default='all'))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint('assignment_mode', "assignment_mode IN ('all', 'assigned')")
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('nominee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=False,
                                      server_default=''))

    for table, columns in (
        ('award', ('require_comment', 'blind', 'assignment_mode')),
        ('criterion', ('comment_required',)),
        ('nominee', ('withdrawn_reason',)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table('nominee', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_at')
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.drop_column('comment_required')
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_award_assignment_mode'), type_='check')
        batch_op.drop_column('archived_at')
        batch_op.drop_column('assignment_mode')
        batch_op.drop_column('blind')
        batch_op.drop_column('require_comment')
    op.drop_index('ix_assignment_juror_id', table_name='assignment')
    op.drop_table('assignment')
