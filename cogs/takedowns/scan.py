"""`/takedown scan`: check a channel's recent messages against the list, with progress."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.takedowns.group import takedown
from cogs.takedowns.texts import plural
from moderation.access import moderators_only, require_moderator
from moderation.messages import media_refs
from moderation.scanning import ScanResult

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

SCAN_LIMIT_DEFAULT = 100
SCAN_LIMIT_MAX = 1000  # messages one /takedown scan reads back


@dataclass
class ScanTally:
    """What one /takedown scan read, checked and did."""

    read: int = 0
    with_media: int = 0
    files: int = 0
    unreadable: int = 0
    removed: int = 0
    flagged: int = 0
    stopped: str = ""

    def add(self, result: ScanResult) -> None:
        self.with_media += 1
        self.files += len(result.hashed)
        self.unreadable += sum(1 for media in result.hashed if not media.hashes.hashed)
        if result.match is not None:
            if result.removed:
                self.removed += 1
            else:
                self.flagged += 1

    def progress(self, channel: discord.abc.GuildChannel | discord.Thread, limit: int) -> str:
        return (
            f"Scanning {channel.mention}… {self.read:,} of up to {limit:,} messages read, "
            f"{plural(self.with_media, 'with media', 'with media')}, "
            f"{plural(self.removed + self.flagged, 'match', 'matches')} so far."
        )

    def summary(self, channel: discord.abc.GuildChannel | discord.Thread, limit: int) -> str:
        lines = [
            f"Scanned {plural(self.read, 'message')} in {channel.mention}"
            + (f" (stopped early: {self.stopped})" if self.stopped else "")
            + f": {self.with_media:,} had images or videos ({plural(self.files, 'file')})."
        ]
        matched = self.removed + self.flagged
        if matched:
            lines.append(
                f"{plural(matched, 'message')} matched the takedown list: "
                f"{self.removed:,} removed, {self.flagged:,} sent to the moderators to review."
            )
        else:
            lines.append("Nothing matched the takedown list.")
        if self.unreadable:
            lines.append(
                f"{plural(self.unreadable, 'file')} couldn't be checked (rejected or unreadable)."
            )
        return "\n".join(lines)


class ScanCommand:
    """Mixed into the takedowns cog: scanning history on request."""

    bot: Lightstick
    PROGRESS_SECONDS = 2.0  # how often the scan's answer is edited with its progress

    # -- scanning ----------------------------------------------------------------------------

    @takedown.command(name="scan", description="Check recent messages against the list")
    @app_commands.describe(
        channel="The channel to scan (default: this one)",
        limit=f"How many recent messages to check (default {SCAN_LIMIT_DEFAULT})",
    )
    @moderators_only()
    async def scan(
        self,
        interaction: discord.Interaction[Lightstick],
        channel: discord.TextChannel | discord.Thread | None = None,
        limit: app_commands.Range[int, 1, SCAN_LIMIT_MAX] = SCAN_LIMIT_DEFAULT,
    ) -> None:
        member = await require_moderator(interaction)
        guild = member.guild
        target = channel or interaction.channel
        problem = None
        if not isinstance(target, discord.TextChannel | discord.Thread):
            problem = "Pick a text channel or thread to scan."
        elif not target.permissions_for(member).read_message_history:
            problem = f"You can't read {target.mention}, so you can't scan it."
        elif not (perms := target.permissions_for(guild.me)).read_message_history or (
            not perms.view_channel
        ):
            problem = (
                f"I can't read {target.mention}: give my role View Channel and "
                "Read Message History there."
            )
        elif not self.bot.takedown_index.has_any(await self.bot.takedown_index.scope(guild.id)):
            problem = (
                "The takedown list is empty (and this server subscribes to no shared list), "
                "so there's nothing to look for. Add entries first."
            )
        if problem is not None:
            await interaction.response.send_message(
                f"{problem} Nothing was scanned.", ephemeral=True
            )
            return
        assert isinstance(target, discord.TextChannel | discord.Thread)
        await interaction.response.send_message(
            f"Scanning the last {plural(limit, 'message')} in {target.mention}…", ephemeral=True
        )
        tally = await self._scan_history(interaction, target, limit)
        await interaction.edit_original_response(content=tally.summary(target, limit))

    async def _scan_history(
        self,
        interaction: discord.Interaction[Lightstick],
        channel: discord.TextChannel | discord.Thread,
        limit: int,
    ) -> ScanTally:
        tally = ScanTally()
        last_progress = time.monotonic()
        try:
            async for message in channel.history(limit=limit):
                tally.read += 1
                if message.author == self.bot.user or not media_refs(message):
                    continue
                result = await self.bot.scanner.scan(message, skip_channels=False)
                tally.add(result)
                if time.monotonic() - last_progress >= self.PROGRESS_SECONDS:
                    last_progress = time.monotonic()
                    await interaction.edit_original_response(content=tally.progress(channel, limit))
        except discord.Forbidden:
            tally.stopped = "I lost access to the channel's history"
        except discord.HTTPException as exc:
            log.warning("Scan of channel %s stopped: %s", channel.id, exc)
            tally.stopped = "Discord stopped answering"
        return tally
