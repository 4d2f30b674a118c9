"""established reporters, retention, departed guilds

Auto-hide counts only reporters whose account and membership were old enough when they
reported (`established`; reports filed before this revision count, as they did). Closed reports'
text and notes and old alerts are kept `retention_days` (180 by default). A server the bot left
is remembered in `departed_guilds`, so its data can be deleted a set time later.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departed_guilds",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_departed_guilds")),
    )
    with op.batch_alter_table("guild_settings") as batch_op:
        for name, default in (
            ("auto_hide_min_account_days", "30"),
            ("auto_hide_min_member_days", "7"),
            ("retention_days", "180"),
        ):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), server_default=default, nullable=False)
            )
    with op.batch_alter_table("report_reporters") as batch_op:
        batch_op.add_column(
            sa.Column("established", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("report_reporters") as batch_op:
        batch_op.drop_column("established")
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("auto_hide_min_member_days")
        batch_op.drop_column("auto_hide_min_account_days")
    op.drop_table("departed_guilds")
