"""flood hold: a server's limit, held and ignored entries, the matches of the last hour

An entry that removes more than `flood_limit` different messages in a server within an hour
(20 by default, 0: never) is held there: its matches are flagged instead of removed until a
moderator decides. `entry_holds` keeps each entry's standing per server (counting, held,
ignored) and is the row a burst's decisions lock; `flood_matches` the messages of the window.
Three case kinds join the checked list; the kinds are written out as they are at this revision.

Revision ID: 0013
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0008"
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
)
KINDS = (*KINDS_BEFORE, "entry_held", "hold_released", "entry_stopped")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _guild_and_entry(table: str) -> tuple[sa.Column, sa.Column]:
    """The server and the entry a row is about (gone with the entry)."""
    entry = sa.ForeignKey(
        "takedown_entries.id",
        name=op.f(f"fk_{table}_entry_id_takedown_entries"),
        ondelete="CASCADE",
    )
    return (
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), entry, nullable=False),
    )


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.add_column(
            sa.Column("flood_limit", sa.Integer(), server_default="20", nullable=False)
        )
    op.create_table(
        "entry_holds",
        *_guild_and_entry("entry_holds"),
        sa.Column("status", sa.String(10), server_default="counting", nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("notice_message_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _in("status", ("counting", "held", "ignored")), name=op.f("ck_entry_holds_status")
        ),
        sa.PrimaryKeyConstraint("guild_id", "entry_id", name=op.f("pk_entry_holds")),
    )
    op.create_index(op.f("ix_entry_holds_entry_id"), "entry_holds", ["entry_id"])
    op.create_table(
        "flood_matches",
        *_guild_and_entry("flood_matches"),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "entry_id", "message_id", name=op.f("pk_flood_matches")
        ),
    )
    op.create_index(op.f("ix_flood_matches_entry_id"), "flood_matches", ["entry_id"])
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS_BEFORE))
    op.drop_index(op.f("ix_flood_matches_entry_id"), table_name="flood_matches")
    op.drop_table("flood_matches")
    op.drop_index(op.f("ix_entry_holds_entry_id"), table_name="entry_holds")
    op.drop_table("entry_holds")
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_column("flood_limit")
