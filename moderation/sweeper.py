"""Sweep on add: an entry added to a takedown list also removes the copies posted before it.

Every path that adds an entry (`/takedown add`, the message menu, **Take down** on a report or
an alert, an import, a new entry on a subscribed list, in this process or another) writes the
change log, and the live index tells `Sweeper.entries_added` once it has applied it. The sweeper
works out which of this process's servers use the entries' lists (the owner and subscribers)
and, one sweep at a time, in the background:

1. reads the server's recent hashes (`services.recent_hashes`, the last `recent_days`, up to a
   minute after the entries were indexed: later posts met them when scanned) and finds the
   files that match a new entry, with the live matcher and the server's policy;
2. fetches each message: one deleted already (404) is skipped quietly;
3. acts as live matching would (`MatchAlerts.act`): a confident match is removed with its
   case and no alert of its own, anything weaker is alerted for review as usual;
4. posts one summary to the mod channel: "also removed 3 earlier copies in #general, #fan-art".

A server that subscribes to another server's list is swept the same way for that list's
entries (`list_subscribed`), with its own summary. A list may hold 100,000 entries; past a
few thousand hashes the sweep matches each stored file with the live index instead of
filtering for each entry (`services.recent_hashes`), so it costs at most one match per file
the server posted in its `recent_days`.

Pending work is one set of entry ids and one of subscribed lists per server (a server's later
additions join its waiting sweep), so the queue is bounded by the number of servers, and a
sweep never holds up live scanning: it shares nothing with the scan queue but the index's read
lock, which it takes one file at a time, as an upload does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import discord

from db import takedowns
from db.cases import Case
from db.guild_settings import GuildSettings
from media.pipeline import HashedMedia
from moderation.i18n import Texts, guild_texts
from moderation.messages import media_refs
from moderation.mod_channel import mod_channel
from moderation.scanning import match_policy
from moderation.shown_text import shorten
from services.recent_hashes import EarlierCopy

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

SPARED_KEPT = 1000  # messages a moderator added from, left to them (the newest are remembered)
SHOWN_CHANNELS = 10  # channels named in a summary; more are counted
SHOWN_CASES = 20
# A post made after a sweep was asked for met its entries when scanned, so the sweep stops at
# that moment; plus this margin, for Discord's clock against ours and a scan queued behind a
# burst (a copy posted within it may be both matched and swept: the sweep finds it gone).
AFTER_REQUEST = timedelta(minutes=1)


@dataclass
class SweepResult:
    """What one sweep of one server did, for the summary, the log and the tests."""

    guild_id: int
    entries: tuple[int, ...]
    subscribed: str | None = None  # the share code of the list subscribed to, for that sweep
    removed: list[tuple[int, Case]] = field(default_factory=list)  # (channel id, case)
    flagged: int = 0  # left up and alerted for review
    gone: int = 0  # deleted already (or its media edited away): skipped
    unreadable: int = 0  # Discord would not let the bot read it


class Sweeper:
    """`bot.sweeper`: sweeps each server's recent posts for entries just added."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._new: set[int] = set()  # entries added, their servers not yet worked out
        self._new_at = datetime.now(UTC)  # when the last of them was indexed
        self._pending: dict[int, set[int]] = {}  # guild id -> entries to sweep for
        self._pending_at: dict[int, datetime] = {}  # guild id -> when the last was indexed
        # guild id -> list id -> (share code, when it was subscribed to)
        self._subscribed: dict[int, dict[int, tuple[str, datetime]]] = {}
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        # (guild id, message id) of messages a moderator added entries from: the answer offers
        # to delete each one, so a sweep leaves them to the moderator.
        self._spared: OrderedDict[tuple[int, int], None] = OrderedDict()

    def start(self) -> None:
        self.bot.takedown_index.on_added(self.entries_added)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="sweeper")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def entries_added(self, entry_ids: Collection[int]) -> None:
        """Sweep for these entries in every server of this process that uses their lists.

        Called by the live index for every added entry, whatever added it: nothing else needs
        to call it (calling it again only sweeps again)."""
        self._new.update(entry_ids)
        self._new_at = datetime.now(UTC)
        self._wake.set()

    def list_subscribed(self, guild_id: int, list_id: int, share_code: str) -> None:
        """Sweep the server's recent posts for the entries of a list it has just subscribed
        to (called once the live index knows the subscription)."""
        self._subscribed.setdefault(guild_id, {})[list_id] = (share_code, datetime.now(UTC))
        self._wake.set()

    def spare(self, guild_id: int, message_id: int) -> None:
        """Leave this message to the moderator: its media is being added to the list from it,
        and they are asked whether to delete it (before the entry is saved, so no sweep races)."""
        self._spared[(guild_id, message_id)] = None
        while len(self._spared) > SPARED_KEPT:
            self._spared.popitem(last=False)

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._new or self._pending or self._subscribed:
                try:
                    if self._new:
                        await self._route(self._take_new(), self._new_at)
                    elif self._pending:
                        guild_id = next(iter(self._pending))
                        asked = self._pending_at.pop(guild_id, None)
                        await self.sweep(guild_id, self._pending.pop(guild_id), asked=asked)
                    else:
                        guild_id = next(iter(self._subscribed))
                        for list_id, (code, asked) in self._subscribed.pop(guild_id).items():
                            await self.sweep_list(guild_id, list_id, code, asked=asked)
                except Exception:
                    log.exception("A sweep for earlier copies failed")

    def _take_new(self) -> set[int]:
        new, self._new = self._new, set()
        return new

    async def _route(self, entry_ids: Iterable[int], indexed_at: datetime) -> None:
        """Queue the entries for each of this process's servers that matches their lists."""
        lists: dict[int, set[int]] = {}
        for entry_id in entry_ids:
            list_id = self.bot.takedown_index.list_of(entry_id)
            if list_id is not None:  # removed again since
                lists.setdefault(list_id, set()).add(entry_id)
        if not lists:
            return
        async with self.bot.db.connect() as conn:
            using = await takedowns.guilds_using_lists(conn, lists)
        for guild_id, list_ids in using.items():
            if self.bot.get_guild(guild_id) is None:
                continue  # another process's server (or one the bot left)
            entries = set().union(*(lists[list_id] for list_id in list_ids))
            self._pending.setdefault(guild_id, set()).update(entries)
            self._pending_at[guild_id] = max(indexed_at, self._pending_at.get(guild_id, indexed_at))

    # -- one server --------------------------------------------------------------------------

    async def sweep(
        self, guild_id: int, entry_ids: Collection[int], *, asked: datetime | None = None
    ) -> SweepResult:
        """Remove (or flag) the server's recent posts that match `entry_ids`; one summary.
        `asked`: when the entries were indexed (posts made after that met them when scanned)."""
        find = partial(self.bot.recent_hashes.earlier_copies, guild_id, entry_ids)
        return await self._sweep(SweepResult(guild_id, tuple(sorted(entry_ids))), find, asked)

    async def sweep_list(
        self, guild_id: int, list_id: int, share_code: str, *, asked: datetime | None = None
    ) -> SweepResult:
        """Remove (or flag) the server's recent posts that match a list it subscribed to (at
        `asked`)."""
        find = partial(self.bot.recent_hashes.copies_on_list, guild_id, list_id)
        return await self._sweep(SweepResult(guild_id, (), subscribed=share_code), find, asked)

    async def _sweep(
        self,
        result: SweepResult,
        find: Callable[..., Awaitable[list[EarlierCopy]]],
        asked: datetime | None,
    ) -> SweepResult:
        guild = self.bot.get_guild(result.guild_id)
        settings = await self.bot.guild_settings.get(result.guild_id)
        if guild is None or not settings.recent_days:
            return result
        scope = await self.bot.takedown_index.scope(result.guild_id)
        since = datetime.now(UTC) - timedelta(days=settings.recent_days)
        until = asked + AFTER_REQUEST if asked is not None else None
        copies = await find(since, match_policy(settings), scope, until=until)
        await self._act_on(guild, settings, copies, result)
        return result

    async def _act_on(
        self,
        guild: discord.Guild,
        settings: GuildSettings,
        copies: Iterable[EarlierCopy],
        result: SweepResult,
    ) -> None:
        """Act on each copy still up, log the sweep, and post its summary if it removed any."""
        guild_id = guild.id
        for copy in _best_per_message(copies):
            if copy.stored.channel_id in settings.skipped_channel_ids:
                continue
            if (guild_id, copy.stored.message_id) in self._spared:
                continue
            await self._act(guild, settings, copy, result)
        log.info(
            "Swept guild %s for %s: %d earlier copies removed, %d flagged, "
            "%d already gone, %d unreadable",
            guild_id,
            f"{len(result.entries)} new entries"
            if result.subscribed is None
            else f"the entries of subscribed list {result.subscribed}",
            len(result.removed),
            result.flagged,
            result.gone,
            result.unreadable,
        )
        if result.removed or result.unreadable:
            await self._post_summary(guild, settings, result)

    async def _act(
        self, guild: discord.Guild, settings: GuildSettings, copy: EarlierCopy, result: SweepResult
    ) -> None:
        try:
            message = await self._fetch(guild, copy.stored.channel_id, copy.stored.message_id)
        except discord.HTTPException as exc:
            log.warning(
                "Sweep: could not read message %s in channel %s: %s",
                copy.stored.message_id,
                copy.stored.channel_id,
                exc,
            )
            result.unreadable += 1
            return
        refs = media_refs(message) if message is not None else []
        if message is None or not refs:
            result.gone += 1
            return
        ref = refs[copy.stored.media_index] if copy.stored.media_index < len(refs) else refs[0]
        acted = await self.bot.alerts.act(
            message, HashedMedia(ref, copy.media), copy.found, settings, announce_removal=False
        )
        if acted.removed:
            result.removed.append((message.channel.id, acted.case))
        else:
            result.flagged += 1

    async def _fetch(
        self, guild: discord.Guild, channel_id: int, message_id: int
    ) -> discord.Message | None:
        channel = guild.get_channel_or_thread(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            channel = self.bot.get_partial_messageable(channel_id, guild_id=guild.id)
        try:
            return await channel.fetch_message(message_id)
        except discord.NotFound:
            return None  # deleted already: nothing to do

    async def _post_summary(
        self, guild: discord.Guild, settings: GuildSettings, result: SweepResult
    ) -> None:
        channel = mod_channel(guild, settings, f"A sweep removed {len(result.removed)} copies")
        if channel is None:
            return
        text = summary_text(guild_texts(settings.language, guild), result, settings.recent_days)
        try:
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("Could not post a sweep summary in guild %s: %s", guild.id, exc)


def _best_per_message(copies: Iterable[EarlierCopy]) -> list[EarlierCopy]:
    """One copy a message (a message with two matching files is removed once): a removal
    first, then the nearest."""
    best: dict[int, EarlierCopy] = {}
    for copy in copies:
        current = best.get(copy.stored.message_id)
        if current is None or _rank(copy) < _rank(current):
            best[copy.stored.message_id] = copy
    return sorted(best.values(), key=lambda c: c.stored.message_id)


def _rank(copy: EarlierCopy) -> tuple[bool, int]:
    return (not copy.found.removes, copy.found.match.distance)


def summary_text(tr: Texts, result: SweepResult, days: int) -> str:
    """The one message a sweep posts, in the server's language."""
    channels = list(dict.fromkeys(f"<#{channel_id}>" for channel_id, _ in result.removed))
    where = ", ".join(channels[:SHOWN_CHANNELS])
    if len(channels) > SHOWN_CHANNELS:
        where = tr.plural(
            "{channels} and {count} more channel",
            "{channels} and {count} more channels",
            len(channels) - SHOWN_CHANNELS,
            channels=where,
        )
    count = len(result.removed)
    period = tr.plural("{count} day", "{count} days", days)
    lines = []
    if count and result.subscribed is not None:
        lines.append(
            tr.plural(
                "🧹 This server subscribed to list `{code}`: I also removed {count} earlier copy "
                "of its entries posted in the last {period}, in {channels}.",
                "🧹 This server subscribed to list `{code}`: I also removed {count} earlier "
                "copies of its entries posted in the last {period}, in {channels}.",
                count,
                code=result.subscribed,
                period=period,
                channels=where,
            )
        )
    elif count and len(result.entries) == 1:
        lines.append(
            tr.plural(
                "🧹 Takedown-list entry #{entry} was added: I also removed {count} earlier copy "
                "of it posted in the last {period}, in {channels}.",
                "🧹 Takedown-list entry #{entry} was added: I also removed {count} earlier copies "
                "of it posted in the last {period}, in {channels}.",
                count,
                entry=result.entries[0],
                period=period,
                channels=where,
            )
        )
    elif count:
        lines.append(
            tr.plural(
                "🧹 {added}: I also removed {count} earlier copy posted in the last {period}, "
                "in {channels}.",
                "🧹 {added}: I also removed {count} earlier copies posted in the last {period}, "
                "in {channels}.",
                count,
                added=tr.plural(
                    "{count} takedown-list entry was added",
                    "{count} takedown-list entries were added",
                    len(result.entries),
                ),
                period=period,
                channels=where,
            )
        )
    if count:
        numbers = ", ".join(f"#{case.number}" for _, case in result.removed[:SHOWN_CASES])
        if count > SHOWN_CASES:
            numbers += ", …"
        lines.append(tr("Cases: {numbers} (see `/cases list`).", numbers=numbers))
    if result.flagged:
        lines.append(
            tr.plural(
                "{count} possible copy is left up for your review: see its alert.",
                "{count} possible copies are left up for your review: see their alerts.",
                result.flagged,
            )
        )
    if result.gone:
        lines.append(
            tr.plural(
                "{count} more copy was deleted already.",
                "{count} more copies were deleted already.",
                result.gone,
            )
        )
    if result.unreadable:
        lines.append(
            tr.plural(
                "⚠️ I couldn't read {count} earlier message that may be a copy of a new entry; "
                "`/config check` shows what I'm missing.",
                "⚠️ I couldn't read {count} earlier messages that may be copies of a new entry; "
                "`/config check` shows what I'm missing.",
                result.unreadable,
            )
        )
    return shorten("\n".join(lines), 2000)


def copies_text(tr: Texts, days: int) -> str:
    """What adding entries does to copies, for the answer: those already up are swept, later
    ones removed as they are posted (earlier ones only while the server keeps recent hashes)."""
    if not days:
        return tr(
            "Later copies are removed as they are posted; earlier ones are not looked for "
            "(`/config takedowns recent_days` is 0)."
        )
    return tr.plural(
        "Copies posted here in the last {count} day are being looked for and removed too (one "
        "summary in the mod channel), and later ones are removed as they are posted.",
        "Copies posted here in the last {count} days are being looked for and removed too (one "
        "summary in the mod channel), and later ones are removed as they are posted.",
        days,
    )
