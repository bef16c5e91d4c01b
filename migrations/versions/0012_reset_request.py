"""Forgot-password queues a request row for every address: a new outgoing_mail kind.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Reviewed by hand. Only the CHECK on outgoing_mail.kind changes: it now also allows
'reset_request', a row holding only the address someone typed into forgot-password, which the
sender turns into a reset (or invitation) message for an active account, or deletes. Written in
a batch so that SQLite copies the table; no row changes.

Released together with 0011 (the outbox), so no sender of an older release meets such a row.
A sender of 0011's code alone would mail a request row's empty message: stop it before the
new web workers start (docs/operations.md, "Upgrading").

Downgrading deletes the request rows (their addresses only; the old code cannot read them).
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OLD = "'invitation', 'reset', 'reminder', 'announcement', 'vote_link'"
NEW = OLD + ", 'reset_request'"


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outgoing_mail_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outgoing_mail_kind'), f"kind IN ({NEW})")


def downgrade():
    op.execute("DELETE FROM outgoing_mail WHERE kind = 'reset_request'")
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outgoing_mail_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outgoing_mail_kind'), f"kind IN ({OLD})")
