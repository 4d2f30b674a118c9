"""/takedown ... and the "Add to takedown list" menu: the server's list of known abusive media.

A moderator adds a known deepfake once, from an upload, a message or a hash string; its
copies posted lately are swept (`moderation.sweeper`) and the scanner removes its re-uploads.
Only hashes are kept: the media is downloaded into memory, hashed in the worker pool and
dropped, and no answer ever shows the picture. Lists travel between servers by share code,
and between platforms as hash list files (`core.hash_lists`). Every change is a case, and the
live index is synced right after the change commits, so matching sees it at once.

One cog, one `/takedown` group, written in parts: the entries (`entries`), the list as a file
(`files`), sharing between servers (`sharing`), scanning history (`scan`) and explaining a
match or a miss (`why`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.takedowns.entries import DeleteMessageButton, EntryCommands
from cogs.takedowns.files import FileCommands
from cogs.takedowns.group import takedown
from cogs.takedowns.scan import ScanCommand
from cogs.takedowns.sharing import SharingCommands
from cogs.takedowns.why import WhyCommand

if TYPE_CHECKING:
    from bot import Lightstick


class Takedowns(
    EntryCommands, FileCommands, SharingCommands, ScanCommand, WhyCommand, commands.Cog
):
    """The takedown list: add, review, import, export and share hashes of known abusive media."""

    takedown = takedown

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        # One change at a time per server in this process, so duplicate checks don't race.
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.add_menu = app_commands.ContextMenu(
            name="Add to takedown list", callback=self.add_from_menu
        )
        self.add_menu.guild_only = True
        self.add_menu.default_permissions = discord.Permissions(manage_messages=True)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.add_menu)
        self.bot.add_dynamic_items(DeleteMessageButton)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.add_menu.name, type=self.add_menu.type)
        self.bot.remove_dynamic_items(DeleteMessageButton)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Takedowns(bot))
