"""Moderation policy that needs no Discord: who counts as a moderator, when a repeat offender is
timed out, which rule a removal notice cites.

These were decided inside Discord code; here they are plain functions of plain values, so each
rule is named, has one home and is tested on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from db.guild_settings import GuildSettings
from db.rules import Rule

REPEAT_REMOVALS = 2  # takedown-list removals within the window that earn the repeat timeout
# Words that make a server rule the one a removal notice points to.
TAKEDOWN_RULE_WORDS = ("deepfake", "edit", "sexual", "nsfw")


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """What decides whether a member is a moderator, read off a fetched member."""

    manage_messages: bool
    manage_guild: bool
    administrator: bool
    role_ids: Collection[int]


def counts_as_moderator(standing: MemberStanding, mod_role_id: int | None) -> bool:
    """Manage Messages, an admin, or the server's mod role."""
    if standing.manage_messages or standing.manage_guild or standing.administrator:
        return True
    return mod_role_id is not None and mod_role_id in standing.role_ids


def counts_as_admin(standing: MemberStanding) -> bool:
    return standing.manage_guild or standing.administrator


def repeat_timeout_minutes(settings: GuildSettings, removals: int) -> int | None:
    """Minutes to time an author out after `removals` takedown-list removals within the
    server's repeat window (this one included), or None when no timeout is due."""
    if not settings.timeout_on_repeat_minutes or removals < REPEAT_REMOVALS:
        return None
    return settings.timeout_on_repeat_minutes


def takedown_rule(rules: Sequence[Rule]) -> Rule | None:
    """The first rule that speaks of deepfakes, edits or sexual content, for a removal notice."""
    for rule in rules:
        text = f"{rule.title} {rule.body}".lower()
        if any(word in text for word in TAKEDOWN_RULE_WORDS):
            return rule
    return None


def removal_notice(guild_name: str, rule: Rule | None) -> str:
    """What the author of a removed takedown-list match is told by DM."""
    cited = f" (see rule {rule.position}: {rule.title})" if rule is not None else ""
    return (
        f"A message you posted in **{guild_name}** was removed: it matches an image on the "
        f"server's takedown list of abusive edits and deepfakes{cited}. If you think this is a "
        "mistake, please contact the server's moderators."
    )
