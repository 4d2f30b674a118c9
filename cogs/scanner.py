"""Hands every new and edited message to the scanner (`moderation.scanning`), and starts
catch-up when the bot connects or resumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot import Lightstick


class Scanner(commands.Cog):
    """Scans every new and edited message's media against this server's takedown lists."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self.bot.scanner.enqueue(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.bot.scanner.enqueue(payload.message)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.bot.scanner.start_catch_up()

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self.bot.scanner.start_catch_up()


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Scanner(bot))
