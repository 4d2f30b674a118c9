"""recent quarters and mirrors: the recent-hash store keeps what else live matching looks up

A copy posted under stickers or a caption is found live through the PDQ of its quarters
(revision 0016), and a mirrored and cropped copy through its mirror image's pHash; a sweep on
add read only the pictures' records (PDQ turns and pHash), so such a copy posted before its
entry was added was never found. `recent_media.regions` holds the quarters' bits (up to four PDQ
hashes, 32 bytes each), `recent_media.mirrors` the mirror image's pHash of each record that has
its turns (8 bytes each, in record order); files stored before this revision have neither (NULL).

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
    op.add_column("recent_media", sa.Column("mirrors", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recent_media") as batch_op:
        batch_op.drop_column("mirrors")
        batch_op.drop_column("regions")
