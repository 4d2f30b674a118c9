"""Privacy: `/forget` deletes what the bot holds about a member, and a server the bot leaves is
deleted a set time later (by the daily retention job, `services/retention.py`).

Why an admin command and not a member's own: a member who asks a server to be forgotten asks
its admins, who answer for the server's records; the reports and alerts about someone are also
what a moderator might still need, so deleting them is the admins' decision.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from core.vocabulary import CaseKind
from db import cases, retention
from db.retention import Forgotten
from moderation.access import admins_only
from moderation.actions import delete_message
from moderation.i18n import member_texts

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


class Privacy(commands.Cog):
    """Forget a member; remember when the bot left a server, so its data can end."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._departed: set[int] | None = None  # servers left, read once when first needed

    @app_commands.command(
        name="forget", description="Admins: delete the reports, notes and alerts about a member"
    )
    @app_commands.describe(user="The member (or former member) to forget")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only()
    async def forget(
        self, interaction: discord.Interaction[Lightstick], user: discord.User
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        async with self.bot.db.transaction() as conn:
            forgotten = await retention.forget_member(conn, guild.id, user.id)
            case = await cases.create_case(  # by id only: no username, no content
                conn,
                guild.id,
                CaseKind.FORGOTTEN,
                user_id=user.id,
                moderator_id=interaction.user.id,
                reason=forgotten_reason(forgotten),
            )
        log.info("Forgot member %s in guild %s (case #%d)", user.id, guild.id, case.number)
        tr = member_texts(interaction)
        await interaction.response.send_message(
            tr(
                "Forgot {member}: {about} about them, {by} they filed (their notes with them) "
                "and {alerts} deleted. {cases} about them keep only their number and the "
                "member's id, as the server's audit record; this is case #{number}.",
                member=f"<@{user.id}>",
                number=case.number,
                about=tr.plural("{count} report", "{count} reports", forgotten.reports_about),
                by=tr.plural("{count} report", "{count} reports", forgotten.reports_by),
                alerts=tr.plural(  # explicit-image flags are alerts too
                    "{count} alert", "{count} alerts", forgotten.alerts + forgotten.flags
                ),
                cases=tr.plural("{count} case", "{count} cases", forgotten.cases),
            ),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        for channel_id, message_id in forgotten.queue_messages:
            channel = self.bot.get_partial_messageable(channel_id, guild_id=guild.id)
            await delete_message(channel.get_partial_message(message_id))
        for report_id in forgotten.redraw:
            await self.bot.report_queue.show(guild, report_id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        async with self.bot.db.transaction() as conn:
            await retention.record_departure(conn, guild.id, datetime.now(UTC))
        (await self._left()).add(guild.id)
        log.info(
            "Removed from guild %s; its data is deleted in %d days unless it invites me back",
            guild.id,
            self.bot.retention.DEPARTED_KEPT.days,
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._back(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Re-invited while the bot was offline: the server arrives at start, not as a join."""
        if guild.id in await self._left():
            await self._back(guild)

    async def _left(self) -> set[int]:
        if self._departed is None:
            async with self.bot.db.connect() as conn:
                self._departed = set(await retention.departed_guild_ids(conn))
        return self._departed

    async def _back(self, guild: discord.Guild) -> None:
        (await self._left()).discard(guild.id)
        async with self.bot.db.transaction() as conn:
            await retention.cancel_departure(conn, guild.id)


def forgotten_reason(forgotten: Forgotten) -> str:
    """The case's record of a /forget: counts only (the audit trail, in English like every
    case reason; what was deleted is gone, and its content is never written here)."""
    return (
        f"Forgot the member: {forgotten.reports_about} reports about them, "
        f"{forgotten.reports_by} they filed, {forgotten.alerts} alerts, "
        f"{forgotten.flags} explicit-image flags and {forgotten.recent} recent files' hashes "
        f"deleted; {forgotten.cases} earlier cases about them kept with ids only"
    )


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Privacy(bot))
