"""explicit-image review: settings, exemptions, flags, cleared pictures, three case kinds

A server can have every picture scored by the explicit-image classifier (`media.classifier`),
off by default, flagging at `explicit_threshold` (0.8) or above; channels and roles it skips are
`explicit_exemptions`. A flagged message is an `explicit_flags` row with its pictures' hashes
(`explicit_flag_hashes`), so **Take down** can list them and **Not explicit** can clear them
(`explicit_cleared`) after the message is gone. A match alert keeps the upload's score. Three
case kinds join the checked list (written out as they are at this revision).

Revision ID: 0009
Revises: 0012 (0013, 0011, 0010 and 0012 merged into main first; 0009 follows them)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None

KINDS_BEFORE = (
    "takedown",
    "flag",
    "not_a_match",
    "timeout",
    "ban",
    "report_takedown",
    "report_dismissed",
    "auto_hide",
    "takedown_list",
    "settings",
    "rules",
    "unreadable",
    "kick",
    "entry_held",
    "hold_released",
    "entry_stopped",
)
KINDS = (*KINDS_BEFORE, "explicit_flag", "explicit_takedown", "not_explicit")
FLAG_STATUSES = ("open", "not_explicit", "taken_down")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.add_column(
            sa.Column(
                "explicit_review", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("explicit_threshold", sa.Float(), server_default="0.8", nullable=False)
        )
        batch_op.create_check_constraint(
            "explicit_threshold", "explicit_threshold BETWEEN 0.5 AND 0.99"
        )
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.add_column(sa.Column("explicit_score", sa.Float(), nullable=True))
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS))
    op.create_table(
        "explicit_exemptions",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            _in("kind", ("channel", "role")), name=op.f("ck_explicit_exemptions_kind")
        ),
        sa.PrimaryKeyConstraint(
            "guild_id", "kind", "target_id", name=op.f("pk_explicit_exemptions")
        ),
    )
    op.create_table(
        "explicit_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("pictures", sa.Integer(), server_default="1", nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("alert_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("status", FLAG_STATUSES), name=op.f("ck_explicit_flags_status")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_explicit_flags_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["takedown_entries.id"],
            name=op.f("fk_explicit_flags_entry_id_takedown_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explicit_flags")),
    )
    op.create_index(
        op.f("ix_explicit_flags_guild_id_author_id"), "explicit_flags", ["guild_id", "author_id"]
    )
    op.create_table(
        "explicit_flag_hashes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("is_variant", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            _in("algorithm", ("pdq", "phash")), name=op.f("ck_explicit_flag_hashes_algorithm")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["explicit_flags.id"],
            name=op.f("fk_explicit_flag_hashes_flag_id_explicit_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explicit_flag_hashes")),
    )
    op.create_index(op.f("ix_explicit_flag_hashes_flag_id"), "explicit_flag_hashes", ["flag_id"])
    op.create_table(
        "explicit_cleared",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _in("algorithm", ("pdq", "phash")), name=op.f("ck_explicit_cleared_algorithm")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explicit_cleared")),
        sa.UniqueConstraint(
            "guild_id",
            "algorithm",
            "hash",
            name=op.f("uq_explicit_cleared_guild_id_algorithm_hash"),
        ),
    )


def downgrade() -> None:
    op.drop_table("explicit_cleared")
    op.drop_index(op.f("ix_explicit_flag_hashes_flag_id"), table_name="explicit_flag_hashes")
    op.drop_table("explicit_flag_hashes")
    op.drop_index(op.f("ix_explicit_flags_guild_id_author_id"), table_name="explicit_flags")
    op.drop_table("explicit_flags")
    op.drop_table("explicit_exemptions")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS_BEFORE))
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.drop_column("explicit_score")
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_constraint("explicit_threshold", type_="check")
        batch_op.drop_column("explicit_threshold")
        batch_op.drop_column("explicit_review")
