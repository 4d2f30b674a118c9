"""The recent-hash store in use: the scanner's files kept in batches, and a sweep's finds.

Writing: the scanner hands every hashed file to `keep`, which only appends to a list; a task
writes the list in one transaction a second. So scanning never waits on the database, and a
burst of a thousand images is a handful of INSERTs. What a crash loses: the hashes of the
files scanned in the last second or so (those pictures can't be swept later; they were checked
against the lists when posted), which is acceptable. While the database refuses writes, rows
wait, up to `MAX_WAITING`; past that the oldest are dropped, and the log says how many.

Reading: `earlier_copies` reads a server's stored files in batches, filters them against the
new entries' hashes with numpy (`media.recent.near_rows`, in a thread) and confirms each
candidate with the live index, the same matcher and policy a new upload meets. The filter's
cost grows with the entries, so past `FILTER_UP_TO` hashes (an import, a large list a server
subscribes to: `copies_on_list`) every stored file is matched by the live index instead, whose
cost a file hardly grows with the list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from core.hashes import Hash
from db import recent_media, takedowns
from db.engine import Database
from db.recent_media import RecentMedia
from media.hashing import MediaHashes
from media.list_scope import ListMatch, ListScope
from media.matching import MatchPolicy
from media.recent import media_of, mirrors_of, near_rows, records_of, regions_of
from services.live_index import LiveTakedownIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EarlierCopy:
    """A stored file that matches a new entry: where it was posted, and the match."""

    stored: RecentMedia
    media: MediaHashes
    found: ListMatch


class RecentHashes:
    FLUSH_SECONDS = 1.0
    MAX_WAITING = 50_000  # files waiting for the database; past this the oldest are dropped
    # Up to this many entry hashes a sweep runs every stored file through the numpy filter
    # (about 0.27 us of CPU a stored picture per hash); past it, each stored file is matched by
    # the live index instead, as an upload is (about 0.5 ms of CPU a file against 100,000
    # hashes, 0.13 ms against 10,000), so a sweep costs at most a match per stored file however
    # large the import or the subscribed list (bench/RESULTS.md: "A new subscription").
    FILTER_UP_TO = 2_000
    PAGE = 1_000  # stored files read at a time when each is matched

    def __init__(self, database: Database, index: LiveTakedownIndex) -> None:
        self.database = database
        self.index = index
        self._waiting: list[RecentMedia] = []
        self._writer: asyncio.Task[None] | None = None

    # -- writing -----------------------------------------------------------------------------

    def keep(
        self,
        guild_id: int,
        channel_id: int,
        message_id: int,
        author_id: int,
        media_index: int,
        media: MediaHashes,
    ) -> bool:
        """Queue a hashed file's records for the next batch; whether it had any to keep."""
        packed = records_of(media)
        if packed is None:
            return False
        frames, records = packed
        self._waiting.append(
            RecentMedia(
                guild_id,
                channel_id,
                message_id,
                author_id,
                media_index,
                frames,
                records,
                regions_of(media),
                mirrors_of(media),
            )
        )
        if len(self._waiting) > self.MAX_WAITING:
            dropped = len(self._waiting) - self.MAX_WAITING
            del self._waiting[:dropped]
            log.warning("Recent-hash store: %d files' hashes dropped (the database lags)", dropped)
        return True

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_every_second(), name="recent-hashes")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await self.flush()

    async def _write_every_second(self) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_SECONDS)
            await self.flush()

    async def flush(self) -> int:
        """Write the waiting files in one transaction; kept for the next try if it fails."""
        batch, self._waiting = self._waiting, []
        if not batch:
            return 0
        try:
            async with self.database.transaction() as conn:
                await recent_media.add_many(conn, batch)
        except asyncio.CancelledError:
            self._waiting[:0] = batch
            raise
        except Exception:
            log.exception("Recent-hash store: writing %d files failed; retrying", len(batch))
            self._waiting[:0] = batch
            return 0
        return len(batch)

    # -- reading -----------------------------------------------------------------------------

    async def earlier_copies(
        self,
        guild_id: int,
        entry_ids: Collection[int],
        since: datetime,
        policy: MatchPolicy,
        scope: ListScope,
        *,
        until: datetime | None = None,
    ) -> list[EarlierCopy]:
        """The server's files posted since `since` (and before `until`, when given: those
        posted later met the entries when they were scanned) that match one of `entry_ids` (in
        its scope), the best match of each file, oldest first."""
        await self.flush()  # the last second's files too
        wanted = set(entry_ids)
        if len(wanted) > self.FILTER_UP_TO:
            return await self._match_each(guild_id, (since, until), policy, scope, wanted)
        async with self.database.connect() as conn:
            rows = await takedowns.indexed_hashes_of(conn, wanted)
        hashes = [Hash(a, h) for a, h in zip(rows.algorithms, rows.hexes, strict=True)]  # type: ignore[arg-type]
        if not hashes:
            return []
        if len(hashes) > self.FILTER_UP_TO:
            return await self._match_each(guild_id, (since, until), policy, scope, wanted)
        return await self._filtered(guild_id, hashes, (since, until), policy, scope, wanted)

    async def copies_on_list(
        self,
        guild_id: int,
        list_id: int,
        since: datetime,
        policy: MatchPolicy,
        scope: ListScope,
        *,
        until: datetime | None = None,
    ) -> list[EarlierCopy]:
        """The server's files posted since `since` (and before `until`) that match an entry of
        `list_id`, a list in its scope (one it has just subscribed to), as that list alone
        would match them."""
        action = scope.lists.get(list_id)
        if action is None:
            return []
        only = ListScope({list_id: action}, scope.allowed, scope.ignored)
        async with self.database.connect() as conn:
            entry_ids = await takedowns.enabled_entry_ids(conn, list_id)
        return await self.earlier_copies(guild_id, entry_ids, since, policy, only, until=until)

    async def _filtered(
        self,
        guild_id: int,
        hashes: list[Hash],
        posted: tuple[datetime, datetime | None],
        policy: MatchPolicy,
        scope: ListScope,
        wanted: set[int],
    ) -> list[EarlierCopy]:
        """A few entries: every stored file through the numpy filter, the few near ones
        confirmed by the live index."""
        candidates: list[int] = []
        async with self.database.connect() as conn:
            since, until = posted
            async for batch in recent_media.hash_batches(conn, guild_id, since, until=until):
                near = await asyncio.to_thread(
                    near_rows, batch.hashes, hashes, policy, batch.regions, batch.mirrors
                )
                candidates += [batch.ids[position] for position in near]
            stored = await recent_media.rows_by_id(conn, candidates)
        found: list[EarlierCopy] = []
        for row in stored:
            copy = await self._confirm(row, policy, scope, wanted)
            if copy is not None:
                found.append(copy)
        return found

    async def _match_each(
        self,
        guild_id: int,
        posted: tuple[datetime, datetime | None],
        policy: MatchPolicy,
        scope: ListScope,
        wanted: set[int],
    ) -> list[EarlierCopy]:
        """Many entries (an import, a large subscribed list): every stored file matched by the
        live index as an upload is, one at a time, read a page at a time."""
        found: list[EarlierCopy] = []
        since, until = posted
        after = (0, 0)
        while True:
            async with self.database.connect() as conn:
                page = await recent_media.file_page(
                    conn, guild_id, since, after, self.PAGE, until=until
                )
            for row_id, row in page:
                copy = await self._confirm(row, policy, scope, wanted)
                if copy is not None:
                    found.append(copy)
                await asyncio.sleep(0)  # a small index matches on the loop: let others run
                after = (row.message_id, row_id)
            if len(page) < self.PAGE:
                return found

    async def _confirm(
        self, row: RecentMedia, policy: MatchPolicy, scope: ListScope, wanted: set[int]
    ) -> EarlierCopy | None:
        """The stored file's best match among `wanted`, by the live index and its policy."""
        media = media_of(row.frames, row.hashes, row.regions, row.mirrors)
        matches = await self.index.match(media, policy, scope)
        best = next((m for m in matches if m.match.entry_id in wanted), None)
        return EarlierCopy(row, media, best) if best is not None else None
