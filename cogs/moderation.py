"""The persistent buttons on match alerts (on messages and on profile pictures), unreadable-file
alerts, held entries, explicit-image review messages and report queue messages, and the queue's
upkeep.

The buttons are `DynamicItem`s whose custom id holds the record id, so they work after a
restart; registering them here makes every alert and queue message ever posted clickable. A
queue message someone deletes is forgotten, to be posted again by the next report or `/cases list`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from moderation.alert_buttons import AlertButton, ProfileAlertButton
from moderation.evidence_buttons import EvidenceButton
from moderation.explicit_buttons import FlagButton
from moderation.hold_buttons import HoldButton
from moderation.report_buttons import ReportButton
from moderation.unreadable import FileButton
from moderation.unreadable_pictures import MemberButton

if TYPE_CHECKING:
    from bot import Lightstick

BUTTONS = (
    AlertButton,
    ProfileAlertButton,
    ReportButton,
    FileButton,
    MemberButton,
    HoldButton,
    EvidenceButton,
    FlagButton,
)


class Moderation(commands.Cog):
    """Alerts and the report queue: their buttons, and queue messages deleted by someone."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*BUTTONS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*BUTTONS)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.bot.report_queue.forget_queue_messages(
            payload.guild_id, payload.channel_id, [payload.message_id]
        )

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.bot.report_queue.forget_queue_messages(
            payload.guild_id, payload.channel_id, payload.message_ids
        )


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Moderation(bot))
