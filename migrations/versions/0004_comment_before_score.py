"""A criterion comment may come before its score: score.value becomes nullable.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Reviewed by hand. A draft could not keep a juror's comment on a criterion they had not scored
yet. Submitted evaluations still have every value (the service checks it); the ranking reads
only rows with a value. Downgrading deletes the comment-only rows, which cannot exist there.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.INTEGER(), nullable=True)


def downgrade():
    op.execute("DELETE FROM score WHERE value IS NULL")
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.INTEGER(), nullable=False)
