"""server language

A server's shared posts (alerts, the report queue, DMs, posted rules' framing) speak its chosen
language; NULL, the default, follows the server's preferred locale on Discord.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_column("language")
