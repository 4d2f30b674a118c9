"""The recent-hash store in use: the scanner's files kept in batches, and a sweep's finds.

Writing: the scanner hands every hashed file to `keep`, which only appends to a list; a task
writes the list in one transaction a second. So scanning never waits on the database, and a
burst of a thousand images is a handful of INSERTs. What a crash loses: the hashes of the
files scanned in the last second or so (those pictures can't be swept later; they were checked
against the lists when posted), which is acceptable. While the database refuses writes, rows
wait, up to `MAX_WAITING`; past that the oldest are dropped, and the log says how many.

Reading: `earlier_copies` reads a server's stored files in batches, filters them against the
new entries' hashes with numpy (`media.recent.near_rows`, in a thread) and confirms each
candidate with the live index, the same matcher and policy a new upload meets.
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
from media.recent import media_of, near_rows, records_of
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
            RecentMedia(guild_id, channel_id, message_id, author_id, media_index, frames, records)
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
    ) -> list[EarlierCopy]:
        """The server's files posted since `since` that match one of `entry_ids` (in its
        scope), the best match of each file, oldest first."""
        await self.flush()  # the last second's files too
        async with self.database.connect() as conn:
            rows = await takedowns.indexed_hashes_of(conn, entry_ids)
        hashes = [Hash(a, h) for a, h in zip(rows.algorithms, rows.hexes, strict=True)]  # type: ignore[arg-type]
        if not hashes:
            return []
        wanted = set(entry_ids)
        candidates: list[int] = []
        async with self.database.connect() as conn:
            async for batch in recent_media.hash_batches(conn, guild_id, since):
                near = await asyncio.to_thread(near_rows, batch.hashes, hashes, policy)
                candidates += [batch.ids[position] for position in near]
            stored = await recent_media.rows_by_id(conn, candidates)
        found: list[EarlierCopy] = []
        for row in stored:
            media = media_of(row.frames, row.hashes)
            matches = await self.index.match(media, policy, scope)
            best = next((m for m in matches if m.match.entry_id in wanted), None)
            if best is not None:
                found.append(EarlierCopy(row, media, best))
        return found
