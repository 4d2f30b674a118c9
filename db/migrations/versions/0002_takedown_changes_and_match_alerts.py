"""takedown changes and match alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:25:03.559681
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "takedown_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('entry_added', 'entry_removed', 'scope_changed')",
            name=op.f("ck_takedown_changes_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_changes")),
    )
    op.create_table(
        "match_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("upload_pdq", sa.String(length=64), nullable=True),
        sa.Column("upload_phash", sa.String(length=16), nullable=True),
        sa.Column("alert_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("algorithm IN ('pdq', 'phash')", name=op.f("ck_match_alerts_algorithm")),
        sa.CheckConstraint(
            "status IN ('open', 'not_a_match', 'taken_down')", name=op.f("ck_match_alerts_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_match_alerts_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["takedown_entries.id"],
            name=op.f("fk_match_alerts_entry_id_takedown_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
            name=op.f("fk_match_alerts_list_id_hash_lists"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_alerts")),
    )
    with op.batch_alter_table("match_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_match_alerts_guild_id_author_id"),
            ["guild_id", "author_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("match_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_alerts_guild_id_author_id"))

    op.drop_table("match_alerts")
    op.drop_table("takedown_changes")
