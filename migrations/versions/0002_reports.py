"""periodic reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision: the report runs table."""
    op.create_table(
        "reportrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("data_from", sa.Date(), nullable=False),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("send_on", sa.Date(), nullable=False),
        sa.Column("data_as_of", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "period", name="uq_reportrun_scope_period"),
    )
    with op.batch_alter_table("reportrun", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reportrun_notice_id"), ["notice_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("reportrun", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reportrun_notice_id"))
    op.drop_table("reportrun")
