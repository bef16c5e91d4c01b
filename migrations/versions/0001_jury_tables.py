"""The jury's tables: award, nominee, criterion, user, jury, evaluation, score, recusal, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Reviewed by hand. Deletion rules: an award's nominees, criteria and jury go with it (CASCADE),
but evaluated work never does: evaluation -> nominee/juror and score -> criterion are RESTRICT.
An evaluation's (nominee_id, award_id) points at nominee (id, award_id), so an evaluation cannot
name a nominee of another award.
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scoring_opens_at', sa.DateTime(), nullable=True),
    sa.Column('scoring_closes_at', sa.DateTime(), nullable=True),
    sa.Column('voting_opens_at', sa.DateTime(), nullable=True),
    sa.Column('voting_closes_at', sa.DateTime(), nullable=True),
    sa.Column('aggregation_method', sa.String(length=20), nullable=False),
    sa.Column('jury_weight', sa.Integer(), nullable=False),
    sa.Column('vote_weight', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("aggregation_method IN ('mean', 'median', 'trimmed_mean', 'zscore', 'borda')", name=op.f('ck_award_aggregation_method')),
    sa.CheckConstraint("status IN ('draft', 'scoring', 'closed', 'voting', 'voting_closed', 'published')", name=op.f('ck_award_status')),
    sa.CheckConstraint('jury_weight >= 0 AND vote_weight >= 0 AND jury_weight + vote_weight = 100', name=op.f('ck_award_weights')),
    sa.CheckConstraint('scoring_closes_at IS NULL OR scoring_opens_at IS NULL OR scoring_opens_at < scoring_closes_at', name=op.f('ck_award_scoring_window')),
    sa.CheckConstraint('voting_closes_at IS NULL OR voting_opens_at IS NULL OR voting_opens_at < voting_closes_at', name=op.f('ck_award_voting_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award')),
    sa.UniqueConstraint('slug', name=op.f('uq_award_slug'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'juror')", name=op.f('ck_user_account_role')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_user_account_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_event_actor_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_event_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_event_prev_hash'))
    )
    op.create_table('criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('guidance', sa.Text(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('scale_min', sa.Integer(), nullable=False),
    sa.Column('scale_max', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('scale_min >= 0 AND scale_max <= 100 AND scale_min < scale_max', name=op.f('ck_criterion_scale')),
    sa.CheckConstraint('weight > 0', name=op.f('ck_criterion_weight_positive')),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_criterion_award_id_award'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criterion')),
    sa.UniqueConstraint('award_id', 'slug', name=op.f('uq_criterion_award_id_slug'))
    )
    op.create_table('jury_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_jury_member_award_id_award'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_jury_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jury_member')),
    sa.UniqueConstraint('award_id', 'user_id', name=op.f('uq_jury_member_award_id_user_id'))
    )
    op.create_table('nominee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('country', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_nominee_award_id_award'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nominee')),
    sa.UniqueConstraint('award_id', 'slug', name=op.f('uq_nominee_award_id_slug')),
    sa.UniqueConstraint('id', 'award_id', name=op.f('uq_nominee_id_award_id'))
    )
    op.create_table('evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('nominee_id', sa.Integer(), nullable=False),
    sa.Column('juror_id', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_evaluation_version_positive')),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_evaluation_award_id_award'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['juror_id'], ['user_account.id'], name=op.f('fk_evaluation_juror_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['nominee_id', 'award_id'], ['nominee.id', 'nominee.award_id'], name='fk_evaluation_nominee_id_award_id_nominee', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation')),
    sa.UniqueConstraint('award_id', 'nominee_id', 'juror_id', name=op.f('uq_evaluation_award_id_nominee_id_juror_id'))
    )
    op.create_index('ix_evaluation_juror_id', 'evaluation', ['juror_id'])
    op.create_index('ix_evaluation_nominee_id', 'evaluation', ['nominee_id'])

    op.create_table('recusal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nominee_id', sa.Integer(), nullable=False),
    sa.Column('juror_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', sa.DateTime(), nullable=False),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('lifted_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('(lifted_at IS NULL AND lifted_by_id IS NULL) OR (lifted_at IS NOT NULL AND lifted_by_id IS NOT NULL)', name=op.f('ck_recusal_lifted_together')),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_recusal_reason_given')),
    sa.ForeignKeyConstraint(['juror_id'], ['user_account.id'], name=op.f('fk_recusal_juror_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['user_account.id'], name=op.f('fk_recusal_lifted_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['nominee_id'], ['nominee.id'], name=op.f('fk_recusal_nominee_id_nominee'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recusal')),
    sa.UniqueConstraint('nominee_id', 'juror_id', name=op.f('uq_recusal_nominee_id_juror_id'))
    )
    op.create_table('score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.CheckConstraint('value BETWEEN 0 AND 100', name=op.f('ck_score_value_range')),
    sa.ForeignKeyConstraint(['criterion_id'], ['criterion.id'], name=op.f('fk_score_criterion_id_criterion'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_score_evaluation_id_evaluation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score')),
    sa.UniqueConstraint('evaluation_id', 'criterion_id', name=op.f('uq_score_evaluation_id_criterion_id'))
    )
    op.create_index('ix_score_criterion_id', 'score', ['criterion_id'])



def downgrade():
    op.drop_index('ix_score_criterion_id', table_name='score')
    op.drop_table('score')
    op.drop_table('recusal')
    op.drop_index('ix_evaluation_nominee_id', table_name='evaluation')
    op.drop_index('ix_evaluation_juror_id', table_name='evaluation')
    op.drop_table('evaluation')
    op.drop_table('nominee')
    op.drop_table('jury_member')
    op.drop_table('criterion')
    op.drop_table('audit_event')
    op.drop_table('user_account')
    op.drop_table('award')
