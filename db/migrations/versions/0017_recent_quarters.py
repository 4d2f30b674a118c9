"""recent quarters: the recent-hash store keeps a still image's quarters too

A copy posted under stickers or a caption is found live through the PDQ of its quarters
(revision 0016); a sweep on add read only the whole pictures' records, so such a copy posted
before its entry was added was never found. `recent_media.regions` holds the quarters' bits
(up to four PDQ hashes, 32 bytes each); files stored before this revision have none (NULL).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recent_media", sa.Column("regions", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recent_media") as batch_op:
        batch_op.drop_column("regions")
