"""Awards: public only once an administrator makes them so.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Reviewed by hand. One NOT NULL boolean, false for awards created from now on; its server
default stays, so that the release still running during a rolling upgrade can insert awards
(they are not public: an administrator makes them so). Existing awards
were all listed publicly until now; at the upgrade an award stays public when
- it is past draft (scoring opened at least once: jurors, and maybe voters, know of it), or
- it was loaded by `flask seed` (an "award.seeded" event in the audit log: the shipped
  Excellence Award, and any award a seed file brought in, was meant to be public).
An award still in draft that was only created in the admin pages becomes non-public: it was
listed by mistake (issue 14, item 12); its administrator makes it public with one click.
The audit log is only read. Downgrading drops the column: every award is listed again.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(
        sa.text(
            "UPDATE award SET public = :yes WHERE status <> 'draft'"
            " OR 'award:' || slug IN"
            " (SELECT subject FROM audit_event WHERE action = 'award.seeded')"
        ).bindparams(yes=True)
    )


def downgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_column('public')
