"""Moderation policy without Discord: who is a moderator, when a repeat offender is timed out,
and which rule a removal notice cites."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db.guild_settings import GuildSettings
from db.rules import Rule
from services.moderation_policy import (
    MemberStanding,
    counts_as_admin,
    counts_as_moderator,
    removal_notice,
    repeat_timeout_minutes,
    takedown_rule,
)

MOD_ROLE = 555
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def standing(*, roles: tuple[int, ...] = (), **permissions: bool) -> MemberStanding:
    flags = {"manage_messages": False, "manage_guild": False, "administrator": False}
    return MemberStanding(**{**flags, **permissions}, role_ids=frozenset(roles))


@pytest.mark.parametrize(
    ("member", "mod_role", "expected"),
    [
        (standing(), MOD_ROLE, False),
        (standing(roles=(1, 2)), MOD_ROLE, False),
        (standing(roles=(MOD_ROLE,)), MOD_ROLE, True),
        (standing(roles=(MOD_ROLE,)), None, False),  # no mod role set: the role means nothing
        (standing(manage_messages=True), None, True),
        (standing(manage_guild=True), MOD_ROLE, True),
        (standing(administrator=True), None, True),
    ],
)
def test_who_counts_as_a_moderator(member: MemberStanding, mod_role: int | None, expected: bool):
    assert counts_as_moderator(member, mod_role) is expected


def test_an_admin_needs_manage_server_or_administrator() -> None:
    assert not counts_as_admin(standing(manage_messages=True, roles=(MOD_ROLE,)))
    assert counts_as_admin(standing(manage_guild=True))
    assert counts_as_admin(standing(administrator=True))


def test_a_repeat_timeout_is_due_from_the_second_removal_only_when_the_server_sets_one() -> None:
    off = GuildSettings(guild_id=1)
    on = GuildSettings(guild_id=1, timeout_on_repeat_minutes=30)
    assert repeat_timeout_minutes(off, 5) is None
    assert repeat_timeout_minutes(on, 1) is None
    assert repeat_timeout_minutes(on, 2) == 30
    assert repeat_timeout_minutes(on, 9) == 30


def rule(position: int, title: str, body: str = "") -> Rule:
    return Rule(position, 1, position, title, body, NOW)


def test_the_notice_cites_the_first_rule_about_deepfakes_or_sexual_edits() -> None:
    rules = [
        rule(1, "Be kind"),
        rule(2, "No NSFW edits", "Sexual edits of idols"),
        rule(3, "Deepfakes"),
    ]
    assert takedown_rule(rules) == rules[1]
    assert takedown_rule([rule(1, "Be kind"), rule(2, "No spam")]) is None
    notice = removal_notice("Fan Club", rules[1])
    assert "**Fan Club**" in notice and "(see rule 2: No NSFW edits)" in notice
    assert "see rule" not in removal_notice("Fan Club", None)
