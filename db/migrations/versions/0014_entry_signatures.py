"""entry signatures: a still image's local features beside its takedown entry

An entry made from a still image keeps about 100 ORB keypoints of it (`media.features`:
descriptors and positions, at most 4 KiB, never the picture) in `entry_signatures`, read when a
weak hash match needs confirming. Entries made before this revision, and imported hash-only
entries, have none. A report keeps its first picture's signature in `report_signatures` with
its hashes, for the entry **Take down** makes of it.

Revision ID: 0014
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_signatures",
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey(
                "takedown_entries.id",
                name=op.f("fk_entry_signatures_entry_id_takedown_entries"),
                ondelete="CASCADE",
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entry_signatures")),
    )
    op.create_table(
        "report_signatures",
        sa.Column(
            "report_id",
            sa.Integer(),
            sa.ForeignKey(
                "reports.id",
                name=op.f("fk_report_signatures_report_id_reports"),
                ondelete="CASCADE",
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_signatures")),
    )


def downgrade() -> None:
    op.drop_table("report_signatures")
    op.drop_table("entry_signatures")
