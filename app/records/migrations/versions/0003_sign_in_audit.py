"""Sign-ins in the audit log: from which address, and whether a local or a directory account.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("audit") as table:  # batch: SQLite adds columns its own way
        table.add_column(sa.Column("address", sa.String(64)))
        table.add_column(sa.Column("account", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("audit") as table:
        table.drop_column("account")
        table.drop_column("address")
