"""The vote: voting credentials (access codes, verified addresses) and ballots.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Reviewed by hand. One ballot per credential is a unique constraint; a ballot's nominee is of
its award (composite key); ballots and credentials are never deleted with their award
(RESTRICT); voided ballots keep who voided them. Existing awards get live_tally off (a server
default for the upgrade only).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voting_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('code', 'email')", name=op.f('ck_voting_credential_kind')),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_voting_credential_award_id_award'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voting_credential')),
    sa.UniqueConstraint('award_id', 'secret_hash', name=op.f('uq_voting_credential_award_id_secret_hash'))
    )
    op.create_table('ballot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('nominee_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.Column('cast_at', sa.DateTime(), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('user_agent_hash', sa.String(length=64), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('(voided_at IS NULL AND voided_by_id IS NULL) OR (voided_at IS NOT NULL AND voided_by_id IS NOT NULL)', name=op.f('ck_ballot_voided_together')),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_ballot_award_id_award'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['credential_id'], ['voting_credential.id'], name=op.f('fk_ballot_credential_id_voting_credential'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['nominee_id', 'award_id'], ['nominee.id', 'nominee.award_id'], name='fk_ballot_nominee_id_award_id_nominee', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user_account.id'], name=op.f('fk_ballot_voided_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_ballot_credential_id')),
    sa.UniqueConstraint('receipt', name=op.f('uq_ballot_receipt'))
    )
    op.create_index('ix_ballot_award_id', 'ballot', ['award_id'])

    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vote_top_n', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('live_tally', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('online_vote', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.alter_column('live_tally', server_default=None)
        batch_op.alter_column('online_vote', server_default=None)



def downgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_column('online_vote')
        batch_op.drop_column('live_tally')
        batch_op.drop_column('vote_top_n')

    op.drop_index('ix_ballot_award_id', table_name='ballot')

    op.drop_table('ballot')
    op.drop_table('voting_credential')
