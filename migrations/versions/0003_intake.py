"""status intake: API tokens, link revocation, polled-source cursors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "intake_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("intake_api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_api_token_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "intake_link_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("not_before", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id"),
    )

    op.create_table(
        "intake_poll_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source"),
    )

    op.create_table(
        "intake_polled_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("item_key", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("seen_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('recorded', 'rejected')", name="ck_polled_item_outcome"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "item_key", name="uq_polled_item_source_key"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("intake_polled_item")
    op.drop_table("intake_poll_cursor")
    op.drop_table("intake_link_revocation")
    with op.batch_alter_table("intake_api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_api_token_agency_id"))
    op.drop_table("intake_api_token")
