"""/forget is a case: the "forgotten" case kind joins the checked list

An admin's `/forget` deletes what the bot holds about a member; like every other moderator
action it is now a numbered case (who forgot whom, and how many records went, never their
content). The constraint is written out whole, as the kinds are at this revision.

Revision ID: 0015
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0009"
branch_labels = None
depends_on = None

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
    "unreadable",
    "kick",
    "entry_held",
    "hold_released",
    "entry_stopped",
    "explicit_flag",
    "explicit_takedown",
    "not_explicit",
)
KINDS = (*KINDS_BEFORE, "forgotten")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", _in("kind", KINDS_BEFORE))
