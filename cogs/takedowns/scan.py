"""`/takedown scan`: check a channel's recent messages against the list, with progress."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.takedowns.group import takedown
from moderation.access import moderators_only, require_moderator
from moderation.i18n import N_, Texts, member_texts
from moderation.messages import media_refs
from moderation.scanning import ScanResult

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

SCAN_LIMIT_DEFAULT = 100
SCAN_LIMIT_MAX = 1000  # messages one /takedown scan reads back
LOST_ACCESS = N_("I lost access to the channel's history")
STOPPED_ANSWERING = N_("Discord stopped answering")


@dataclass
class ScanTally:
    """What one /takedown scan read, checked and did."""

    read: int = 0
    with_media: int = 0
    files: int = 0
    unreadable: int = 0
    removed: int = 0
    flagged: int = 0
    stopped: str = ""  # why the scan stopped early (a marked sentence), if it did

    def add(self, result: ScanResult) -> None:
        self.with_media += 1
        self.files += len(result.hashed)
        self.unreadable += sum(1 for media in result.hashed if not media.hashes.hashed)
        if result.match is not None:
            if result.removed:
                self.removed += 1
            else:
                self.flagged += 1

    def progress(
        self, tr: Texts, channel: discord.abc.GuildChannel | discord.Thread, limit: int
    ) -> str:
        return tr(
            "Scanning {channel}… {read} of up to {limit} read, {media} with media, "
            "{matches} matched so far.",
            channel=channel.mention,
            read=tr.number(self.read),
            limit=tr.plural("{count} message", "{count} messages", limit),
            media=tr.number(self.with_media),
            matches=tr.number(self.removed + self.flagged),
        )

    def summary(
        self, tr: Texts, channel: discord.abc.GuildChannel | discord.Thread, limit: int
    ) -> str:
        values = {
            "channel": channel.mention,
            "media": tr.number(self.with_media),
            "files": tr.plural("{count} file", "{count} files", self.files),
        }
        lines = [
            tr.plural(
                "Scanned {count} message in {channel}: {media} had images or videos ({files}).",
                "Scanned {count} messages in {channel}: {media} had images or videos ({files}).",
                self.read,
                **values,
            )
        ]
        if self.stopped:
            lines.append(tr("Stopped early: {why}.", why=tr(self.stopped)))
        matched = self.removed + self.flagged
        if matched:
            lines.append(
                tr.plural(
                    "{count} message matched the takedown list: {removed} removed, {flagged} "
                    "sent to the moderators to review.",
                    "{count} messages matched the takedown list: {removed} removed, {flagged} "
                    "sent to the moderators to review.",
                    matched,
                    removed=tr.number(self.removed),
                    flagged=tr.number(self.flagged),
                )
            )
        else:
            lines.append(tr("Nothing matched the takedown list."))
        if self.unreadable:
            lines.append(
                tr.plural(
                    "{count} file couldn't be checked (rejected or unreadable).",
                    "{count} files couldn't be checked (rejected or unreadable).",
                    self.unreadable,
                )
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
        tr = member_texts(interaction)
        guild = member.guild
        target = channel or interaction.channel
        problem = None
        if not isinstance(target, discord.TextChannel | discord.Thread):
            problem = tr("Pick a text channel or thread to scan.")
        elif not target.permissions_for(member).read_message_history:
            problem = tr("You can't read {channel}, so you can't scan it.", channel=target.mention)
        elif not (perms := target.permissions_for(guild.me)).read_message_history or (
            not perms.view_channel
        ):
            problem = tr(
                "I can't read {channel}: give my role View Channel and Read Message History there.",
                channel=target.mention,
            )
        elif not self.bot.takedown_index.has_any(await self.bot.takedown_index.scope(guild.id)):
            problem = tr(
                "The takedown list is empty (and this server subscribes to no shared list), "
                "so there's nothing to look for. Add entries first."
            )
        if problem is not None:
            await interaction.response.send_message(
                tr("{problem} Nothing was scanned.", problem=problem), ephemeral=True
            )
            return
        assert isinstance(target, discord.TextChannel | discord.Thread)
        await interaction.response.send_message(
            tr.plural(
                "Scanning the last {count} message in {channel}…",
                "Scanning the last {count} messages in {channel}…",
                limit,
                channel=target.mention,
            ),
            ephemeral=True,
        )
        tally = await self._scan_history(tr, interaction, target, limit)
        await interaction.edit_original_response(content=tally.summary(tr, target, limit))

    async def _scan_history(
        self,
        tr: Texts,
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
                    await interaction.edit_original_response(
                        content=tally.progress(tr, channel, limit)
                    )
        except discord.Forbidden:
            tally.stopped = LOST_ACCESS
        except discord.HTTPException as exc:
            log.warning("Scan of channel %s stopped: %s", channel.id, exc)
            tally.stopped = STOPPED_ANSWERING
        return tally
