"""Published results: one frozen snapshot per award, canonical JSON with its SHA-256 digest.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Reviewed by hand. An award with published results cannot be deleted (RESTRICT), nor the
administrator who published it.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('result_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_result_snapshot_award_id_award'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_result_snapshot_published_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_snapshot')),
    sa.UniqueConstraint('award_id', name=op.f('uq_result_snapshot_award_id'))
    )


def downgrade():
    op.drop_table('result_snapshot')
