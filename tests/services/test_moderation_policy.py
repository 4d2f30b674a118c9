"""Moderation policy without Discord: who is a moderator, when a repeat offender is timed out,
and which rule a removal notice cites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.guild_settings import GuildSettings
from db.rules import Rule
from services.moderation_policy import (
    AuthorAction,
    MemberStanding,
    counts_as_admin,
    counts_as_moderator,
    established_reporter,
    rank_refusal,
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


def test_the_rule_a_notice_cites_is_the_first_about_deepfakes_or_sexual_edits() -> None:
    rules = [
        rule(1, "Be kind"),
        rule(2, "No NSFW edits", "Sexual edits of idols"),
        rule(3, "Deepfakes"),
    ]
    assert takedown_rule(rules) == rules[1]
    assert takedown_rule([rule(1, "Be kind"), rule(2, "No spam")]) is None


def ranked(top_role: int, **flags: bool) -> MemberStanding:
    return MemberStanding(
        manage_messages=flags.pop("manage_messages", False),
        manage_guild=False,
        administrator=flags.pop("administrator", False),
        role_ids=frozenset(flags.pop("roles", ())),  # type: ignore[arg-type]
        top_role=top_role,
        **flags,
    )


MODERATOR = ranked(5, manage_messages=True, ban_members=True, moderate_members=True)


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        (None, None),  # no longer in the server: a ban by id is fine
        (ranked(1), None),
        (ranked(5), "not below yours"),
        (ranked(9), "not below yours"),
        (ranked(0, owner=True), "they own the server"),
        (ranked(1, administrator=True), "they are an Administrator"),
        (ranked(1, manage_messages=True), "they are a moderator"),
        (ranked(1, roles=(MOD_ROLE,)), "they are a moderator"),
    ],
)
def test_a_moderator_acts_only_below_their_rank(
    target: MemberStanding | None, refusal: str | None
) -> None:
    for action in AuthorAction:
        found = rank_refusal(MODERATOR, target, action, MOD_ROLE)
        assert found == refusal if refusal is None else refusal in str(found)


def test_a_moderator_needs_the_permission_for_the_action_themselves() -> None:
    timeouts_only = ranked(5, roles=(MOD_ROLE,), moderate_members=True)
    assert rank_refusal(timeouts_only, ranked(1), AuthorAction.TIMEOUT, MOD_ROLE) is None
    refusal = rank_refusal(timeouts_only, ranked(1), AuthorAction.BAN, MOD_ROLE)
    assert refusal is not None and "**Ban Members**" in str(refusal)
    admin = ranked(5, administrator=True)
    assert rank_refusal(admin, ranked(1), AuthorAction.BAN, MOD_ROLE) is None


def test_only_the_owner_acts_on_admins_and_moderators() -> None:
    owner = ranked(0, owner=True)
    for target in (ranked(9, administrator=True), ranked(1, roles=(MOD_ROLE,))):
        assert rank_refusal(owner, target, AuthorAction.BAN, MOD_ROLE) is None
        assert rank_refusal(ranked(10, administrator=True), target, AuthorAction.BAN, MOD_ROLE)


def test_only_established_accounts_and_members_count_towards_auto_hide() -> None:
    settings = GuildSettings(guild_id=1)  # 30 days an account, 7 days a member
    old, fresh = NOW - timedelta(days=400), NOW - timedelta(days=2)
    assert established_reporter(settings, old, NOW - timedelta(days=8), NOW)
    assert not established_reporter(settings, fresh, NOW - timedelta(days=8), NOW)
    assert not established_reporter(settings, old, NOW - timedelta(hours=1), NOW)
    assert not established_reporter(settings, old, None, NOW)
    anyone = GuildSettings(guild_id=1, auto_hide_min_account_days=0, auto_hide_min_member_days=0)
    assert established_reporter(anyone, NOW, None, NOW)
