"""Every posted image, GIF and video checked against the takedown lists, kept as hashes, and
(where the server turned explicit-image review on) scored by the classifier.

MESSAGE_CREATE / MESSAGE_UPDATE -> the media references of the message -> a bounded queue ->
download and hash (each file once) -> the guild's lists, minus its allowlist -> a weak match
confirmed by local features (`services.confirmation`) -> `bot.alerts` acts. Each file's
hashes (never the file) also go to the recent-hash store, whether or not the server's lists have
entries yet, so an entry added later sweeps the copies still up (`moderation.sweeper`); a
server with `recent_days` 0, empty lists and explicit-image review off is not hashed at all.
A file both listed and likely explicit is handled once, as a match (the stronger action), and
the rest of a message that stays up goes to `bot.explicit_review`.
The queue is bounded so a burst of uploads slows scanning down instead of dropping messages or
stalling the gateway: a full queue makes the event handler wait, not the bot.
After downtime or a reconnect, each channel is caught up from its last scanned message.
A message whose media were queued once is not queued again for the same media: catch-up reads
back messages the live scan may hold still, and an edit of a message the client no longer
caches (it keeps the newest 1,000) comes without the message as it was, so a text edit would
otherwise scan it again, and alert again on a file the bot could not check or a picture flagged
for review.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord

from db import scan_positions
from db.guild_settings import GuildSettings
from db.scan_positions import Position
from media.hashing import Outcome
from media.list_scope import ListMatch
from media.pipeline import LRU, HashedMedia, MediaRef
from moderation.messages import media_refs, where_posted
from services.confirmation import confirmed
from services.explicit_policy import reviews
from services.why import match_policy

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What scanning one message found and did."""

    hashed: tuple[HashedMedia, ...] = ()
    match: ListMatch | None = None
    removed: bool = False
    skipped: bool = False  # the channel is skipped by /config channels
    flagged: bool = False  # flagged for review as likely explicit


@dataclass(frozen=True, slots=True)
class ScanJob:
    message: discord.Message
    queued_at: float


