"""The records of release 0.1 (users, audit with flags, incidents) in one database, and
sign-in sessions shared by every UI replica.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False))
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("question", sa.Text), sa.Column("retrieved", sa.Text),
        sa.Column("cited", sa.Text), sa.Column("answer", sa.Text),
        sa.Column("status", sa.Text), sa.Column("model", sa.Text),
        sa.Column("first_token_s", sa.Float), sa.Column("total_s", sa.Float),
        sa.Column("feedback", sa.Text), sa.Column("comment", sa.Text),
        sa.Column("flags", sa.Text, nullable=False, server_default="[]"))
    op.create_index("audit_by_time", "audit", ["time"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("conversation", sa.Text, nullable=False))
    op.create_index("incidents_by_user", "incidents", ["user", "updated"])
    op.create_table(
        "sessions",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False))


def downgrade() -> None:
    for table in ("sessions", "incidents", "audit", "users"):
        op.drop_table(table)
