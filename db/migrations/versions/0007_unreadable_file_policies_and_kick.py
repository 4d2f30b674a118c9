"""policies for files the bot could not check; kick and unreadable-file cases

Each of the three kinds of "could not check it" (`media.outcomes`) gets a per-server action:
remove (and alert), alert, or ignore. Crafted files are removed by default (no real camera or
app makes them); files the bot could not finish and unsupported or corrupt ones alert. Two case
kinds join the checked list: a message removed because its file could not be checked, and a
kick (the avatar alert's button). The kinds are written out as they are at this revision.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

POLICIES = (("crafted", "remove"), ("unfinished", "alert"), ("unsupported", "alert"))
ACTIONS = ("remove", "alert", "ignore")
KINDS_BEFORE = (
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
KINDS = (*KINDS_BEFORE, "unreadable", "kick")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch_op:
        for kind, default in POLICIES:
            batch_op.add_column(
                sa.Column(f"{kind}_action", sa.String(10), nullable=False, server_default=default)
            )
        batch_op.create_check_constraint(
            "unreadable_actions",
            " AND ".join(_in(f"{kind}_action", ACTIONS) for kind, _ in POLICIES),
        )
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS_BEFORE))
    with op.batch_alter_table("guild_settings") as batch_op:
        batch_op.drop_constraint("unreadable_actions", type_="check")
        for kind, _ in reversed(POLICIES):
            batch_op.drop_column(f"{kind}_action")
