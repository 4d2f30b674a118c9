"""recent-hash store

The hashes (never the media) of pictures posted in the last `recent_days` (7 by default, 0 keeps
none), so an entry added later removes the copies of it still up.

Revision ID: 0010
Revises: 0011 (numbered 0010 as assigned; chained after the flood hold and evidence, merged first)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recent_media",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("media_index", sa.SmallInteger(), nullable=False),
        sa.Column("frames", sa.SmallInteger(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recent_media")),
    )
    op.create_index(
        op.f("ix_recent_media_guild_id_message_id"),
        "recent_media",
        ["guild_id", "message_id"],
        unique=False,
    )
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.add_column(
            sa.Column("recent_days", sa.Integer(), server_default="7", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_column("recent_days")
    op.drop_index(op.f("ix_recent_media_guild_id_message_id"), table_name="recent_media")
    op.drop_table("recent_media")
