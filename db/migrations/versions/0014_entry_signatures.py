"""entry signatures: a still image's local features beside its takedown entry

An entry made from a still image keeps about 100 ORB keypoints of it (`media.features`:
descriptors and positions, at most 4 KiB, never the picture) in `entry_signatures`, read when a
weak hash match needs confirming. Entries made before this revision, and imported hash-only
entries, have none. A report keeps its first picture's signature in `report_signatures` with
its hashes, for the entry **Take down** makes of it.

Revision ID: 0014
Revises: 0015 (main took 0015 after 0009 first; 0014 follows it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0015"
branch_labels = None
depends_on = None


def _signatures(name: str, owner: str, table: str) -> None:
    """One signature per row of `table` (`owner` is its id), gone with the row."""
    op.create_table(
        name,
        sa.Column(
            owner,
            sa.Integer(),
            sa.ForeignKey(
                f"{table}.id", name=op.f(f"fk_{name}_{owner}_{table}"), ondelete="CASCADE"
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(owner, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _signatures("entry_signatures", "entry_id", "takedown_entries")
    _signatures("report_signatures", "report_id", "reports")


def downgrade() -> None:
    op.drop_table("report_signatures")
    op.drop_table("entry_signatures")
