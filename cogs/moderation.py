"""The one place that acts: cases, the moderators' view of them, and (later) alerts and buttons.

Every action, automatic or by a moderator, is recorded with `db.cases.create_case` inside the
same transaction as the change it records, so the audit trail can't be skipped.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.access import moderators_only
from cogs.pagination import send_pages
from db import cases as cases_db
from db.cases import Case

if TYPE_CHECKING:
    from bot import Lightstick

CASE_KIND_NAMES = {
    "takedown": "Takedown",
    "flag": "Flagged match",
    "not_a_match": "Not a match",
    "timeout": "Timeout",
    "ban": "Ban",
    "report_takedown": "Report: taken down",
    "report_dismissed": "Report: dismissed",
    "auto_hide": "Hidden after reports",
    "takedown_list": "Takedown list change",
    "settings": "Settings change",
    "rules": "Rules change",
}


def describe_case(case: Case) -> str:
    kind = CASE_KIND_NAMES.get(case.kind, case.kind.replace("_", " ").capitalize())
    parts = [f"**#{case.number} · {kind}** · <t:{int(case.created_at.timestamp())}:R>"]
    if case.user_id:
        parts.append(f"Member: <@{case.user_id}>")
    if case.moderator_id:
        parts.append(f"By: <@{case.moderator_id}>")
    if case.entry_id is not None:
        distance = f" at distance {case.distance}" if case.distance is not None else ""
        parts.append(f"Entry {case.entry_id}{distance}")
    if case.report_id is not None:
        parts.append(f"Report id {case.report_id}")
    line = " · ".join(parts)
    return f"{line}\n{case.reason[:300]}" if case.reason else line


class Moderation(commands.Cog):
    """Cases: the numbered record of every action Lightstick and the moderators took."""

    CASES_PER_PAGE = 8  # keeps a page well under an embed's 4096-character description

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    @app_commands.command(name="cases", description="Moderators: the record of actions taken")
    @app_commands.describe(user="Only the cases about this member")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def cases(
        self, interaction: discord.Interaction[Lightstick], user: discord.User | None = None
    ) -> None:
        assert interaction.guild is not None
        guild_id = interaction.guild.id
        user_id = user.id if user else None
        async with self.bot.db.connect() as conn:
            total = await cases_db.count_cases(conn, guild_id, user_id=user_id)
        if total == 0:
            whom = f" about {user.mention}" if user else ""
            await interaction.response.send_message(f"No cases{whom} yet.", ephemeral=True)
            return
        pages = math.ceil(total / self.CASES_PER_PAGE)
        title = f"Cases about {user}" if user else f"Cases in {interaction.guild.name}"

        async def render(page: int) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await cases_db.list_cases(
                    conn,
                    guild_id,
                    user_id=user_id,
                    limit=self.CASES_PER_PAGE,
                    offset=page * self.CASES_PER_PAGE,
                )
            embed = discord.Embed(
                title=title,
                description="\n\n".join(describe_case(case) for case in found),
                colour=discord.Colour.dark_grey(),
            )
            embed.set_footer(text=f"{total} case{'s' if total != 1 else ''} · newest first")
            return embed

        await send_pages(interaction, pages, render)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Moderation(bot))
