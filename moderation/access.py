"""Who may do what: fans, moderators (mod role or Manage Messages) and admins (Manage Server).

Every privileged command carries `default_member_permissions` so Discord hides it from fans, and
one of these checks as well, because a server's admins can change who sees which command in
Server Settings -> Integrations. A refusal is a short, kind, private answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from moderation.i18n import N_, member_texts
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


def standing(member: discord.Member) -> MemberStanding:
    permissions = member.guild_permissions
    return MemberStanding(
        manage_messages=permissions.manage_messages,
        manage_guild=permissions.manage_guild,
        administrator=permissions.administrator,
        role_ids=frozenset(role.id for role in member.roles),
    )


def is_admin(member: discord.Member) -> bool:
    return counts_as_admin(standing(member))


async def is_moderator(bot: Lightstick, member: discord.Member) -> bool:
    settings = await bot.guild_settings.get(member.guild.id)
    return counts_as_moderator(standing(member), settings.mod_role_id)


def _member(interaction: discord.Interaction) -> discord.Member:
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise AccessDenied(interaction, SERVER_ONLY)
    return interaction.user


async def require_moderator(interaction: discord.Interaction[Lightstick]) -> discord.Member:
    member = _member(interaction)
    if not await is_moderator(interaction.client, member):
        raise AccessDenied(interaction, NOT_A_MODERATOR)
    return member


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


def public_mod_channel(channel: discord.abc.GuildChannel) -> str | None:
    """A warning when everyone can read the mod channel, else None.

    Where everyone can read it, the report queue does not name reporters: the reported member
    would learn who reported them.
    """
    if not channel.permissions_for(channel.guild.default_role).view_channel:
        return None
    return (
        f"everyone can read {channel.mention}, and alerts and reports there name who reported "
        "and show blurred previews. Hide it from @everyone and let only moderators see it"
    )
