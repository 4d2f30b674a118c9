"""review radii from the catch-rate benchmark

The media engine's benchmark (bench/RESULTS.md) set the review radii at PDQ 62 and pHash 10:
the widest with at most a few false pairs in 2.15 million. New guilds start there; a guild that
already saved its own radii keeps them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _defaults(pdq: str, phash: str) -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.alter_column(
            "pdq_review_radius",
            existing_type=sa.Integer(),
            server_default=pdq,
            existing_nullable=False,
        )
        batch_op.alter_column(
            "phash_review_radius",
            existing_type=sa.Integer(),
            server_default=phash,
            existing_nullable=False,
        )


def upgrade() -> None:
    _defaults("62", "10")


def downgrade() -> None:
    _defaults("50", "12")
