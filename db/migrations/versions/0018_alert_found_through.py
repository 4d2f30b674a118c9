"""match alerts say through what a match was found

A match through a quarter of the picture, one of the crops an entry keeps, or a picture found
inside the upload (a screenshot, story or collage) only alerts, however near: `found_through`
keeps which, so the alert can tell the moderators why a near match was not removed. Alerts
written before this revision have none (shown as before).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FOUND_THROUGH = ("quarter", "crop", "inside")


def upgrade() -> None:
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.add_column(sa.Column("found_through", sa.String(10), nullable=True))
        batch_op.create_check_constraint(
            "found_through",
            "found_through IS NULL OR found_through IN "
            f"({', '.join(repr(value) for value in FOUND_THROUGH)})",
        )


def downgrade() -> None:
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.drop_constraint("found_through", type_="check")
        batch_op.drop_column("found_through")
