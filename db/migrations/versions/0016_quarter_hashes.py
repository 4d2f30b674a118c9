"""quarter hashes: an entry's variants may hold the PDQ of each quarter of its picture

A sticker, an emoji or a caption over a listed picture moves its whole-picture hashes out of
reach, but most of its quarters keep theirs (`media.hashing.region_hashes`). An entry made from
a still image now keeps them as variants of the algorithm "pdq_region", which the index looks
up apart from whole pictures (a match through one only alerts, and the local features may
confirm it). A report and an explicit-image flag keep them too, for the entry **Take down**
makes. Entries made before this revision have none (their pictures are not kept).

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("entry_hashes", "report_hashes", "explicit_flag_hashes")
BEFORE = ("pdq", "phash")
AFTER = (*BEFORE, "pdq_region")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _check_algorithms(values: tuple[str, ...]) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint("algorithm", type_="check")
            batch_op.create_check_constraint("algorithm", _in("algorithm", values))


def upgrade() -> None:
    _check_algorithms(AFTER)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE algorithm = 'pdq_region'")
    _check_algorithms(BEFORE)
