"""Document collections: which collection each indexed file is in.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "document_collections",
        sa.Column("file", sa.String(1024), primary_key=True),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.Float, nullable=False))


def downgrade() -> None:
    op.drop_table("document_collections")
