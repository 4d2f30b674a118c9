"""Moderation policy that needs no Discord: who counts as a moderator, whom a moderator may time
out or ban (rank), when a repeat offender is timed out, which rule a removal notice cites (its
words are the catalogs', in `moderation/actions.py`).

These were decided inside Discord code; here they are plain functions of plain values, so each
rule is named, has one home and is tested on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.phrases import N_, Phrase, phrase
from db.guild_settings import GuildSettings
from db.rules import Rule

REPEAT_REMOVALS = 2  # takedown-list removals within the window that earn the repeat timeout
# Words that make a server rule the one a removal notice points to.
TAKEDOWN_RULE_WORDS = ("deepfake", "edit", "sexual", "nsfw")


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """What decides whether a member is a moderator, and their rank, read off a fetched member.

    `top_role` is the position of their highest role (0 for @everyone alone); the owner and
    Administrators hold every permission, as Discord computes it.
    """

    manage_messages: bool
    manage_guild: bool
    administrator: bool
    role_ids: Collection[int]
    ban_members: bool = False
    moderate_members: bool = False
    top_role: int = 0
    owner: bool = False


class AuthorAction(StrEnum):
    """What a moderator does to a member from a button, and the permission it needs."""

    TIMEOUT = "time out"
    BAN = "ban"


def counts_as_moderator(standing: MemberStanding, mod_role_id: int | None) -> bool:
    """Manage Messages, an admin, or the server's mod role."""
    if standing.manage_messages or standing.manage_guild or standing.administrator:
        return True
    return mod_role_id is not None and mod_role_id in standing.role_ids


def counts_as_admin(standing: MemberStanding) -> bool:
    return standing.manage_guild or standing.administrator


def _holds(standing: MemberStanding, action: AuthorAction) -> bool:
    if standing.owner or standing.administrator:
        return True
    return standing.ban_members if action is AuthorAction.BAN else standing.moderate_members


# Why a moderator may not act, one sentence an action: each language words the two verbs its way.
NEEDS_PERMISSION = {
    AuthorAction.TIMEOUT: N_("you need the **Moderate Members** permission to time out members"),
    AuthorAction.BAN: N_("you need the **Ban Members** permission to ban members"),
}
OWNS_THE_SERVER = {
    AuthorAction.TIMEOUT: N_("they own the server, so nobody can time them out"),
    AuthorAction.BAN: N_("they own the server, so nobody can ban them"),
}
IS_AN_ADMINISTRATOR = {
    AuthorAction.TIMEOUT: N_("they are an Administrator; only the owner can time them out"),
    AuthorAction.BAN: N_("they are an Administrator; only the owner can ban them"),
}
IS_A_MODERATOR = {
    AuthorAction.TIMEOUT: N_("they are a moderator; only the owner can time them out"),
    AuthorAction.BAN: N_("they are a moderator; only the owner can ban them"),
}
NOT_BELOW_YOU = {
    AuthorAction.TIMEOUT: N_("their highest role is not below yours, so you can't time them out"),
    AuthorAction.BAN: N_("their highest role is not below yours, so you can't ban them"),
}


def rank_refusal(
    moderator: MemberStanding,
    target: MemberStanding | None,
    action: AuthorAction,
    mod_role_id: int | None,
) -> Phrase | None:
    """Why `moderator` may not `action` the member `target` (None: not in the server), or None.

    As Red's `respect_hierarchy`: the moderator needs the Discord permission themselves, and
    acts only on members below their own highest role, never on the owner, an Administrator or
    another moderator; only the owner stands above that. Without it, a fan's report of an admin
    and a trial moderator's click would ban the admin, since the bot's own role outranks them.
    """
    if not _holds(moderator, action):
        return phrase(NEEDS_PERMISSION[action])
    if target is None or moderator.owner:
        return None
    if target.owner:
        return phrase(OWNS_THE_SERVER[action])
    if target.administrator:
        return phrase(IS_AN_ADMINISTRATOR[action])
    if counts_as_moderator(target, mod_role_id):
        return phrase(IS_A_MODERATOR[action])
    if target.top_role >= moderator.top_role:
        return phrase(NOT_BELOW_YOU[action])
    return None


def established_reporter(
    settings: GuildSettings, created_at: datetime, joined_at: datetime | None, now: datetime
) -> bool:
    """Whether a reporter counts towards auto-hide: an account and a membership old enough, so
    a handful of fresh accounts can't brigade a message away. An unknown join date doesn't
    count."""
    if now - created_at < timedelta(days=settings.auto_hide_min_account_days):
        return False
    if settings.auto_hide_min_member_days == 0:
        return True
    return joined_at is not None and now - joined_at >= timedelta(
        days=settings.auto_hide_min_member_days
    )


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
