"""names at the time, and an agency link

Evidence for an agency or the police names the account as it was: a case keeps the member's
username when it was written (`cases.user_name`), a report the reported member's
(`reports.target_name`). A server can set an agency's report portal (`agency_label`,
`agency_link`) that deepfake reports and takedown alerts link to.

Revision ID: 0011
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.add_column(sa.Column("agency_label", sa.String(80), nullable=True))
        batch_op.add_column(sa.Column("agency_link", sa.String(512), nullable=True))
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("user_name", sa.String(100), nullable=True))
    with op.batch_alter_table("reports") as batch_op:
        batch_op.add_column(sa.Column("target_name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_column("target_name")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("user_name")
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_column("agency_link")
        batch_op.drop_column("agency_label")
