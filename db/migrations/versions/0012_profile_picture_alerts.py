"""match alerts on members' profile pictures

A member can wear a takedown-list picture as their avatar, server avatar, account banner or
server banner. Such an alert is about a member, not a message: `picture` names which one, and
the message's channel and id are empty.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

PICTURES = ("avatar", "server_avatar", "banner", "server_banner")


def upgrade() -> None:
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.add_column(sa.Column("picture", sa.String(20), nullable=True))
        batch_op.alter_column("channel_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("message_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_check_constraint(
            "picture",
            f"picture IS NULL OR picture IN ({', '.join(repr(p) for p in PICTURES)})",
        )
        batch_op.create_check_constraint(
            "about",
            "(picture IS NULL AND channel_id IS NOT NULL AND message_id IS NOT NULL) "
            "OR (picture IS NOT NULL AND channel_id IS NULL AND message_id IS NULL)",
        )


def downgrade() -> None:
    op.execute("DELETE FROM match_alerts WHERE picture IS NOT NULL")
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.drop_constraint("about", type_="check")
        batch_op.drop_constraint("picture", type_="check")
        batch_op.alter_column("message_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("channel_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("picture")
