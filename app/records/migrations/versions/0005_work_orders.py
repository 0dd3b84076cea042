"""Work orders drafted from incidents, confirmed by a technician.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Integer),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("confirmed_by", sa.String(64)),
        sa.Column("confirmed_at", sa.Float),
        sa.Column("exported_at", sa.Float))
    op.create_index("work_orders_by_status", "work_orders", ["status", "updated"])


def downgrade() -> None:
    op.drop_table("work_orders")
