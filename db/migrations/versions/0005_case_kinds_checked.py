"""case kinds checked by the database

Case kinds became an enum (`core.vocabulary.CaseKind`); the database now refuses a kind outside
it, as it already did for report and alert statuses. The list is written out here, as it was
when this revision was made, so later changes to the enum need a revision of their own.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KINDS = (
    "takedown",
    "flag",
    "not_a_match",
    "timeout",
    "ban",
    "report_takedown",
    "report_dismissed",
    "auto_hide",
    "takedown_list",
    "settings",
    "rules",
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.create_check_constraint(
            "kind", f"kind IN ({', '.join(repr(kind) for kind in KINDS)})"
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