class MessageScanner:
    """Scans every new and edited message's media against its server's takedown lists."""

    QUEUE_SIZE = 500  # messages waiting before new ones wait for room (back-pressure)
    CATCH_UP_PER_CHANNEL = 200  # messages read back per channel after downtime
    CATCH_UP_SECONDS = 300  # and no longer than this per catch-up round
    STATS_EVERY_SECONDS = 60
    POSITIONS_EVERY_SECONDS = 1.0  # scan positions are written in one batch this often
    BUSY_ATTEMPTS = 3  # a file the busy pool turns away is tried this often, waiting for room
    QUEUED_REMEMBERED = 20_000  # messages whose queued media are remembered (the newest queued)

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self.queue: asyncio.Queue[ScanJob] = asyncio.Queue(self.QUEUE_SIZE)
        self.outcomes: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self._tasks: list[asyncio.Task[None]] = []
        # channel id -> the newest message scanned there and not yet saved
        self._positions: dict[int, Position] = {}
        self._catching_up: asyncio.Task[None] | None = None
        self._last_stats = time.monotonic()
        # message id -> the keys of its media queued for a scan so far
        self._queued: LRU[int, frozenset[str]] = LRU(self.QUEUED_REMEMBERED)

    def start(self) -> None:
        consumers = self.bot.pipeline.pool.settings.workers * 2  # downloads overlap hashing
        self._tasks = [
            asyncio.create_task(self._consume(), name=f"scanner-{n}") for n in range(consumers)
        ]
        self._tasks.append(asyncio.create_task(self._save_positions(), name="scan-positions"))

    async def close(self) -> None:
        for task in [*self._tasks, self._catching_up]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush_positions()

    # -- intake ------------------------------------------------------------------------------

    async def enqueue(self, message: discord.Message) -> None:
        """Queue a new or edited message for a scan, unless none of its media are new to the
        scanner (see the module's docstring): a text edit is not scanned, an edit that added
        media is, whether or not the client still has the message as it was."""
        if message.guild is None or message.author.id == self.bot.user.id:  # type: ignore[union-attr]
            return
        keys = frozenset(ref.key for ref in media_refs(message))
        queued = self._queued.get(message.id) or frozenset()
        if keys <= queued:
            return
        self._queued.put(message.id, queued | keys)
        if self.queue.full():
            log.warning("Scan queue full (%d messages): new messages wait", self.queue.qsize())
        await self.queue.put(ScanJob(message, time.monotonic()))

    # -- scanning ----------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self.scan(job.message)
            except Exception:
                log.exception("Scanning message %s failed", job.message.id)
            finally:
                self.queue.task_done()
                self._log_stats()

    async def scan(self, message: discord.Message, *, skip_channels: bool = True) -> ScanResult:
        """Hash the message's media and hand the best match to moderation, which acts."""
        guild = message.guild
        assert guild is not None
        settings = await self.bot.guild_settings.get(guild.id)
        if skip_channels and self._skipped(message, settings):
            return ScanResult(skipped=True)
        scope = await self.bot.takedown_index.scope(guild.id)
        listed = self.bot.takedown_index.has_any(scope)
        explicit = reviews(settings, where_posted(message))
        result = ScanResult()
        if listed or explicit or settings.recent_days:
            hashed = await asyncio.gather(
                *(self._hash(ref, message, explicit) for ref in media_refs(message))
            )
            self._count(guild.id, hashed)
            result = ScanResult(hashed=tuple(hashed))
        matched: HashedMedia | None = None
        if listed:
            policy = match_policy(settings)
            for media in result.hashed:
                matches = await self.bot.takedown_index.match(media.hashes, policy, scope)
                matches = await confirmed(self.bot.db, self.bot.pipeline, media, matches)
                if matches:
                    removed = await self.bot.alerts.act_on_match(
                        message, media, matches[0], settings
                    )
                    result = ScanResult(result.hashed, matches[0], removed)
                    matched = media
                    break
        unchecked = [media for media in result.hashed if not media.hashes.hashed]
        if (listed or explicit) and unchecked and not result.removed:
            removed = await self.bot.unreadable.handle(message, unchecked, settings)
            result = ScanResult(result.hashed, result.match, removed)
        if explicit and not result.removed:
            rest = [media for media in result.hashed if media is not matched]
            flag = await self.bot.explicit_review.review(message, rest, settings)
            result = dataclasses.replace(result, flagged=flag is not None)
        if result.hashed and not result.removed:
            self._keep_recent(message, result.hashed, settings)
        self._advance(message)
        return result

    async def _hash(self, ref: MediaRef, message: discord.Message, explicit: bool) -> HashedMedia:
        """The file's hashes (with `explicit`, its explicit-image score too); while the hashing
        pool is too busy for it, wait for room and try again, so a burst slows scanning down
        instead of leaving files unchecked."""

        def busy(result: HashedMedia, attempt: int) -> None:
            log.warning(
                "Hashing pool busy for %s in message %s (attempt %d of %d): %s",
                ref.kind,
                message.id,
                attempt,
                self.BUSY_ATTEMPTS,
                result.hashes.reason,
            )

        result = await self.bot.pipeline.hash_ref_patiently(
            ref, self.BUSY_ATTEMPTS, busy, explicit=explicit
        )
        if result.busy:
            log.error(
                "Gave up hashing %s in message %s after %d attempts (the pool stayed full); "
                "the server's policy for files that could not be finished applies",
                ref.kind,
                message.id,
                self.BUSY_ATTEMPTS,
            )
        return result

    def _keep_recent(
        self, message: discord.Message, hashed: tuple[HashedMedia, ...], settings: GuildSettings
    ) -> None:
        """Hand each hashed file to the recent-hash store (written in batches, never waited
        on), so an entry added later finds the copies still up; not past `recent_days`."""
        if not settings.recent_days:
            return
        if message.created_at < datetime.now(UTC) - timedelta(days=settings.recent_days):
            return  # an old message read by /takedown scan: past what the store keeps
        assert message.guild is not None
        for number, media in enumerate(hashed):
            if media.hashes.hashed:
                self.bot.recent_hashes.keep(
                    message.guild.id,
                    message.channel.id,
                    message.id,
                    message.author.id,
                    number,
                    media.hashes,
                )

    def _skipped(self, message: discord.Message, settings: GuildSettings) -> bool:
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None)
        return (
            channel.id in settings.skipped_channel_ids or parent_id in settings.skipped_channel_ids
        )

    def _count(self, guild_id: int, hashed: list[HashedMedia]) -> None:
        for media in hashed:
            self.outcomes[guild_id][str(media.hashes.outcome)] += 1
            if media.hashes.outcome is not Outcome.HASHED:
                log.info(
                    "Media %s in guild %s %s: %s",
                    media.ref.kind,
                    guild_id,
                    media.hashes.outcome,
                    media.hashes.reason,
                )

    def _advance(self, message: discord.Message) -> None:
        """Remember the channel's newest scanned message; `flush_positions` saves it.

        One write a second for every channel instead of one per message: under a burst, a
        transaction per message costs more than the scan. A crash loses at most that second,
        and catch-up then scans those few messages again, which is harmless.
        """
        assert message.guild is not None
        saved = self._positions.get(message.channel.id)
        if saved is None or saved.message_id < message.id:
            self._positions[message.channel.id] = Position(
                message.guild.id, message.channel.id, message.id
            )

    async def _save_positions(self) -> None:
        while True:
            await asyncio.sleep(self.POSITIONS_EVERY_SECONDS)
            await self.flush_positions()

    async def flush_positions(self) -> None:
        """Write the remembered scan positions; kept for the next try if the write fails."""
        pending, self._positions = self._positions, {}
        if not pending:
            return
        try:
            async with self.bot.db.transaction() as conn:
                await scan_positions.advance_many(conn, pending.values())
        except asyncio.CancelledError:
            self._keep(pending)  # cog_unload flushes them once more
            raise
        except Exception:
            log.exception("Saving the scan positions of %d channels failed", len(pending))
            self._keep(pending)

    def _keep(self, pending: dict[int, Position]) -> None:
        for channel_id, position in pending.items():
            newer = self._positions.get(channel_id)
            if newer is None or newer.message_id < position.message_id:
                self._positions[channel_id] = position

    def _log_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats < self.STATS_EVERY_SECONDS:
            return
        self._last_stats = now
        totals: Counter[str] = Counter()
        for counts in self.outcomes.values():
            totals.update(counts)
        log.info(
            "Scan queue depth %d; media so far: %s; hashing workers replaced: %d",
            self.queue.qsize(),
            dict(totals),
            self.bot.pipeline.pool.killed,
        )

    # -- catch-up ----------------------------------------------------------------------------

    def start_catch_up(self) -> None:
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self.catch_up(), name="scanner-catch-up")

    async def catch_up(self) -> None:
        """Scan what was posted since the last scanned message of each channel (bounded).

        A channel with no position yet (created, or first given media, while the bot was away)
        is read from the guild's newest position: snowflakes order messages across channels.
        A channel whose newest message is not past its position costs no request.
        """
        deadline = time.monotonic() + self.CATCH_UP_SECONDS
        await self.flush_positions()  # so the messages scanned just now are not read back
        for guild in list(self.bot.guilds):
            async with self.bot.db.connect() as conn:
                positions = await scan_positions.guild_positions(conn, guild.id)
            if not positions:
                continue  # the first start in this guild: there is no "since" to catch up from
            newest = max(positions.values())
            since = {
                channel.id: newest
                for channel in (*guild.text_channels, *guild.threads)
                if (channel.last_message_id or 0) > newest
            }
            since.update(positions)
            for channel_id, last_id in since.items():
                channel = guild.get_channel_or_thread(channel_id)
                if not isinstance(channel, discord.TextChannel | discord.Thread):
                    continue
                if channel.last_message_id is not None and channel.last_message_id <= last_id:
                    continue
                if not channel.permissions_for(guild.me).read_message_history:
                    continue
                if time.monotonic() > deadline:
                    log.warning("Catch-up stopped at its time limit; later messages stay unscanned")
                    return
                await self._catch_up_channel(channel, last_id)

    async def _catch_up_channel(
        self, channel: discord.TextChannel | discord.Thread, last_id: int
    ) -> None:
        try:
            async for message in channel.history(
                limit=self.CATCH_UP_PER_CHANNEL, after=discord.Object(last_id), oldest_first=True
            ):
                await self.enqueue(message)
        except discord.Forbidden:
            log.info("No Read Message History in channel %s: catch-up skipped", channel.id)
        except discord.HTTPException as exc:
            log.warning("Catch-up of channel %s failed: %s", channel.id, exc)
