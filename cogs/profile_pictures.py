"""Hands members whose profile pictures may be new to `bot.profile_pictures`: on join, on a
member update (server avatar, server banner, and the account's avatar as Discord sends it to
bots, in a GUILD_MEMBER_UPDATE per shared server, also of members the bot had not cached), and
on discord.py's user update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from moderation.profile_pictures import report_uncached_member_updates

if TYPE_CHECKING:
    from bot import Lightstick


class ProfilePictureWatch(commands.Cog):
    """Checks the avatars and banners members wear against this server's takedown lists."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        report_uncached_member_updates(bot)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        await self.bot.profile_pictures.enqueue(member, joined=True)

    @commands.Cog.listener()
    async def on_member_update(self, _before: discord.Member, after: discord.Member) -> None:
        await self.bot.profile_pictures.enqueue(after)

    @commands.Cog.listener()
    async def on_uncached_member_update(self, member: discord.Member) -> None:
        """A member the bot had not cached (present before it started) was updated."""
        await self.bot.profile_pictures.enqueue(member)

    @commands.Cog.listener()
    async def on_user_update(self, _before: discord.User, after: discord.User) -> None:
        for guild in after.mutual_guilds:
            member = guild.get_member(after.id)
            if member is not None:
                await self.bot.profile_pictures.enqueue(member)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(ProfilePictureWatch(bot))
