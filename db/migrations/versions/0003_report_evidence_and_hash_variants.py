"""report evidence links and hash variants

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:05:06.254722
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_hashes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_variant", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )

    with op.batch_alter_table("report_reporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_reporters", schema=None) as batch_op:
        batch_op.drop_column("evidence_url")

    with op.batch_alter_table("report_hashes", schema=None) as batch_op:
        batch_op.drop_column("is_variant")
