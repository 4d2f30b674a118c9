"""Who may do what: fans, moderators (mod role or Manage Messages) and admins (Manage Server).

Every privileged command carries `default_member_permissions` so Discord hides it from fans, and
one of these checks as well, because a server's admins can change who sees which command in
Server Settings -> Integrations. A refusal is a short, kind, private answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot import Lightstick

NOT_A_MODERATOR = "Only this server's moderators can do that."
NOT_AN_ADMIN = "Only this server's admins (Manage Server permission) can do that."
SERVER_ONLY = "This works inside a server, not in DMs."


class AccessDenied(app_commands.CheckFailure):
    """The member lacks the role or permission; the message is shown to them as it is."""


def is_admin(member: discord.Member) -> bool:
    return member.guild_permissions.manage_guild or member.guild_permissions.administrator


async def is_moderator(bot: Lightstick, member: discord.Member) -> bool:
    if member.guild_permissions.manage_messages or is_admin(member):
        return True
    settings = await bot.guild_settings.get(member.guild.id)
    return settings.mod_role_id is not None and member.get_role(settings.mod_role_id) is not None


def _member(interaction: discord.Interaction) -> discord.Member:
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise AccessDenied(SERVER_ONLY)
    return interaction.user


async def require_moderator(interaction: discord.Interaction[Lightstick]) -> discord.Member:
    member = _member(interaction)
    if not await is_moderator(interaction.client, member):
        raise AccessDenied(NOT_A_MODERATOR)
    return member


def require_admin(interaction: discord.Interaction) -> discord.Member:
    member = _member(interaction)
    if not is_admin(member):
        raise AccessDenied(NOT_AN_ADMIN)
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
