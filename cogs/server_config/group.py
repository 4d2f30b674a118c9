"""The `/config` command group, which every part of the config cog adds to, and saving a change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from cogs.server_config.summary import settings_embed
from db.guild_settings import Exemption
from moderation.access import require_admin
from moderation.i18n import PhrasedError, member_texts

if TYPE_CHECKING:
    from bot import Lightstick

config = app_commands.Group(
    name="config",
    description="Set Lightstick up for this server",
    guild_only=True,
    default_permissions=discord.Permissions(manage_guild=True),
)


class SavesSettings:
    """Mixed into the config cog: save validated changes as one case and answer."""

    bot: Lightstick

    async def _apply(
        self,
        interaction: discord.Interaction[Lightstick],
        changes: dict[str, Any],
        skip: dict[int, bool] | None = None,
        notes: tuple[str, ...] = (),
        exempt: dict[Exemption, bool] | None = None,
    ) -> None:
        """Save validated changes as one case and answer with what changed (and `notes`)."""
        member = require_admin(interaction)
        assert interaction.guild is not None
        tr = member_texts(interaction)
        if not changes and not skip and not exempt:
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            await interaction.response.send_message(
                tr("Pick at least one option to change. The current settings:"),
                embed=settings_embed(tr, interaction.guild, settings),
                ephemeral=True,
            )
            return
        try:
            before, after = await self.bot.guild_settings.change(
                interaction.guild.id,
                moderator_id=member.id,
                changes=changes,
                skip=skip,
                exempt=exempt,
            )
        except PhrasedError as exc:
            await interaction.response.send_message(
                tr("That wasn't saved: {reason}. Nothing changed.", reason=tr.read(exc.phrase)),
                ephemeral=True,
            )
            return
        answer = tr("Saved.") if before != after else tr("Those were already the settings.")
        await interaction.response.send_message(
            "\n".join((answer, *notes)),
            embed=settings_embed(tr, interaction.guild, after),
            ephemeral=True,
        )
