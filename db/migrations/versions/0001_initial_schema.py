"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:05:32.574620
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_state")),
    )
    op.create_table(
        "guild_counters",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "kind", name=op.f("pk_guild_counters")),
    )
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mod_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("log_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("mod_role_id", sa.BigInteger(), nullable=True),
        sa.Column("takedown_action", sa.String(length=10), server_default="remove", nullable=False),
        sa.Column("pdq_confident_radius", sa.Integer(), server_default="31", nullable=False),
        sa.Column("pdq_review_radius", sa.Integer(), server_default="50", nullable=False),
        sa.Column("phash_confident_radius", sa.Integer(), server_default="8", nullable=False),
        sa.Column("phash_review_radius", sa.Integer(), server_default="12", nullable=False),
        sa.Column("dm_author", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("timeout_on_repeat_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("repeat_window_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("previews", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("auto_hide_threshold", sa.Integer(), server_default="3", nullable=False),
        sa.Column("reporter_limit_short", sa.Integer(), server_default="5", nullable=False),
        sa.Column(
            "reporter_window_short_minutes", sa.Integer(), server_default="10", nullable=False
        ),
        sa.Column("reporter_limit_daily", sa.Integer(), server_default="20", nullable=False),
        sa.Column("min_account_age_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dm_reporters", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "takedown_action IN ('remove', 'flag')", name=op.f("ck_guild_settings_takedown_action")
        ),
        sa.CheckConstraint(
            "pdq_confident_radius BETWEEN 0 AND 256 AND pdq_review_radius BETWEEN 0 AND 256 AND phash_confident_radius BETWEEN 0 AND 64 AND phash_review_radius BETWEEN 0 AND 64",
            name=op.f("ck_guild_settings_radius_range"),
        ),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "hash_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("share_code", sa.String(length=32), nullable=True),
        sa.Column("shared", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_lists")),
        sa.UniqueConstraint("owner_guild_id", name=op.f("uq_hash_lists_owner_guild_id")),
        sa.UniqueConstraint("share_code", name=op.f("uq_hash_lists_share_code")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_key", sa.String(length=40), nullable=False),
        sa.Column("target_user_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("excerpt", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("hidden", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("queue_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("queue_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'taken_down', 'dismissed', 'actioned')",
            name=op.f("ck_reports_status"),
        ),
        sa.CheckConstraint(
            "target_kind IN ('message', 'user')", name=op.f("ck_reports_target_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("guild_id", "number", name=op.f("uq_reports_guild_id_number")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "uq_reports_open_target",
            ["guild_id", "target_key"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "rule_posts",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "channel_id", name=op.f("pk_rule_posts")),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rules_guild_id_position"), ["guild_id", "position"], unique=False
        )

    op.create_table(
        "scan_positions",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("last_message_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_scan_positions")),
    )
    with op.batch_alter_table("scan_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_positions_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "skipped_channels",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "channel_id", name=op.f("pk_skipped_channels")),
    )
    op.create_table(
        "report_hashes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "algorithm IN ('pdq', 'phash')", name=op.f("ck_report_hashes_algorithm")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_hashes_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_hashes")),
    )
    with op.batch_alter_table("report_hashes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_hashes_report_id"), ["report_id"], unique=False)

    op.create_table(
        "report_reporters",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("details", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_reporters_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "reporter_id", name=op.f("pk_report_reporters")),
    )
    with op.batch_alter_table("report_reporters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_reporters_reporter_id_created_at"),
            ["reporter_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('remove', 'flag')", name=op.f("ck_subscriptions_action")),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
            name=op.f("fk_subscriptions_list_id_hash_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("guild_id", "list_id", name=op.f("uq_subscriptions_guild_id_list_id")),
    )
    op.create_table(
        "takedown_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), server_default="", nullable=False),
        sa.Column("label_shareable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("match_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
            name=op.f("fk_takedown_entries_list_id_hash_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_entries")),
    )
    with op.batch_alter_table("takedown_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_takedown_entries_list_id_enabled"), ["list_id", "enabled"], unique=False
        )

    op.create_table(
        "allowlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("algorithm IN ('pdq', 'phash')", name=op.f("ck_allowlist_algorithm")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["takedown_entries.id"],
            name=op.f("fk_allowlist_entry_id_takedown_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowlist")),
        sa.UniqueConstraint(
            "guild_id", "algorithm", "hash", name=op.f("uq_allowlist_guild_id_algorithm_hash")
        ),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("moderator_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["takedown_entries.id"],
            name=op.f("fk_cases_entry_id_takedown_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_cases_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("guild_id", "number", name=op.f("uq_cases_guild_id_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_guild_id_user_id"), ["guild_id", "user_id"], unique=False
        )

    op.create_table(
        "entry_hashes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("is_variant", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint("algorithm IN ('pdq', 'phash')", name=op.f("ck_entry_hashes_algorithm")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["takedown_entries.id"],
            name=op.f("fk_entry_hashes_entry_id_takedown_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_hashes")),
    )
    with op.batch_alter_table("entry_hashes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entry_hashes_algorithm_hash"), ["algorithm", "hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entry_hashes_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry_hashes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_hashes_entry_id"))
        batch_op.drop_index(batch_op.f("ix_entry_hashes_algorithm_hash"))

    op.drop_table("entry_hashes")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_guild_id_user_id"))

    op.drop_table("cases")
    op.drop_table("allowlist")
    with op.batch_alter_table("takedown_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_entries_list_id_enabled"))

    op.drop_table("takedown_entries")
    op.drop_table("subscriptions")
    with op.batch_alter_table("report_reporters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reporters_reporter_id_created_at"))

    op.drop_table("report_reporters")
    with op.batch_alter_table("report_hashes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_hashes_report_id"))

    op.drop_table("report_hashes")
    op.drop_table("skipped_channels")
    with op.batch_alter_table("scan_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_positions_guild_id"))

    op.drop_table("scan_positions")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rules_guild_id_position"))

    op.drop_table("rules")
    op.drop_table("rule_posts")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reports_open_target",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.drop_table("reports")
    op.drop_table("hash_lists")
    op.drop_table("guild_settings")
    op.drop_table("guild_counters")
    op.drop_table("bot_state")
