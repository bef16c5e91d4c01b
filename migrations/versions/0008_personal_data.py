"""Personal data: when an account was anonymised.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Reviewed by hand. One nullable column: existing accounts are not anonymised, so nothing to fill
in. Purging and anonymising change rows, not the schema.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
