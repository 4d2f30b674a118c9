"""A minimal extension with one slash command, for the extension-loading test."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands


class Working(commands.Cog):
    @app_commands.command(name="working", description="Proves the extension loaded")
    async def working(self, interaction) -> None:  # type: ignore[no-untyped-def]
        await interaction.response.send_message("ok", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Working())
