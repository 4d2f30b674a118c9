"""Who may do what: fans, moderators (mod role or Manage Messages) and admins (Manage Server).

Every privileged command carries `default_member_permissions` so Discord hides it from fans, and
one of these checks as well, because a server's admins can change who sees which command in
Server Settings -> Integrations. A refusal is a short, kind, private answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from moderation.i18n import N_, Phrase, member_texts, phrase
from services.moderation_policy import MemberStanding, counts_as_admin, counts_as_moderator

if TYPE_CHECKING:
    from bot import Lightstick

NOT_A_MODERATOR = N_("Only this server's moderators can do that.")
NOT_AN_ADMIN = N_("Only this server's admins (Manage Server permission) can do that.")
SERVER_ONLY = N_("This works inside a server, not in DMs.")


class AccessDenied(app_commands.CheckFailure):
    """The member lacks the role or permission; the message is shown to them as it is."""

    def __init__(self, interaction: discord.Interaction, message: str) -> None:
        super().__init__(member_texts(interaction)(message))


def _standing(
    permissions: discord.Permissions, role_ids: frozenset[int], *, top_role: int, owner: bool
) -> MemberStanding:
    return MemberStanding(
        manage_messages=permissions.manage_messages,
        manage_guild=permissions.manage_guild,
        administrator=permissions.administrator,
        role_ids=role_ids,
        ban_members=permissions.ban_members,
        moderate_members=permissions.moderate_members,
        top_role=top_role,
        owner=owner,
    )


def standing(member: discord.Member) -> MemberStanding:
    return _standing(
        member.guild_permissions,
        frozenset(role.id for role in member.roles),
        top_role=member.top_role.position,
        owner=member.id == member.guild.owner_id,
    )


def is_admin(member: discord.Member) -> bool:
    return counts_as_admin(standing(member))


async def is_moderator(bot: Lightstick, member: discord.Member) -> bool:
    settings = await bot.guild_settings.get(member.guild.id)
    return counts_as_moderator(standing(member), settings.mod_role_id)


async def fetched_is_moderator(bot: Lightstick, guild: discord.Guild, user_id: int) -> bool:
    """Whether a member counts as a moderator, asked of Discord rather than the member cache.

    Without member chunking the cache holds almost nobody, and a member missing from it would
    pass for a fan. Someone no longer in the server is no moderator; any other error from
    Discord is raised, so the caller fails closed (does nothing it can't justify).
    """
    try:
        member = await guild.fetch_member(user_id)
    except discord.NotFound:
        return False
    return await is_moderator(bot, member)


def _member(interaction: discord.Interaction) -> discord.Member:
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise AccessDenied(interaction, SERVER_ONLY)
    return interaction.user


async def require_moderator(interaction: discord.Interaction[Lightstick]) -> discord.Member:
    member = _member(interaction)
    if not await is_moderator(interaction.client, member):
        raise AccessDenied(interaction, NOT_A_MODERATOR)
    return member


async def moderator_clicking(interaction: discord.Interaction[Lightstick]) -> discord.Member | None:
    """The moderator who clicked a button; None once anyone else has been told why not,
    privately."""
    try:
        return await require_moderator(interaction)
    except AccessDenied as exc:
        await interaction.response.send_message(str(exc), ephemeral=True)
        return None


def require_admin(interaction: discord.Interaction) -> discord.Member:
    member = _member(interaction)
    if not is_admin(member):
        raise AccessDenied(interaction, NOT_AN_ADMIN)
    return member


def moderators_only():  # type: ignore[no-untyped-def]
    """A command check: moderators (mod role or Manage Messages) and admins pass."""

    async def predicate(interaction: discord.Interaction[Lightstick]) -> bool:
        await require_moderator(interaction)
        return True

    return app_commands.check(predicate)


def admins_only():  # type: ignore[no-untyped-def]
    """A command check: members with Manage Server pass."""

    async def predicate(interaction: discord.Interaction) -> bool:
        require_admin(interaction)
        return True

    return app_commands.check(predicate)


def role_standing(role: discord.Role) -> MemberStanding:
    """A member holding only this role (and @everyone)."""
    return _standing(role.permissions, frozenset({role.id}), top_role=role.position, owner=False)


def mod_channel_readers(channel: discord.abc.GuildChannel, mod_role_id: int | None) -> list[str]:
    """Who can read `channel` without being a moderator: roles, and members let in by name.

    A member's access is the most a single one of their roles gives (role overwrites allow over
    deny, and a role's own permission only adds), so each role is asked alone, with
    @everyone, through Discord's own computation (`permissions_for(role)`). A member let in by
    an overwrite of their own counts unless the cache knows them as a moderator (fail closed).
    """
    guild = channel.guild
    readers = [
        "@everyone" if role.is_default() else role.mention
        for role in guild.roles
        if not counts_as_moderator(role_standing(role), mod_role_id)
        and channel.permissions_for(role).view_channel
    ]
    for target, overwrite in channel.overwrites.items():
        if isinstance(target, discord.Role) or target.id == guild.me.id:
            continue
        if overwrite.view_channel is not True:
            continue
        member = guild.get_member(target.id)
        if member is None or not counts_as_moderator(standing(member), mod_role_id):
            readers.append(f"<@{target.id}>")
    return readers


READERS_NAMED = 5  # readers a warning names before "and N more"


def public_mod_channel(channel: discord.abc.GuildChannel, mod_role_id: int | None) -> Phrase | None:
    """A warning when someone who isn't a moderator can read the mod channel, else None.

    Then the report queue does not name reporters: the reported member, or a friend of theirs
    with a "Verified" role every fan holds, would learn who reported them.
    """
    readers = mod_channel_readers(channel, mod_role_id)
    if not readers:
        return None
    if len(readers) > READERS_NAMED:
        named = phrase(
            "{readers} and {count} more",
            readers=", ".join(readers[:READERS_NAMED]),
            count=len(readers) - READERS_NAMED,
        )
    else:
        named = ", ".join(readers)
    return phrase(
        "{readers} can read {channel} without being moderators, so reporters are not named there "
        "and blurred previews are seen by them. Deny them View Channel there and let only "
        "moderators see it.",
        readers=named,
        channel=channel.mention,
    )
