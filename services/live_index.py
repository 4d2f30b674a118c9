"""The in-memory takedown index, kept in step with the database.

Loaded whole at start, then moved forward by the change log (`db.takedown_changes`): after a
local change (so matching sees it at once) and on a short poll (so a change made by another
shard process arrives within a second or so). Each guild's scope (own list, live subscriptions,
allowlist, shared entries it stopped using) is cached and dropped when a change touches it.

The heavy work on a large index runs in threads, so the event loop keeps serving commands
and heartbeats: matching (an upload's lookups read every row once, 2-4 ms at a million
hashes), loading it at start (each batch read from the database is turned into arrays in a
thread while the next is read; ten million hashes in bench/RESULTS.md), and applying a bulk
import (its tables are rebuilt, about a second at a million). The compiled scan and numpy
release the GIL while they work, so matches run side by side, one per core. A change waits
for the matches under way and holds back new ones (`ReadWriteLock`), so no match sees the index
half changed; a small index is matched on the loop, where a thread's hand-over would cost more
than the match.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import HEX_DIGITS, IndexRows
from core.memory import release_freed_memory
from db import allowlist, bot_state, flood_holds, takedown_changes, takedowns
from db.engine import Database
from media.hashing import MediaHashes
from media.index_snapshot import (
    SnapshotError,
    SnapshotHeader,
    read_snapshot,
    write_snapshot,
)
from media.list_scope import (
    Columns,
    IndexLoader,
    ListIndex,
    ListMatch,
    ListScope,
    Near,
    nearest_entries,
)
from media.matching import MatchPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReadWriteLock:
    """Any number of readers, or one writer; a writer waiting holds back new readers, so a
    stream of matches can't keep a change out."""

    def __init__(self) -> None:
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            async with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self._changed:
            self._writers_waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            async with self._changed:
                self._writing = False
                self._changed.notify_all()


class LiveTakedownIndex:
    POLL_SECONDS = 1.0
    # The change log is pruned this often, keeping this long: every process reads it each
    # second, so a week is far behind any that runs; one that fell behind it reloads whole.
    PRUNE_EVERY_SECONDS = 3600.0
    CHANGES_KEPT = timedelta(days=7)
    # From this many hashes a match runs in a thread (measured with the compiled scan: an image
    # took 0.3-0.4 ms to match against 10,000 PDQ and pHash hashes, 0.9 ms against 100,000, 3-9
    # ms against a million; a thread's hand-over costs about 0.1 ms).
    THREAD_FROM = 20_000
    # From this many hashes a load from the database writes a snapshot for the next start
    # (a million take several seconds to read and convert; a snapshot, well under one).
    SNAPSHOT_FROM = 100_000
    # A change id read past before its transaction committed is asked for again this long; one
    # that never appears was rolled back. At most this many are remembered.
    GAP_PATIENCE_SECONDS = 120.0
    MAX_GAPS = 1_000

    def __init__(self, database: Database, snapshot: Path | None = None) -> None:
        self.database = database
        self.snapshot = snapshot  # where the snapshot of the index's rows is kept, if anywhere
        self._snapshotting: asyncio.Task[None] | None = None
        self.loaded_from = ""  # "database" or "snapshot", once loaded
        self._gaps: dict[int, float] = {}  # change ids not seen yet -> when first missed
        self.index = ListIndex()
        self.last_change = 0
        self._scopes: dict[int, ListScope] = {}
        self._lock = asyncio.Lock()  # one load or sync at a time
        self._in_use = ReadWriteLock()  # matches read the index; load and sync change it
        threads = max(1, min(4, os.cpu_count() or 1))
        self._worker = ThreadPoolExecutor(threads, thread_name_prefix="takedown-index")
        self._poller: asyncio.Task[None] | None = None
        self._added_listeners: list[Callable[[frozenset[int]], None]] = []

    def on_added(self, listener: Callable[[frozenset[int]], None]) -> None:
        """Call `listener` with the entries each sync added (or gave more hashes), once they
        match: whichever path and process added them (a command, a button, an import, a
        subscribed list), the change log brings them here once."""
        self._added_listeners.append(listener)

    async def load(self) -> None:
        async with self._lock:
            await self._load()

    async def _load(self) -> None:
        """Build the index from the snapshot, if one may be trusted, brought forward by the
        change log; else from the tables, then snapshot it (the caller holds the lock)."""
        started = time.perf_counter()
        async with self.database.transaction() as conn:  # the database's name may be new
            database_id = await bot_state.database_id(conn)
            latest = await takedown_changes.latest_change_id(conn)
            oldest = await takedown_changes.oldest_change_id(conn)
        restored = await self._restore(database_id, latest, oldest)
        from_snapshot = restored is not None
        if restored is not None:
            header, loader = restored
            last_change, source = header.last_change, "snapshot"
        else:
            loader, last_change, source = IndexLoader(), latest, "database"
            async with self.database.connect() as conn:
                for algorithm in HEX_DIGITS:
                    await self._read_into(loader, conn, algorithm)
        hashes = loader.count
        keep = self.snapshot is not None and not from_snapshot and hashes >= self.SNAPSHOT_FROM
        columns = await self._in_thread(loader.arrays) if keep else None  # joined once
        loaded = await self._in_thread(loader.build)
        async with self._in_use.writing():
            self.index = loaded
            self._scopes.clear()
        del restored, loader, loaded
        await self._in_thread(release_freed_memory)  # the rows read and the build's arrays
        self.last_change, self.loaded_from = last_change, source
        await self._note_recent_gaps(oldest)
        applied = await self._sync() if from_snapshot else 0
        log.info(
            "Takedown index loaded from its %s: %d entries, %d hashes, %d later changes in %.2f s",
            source,
            len(self.index),
            hashes,
            applied,
            time.perf_counter() - started,
        )
        if columns is not None:
            header = SnapshotHeader(database_id, last_change)
            self._snapshotting = asyncio.create_task(self._write_snapshot(header, columns))
        elif not from_snapshot and self.snapshot is not None:
            with contextlib.suppress(OSError):  # a stale one would only be ignored again
                self.snapshot.unlink(missing_ok=True)  # too small to be worth one, or stale

    async def _note_recent_gaps(self, oldest: int | None) -> None:
        """At load, the ids missing just below the starting point (and above the log's pruned
        start): a transaction that took one may commit after the rows were read."""
        self._gaps.clear()
        low = max(oldest or 1, self.last_change - self.MAX_GAPS + 1)
        async with self.database.connect() as conn:
            present = await takedown_changes.ids_between(conn, low, self.last_change)
        self._note_gaps(sorted(present), low - 1)

    async def _restore(
        self, database_id: str, latest: int, oldest: int | None
    ) -> tuple[SnapshotHeader, IndexLoader] | None:
        """The snapshot's rows, when it is of this database and the change log still holds
        every change since it was taken."""
        if self.snapshot is None:
            return None
        try:
            restored = await self._in_thread(read_snapshot, self.snapshot)
        except SnapshotError:
            log.warning("Ignoring the takedown index's snapshot", exc_info=True)
            return None
        if restored is None:
            return None
        header, _ = restored
        if header.database_id != database_id:
            log.info("The takedown index's snapshot is of another database; not used")
        elif header.last_change > latest:
            log.warning("The takedown index's snapshot is ahead of the database; not used")
        elif oldest is not None and oldest > header.last_change + 1:
            log.info("Changes since the takedown index's snapshot were pruned; not used")
        else:
            return restored
        return None

    async def _write_snapshot(self, header: SnapshotHeader, columns: Columns) -> None:
        assert self.snapshot is not None
        started = time.perf_counter()
        try:
            await self._in_thread(write_snapshot, self.snapshot, header, columns)
        except OSError:
            log.warning("Could not write the takedown index's snapshot", exc_info=True)
        else:
            log.info("Takedown index snapshot written in %.2f s", time.perf_counter() - started)
        del columns
        await self._in_thread(release_freed_memory)  # the joined columns, written

    async def _read_into(self, loader: IndexLoader, conn: AsyncConnection, algorithm: str) -> None:
        """Read one algorithm's hashes into `loader`: each batch is turned into arrays in the
        index's thread while the driver reads the next."""
        converting: asyncio.Future[None] | None = None
        try:
            async for batch in takedowns.indexed_hash_batches(conn, algorithm):
                if converting is not None:
                    await converting
                converting = asyncio.ensure_future(self._in_thread(loader.add, algorithm, batch))
        finally:
            if converting is not None:
                await converting

    async def sync(self) -> int:
        """Apply changes written since the last sync (by any process); how many were applied.

        The hashes are read after the changes, so they are each entry's latest: dropping every
        entry a change names and adding the latest hashes of those added ends where applying
        the changes one by one would, in one step for a bulk import.
        """
        async with self._lock:
            async with self.database.connect() as conn:
                oldest = await takedown_changes.oldest_change_id(conn)
            if oldest is not None and oldest > self.last_change + 1:
                log.warning("Changes past this index were pruned; loading it again whole")
                await self._load()
                return 1
            return await self._sync()

    async def _sync(self) -> int:
        """Apply every change since the last one applied, and any read past before it was
        committed (the caller holds the lock)."""
        applied = 0
        while True:
            async with self.database.connect() as conn:
                changes = await takedown_changes.changes_since(
                    conn, self.last_change, also=self._gaps.keys()
                )
                added = changes.added
                rows = await takedowns.indexed_hashes_of(conn, added) if added else IndexRows()
            self._expire_gaps()
            if not changes.count:
                return applied
            async with self._in_use.writing():
                for guild_id in changes.scopes:
                    self._forget_scope(guild_id)
                await self._in_thread(self._apply, changes.entries, rows)
            self._note_gaps(changes.ids, self.last_change)
            self.last_change = max(self.last_change, changes.last_id)
            applied += changes.count
            if changes.added:
                for listener in self._added_listeners:
                    listener(changes.added)

    def _note_gaps(self, ids: Sequence[int], after: int) -> None:
        """Remember the ids missing among those read past `after`: their transactions may
        still commit (ids are handed out in order, but not committed in order)."""
        now = time.monotonic()
        for found in ids:
            self._gaps.pop(found, None)
        if ids and ids[-1] > after + 1:
            seen = set(ids)
            for missing in range(after + 1, ids[-1]):
                if missing not in seen:
                    self._gaps.setdefault(missing, now)

    def _expire_gaps(self) -> None:
        """Give up ids that never appeared (their transaction rolled back, or a sequence
        skipped them), after `GAP_PATIENCE_SECONDS`, and keep at most `MAX_GAPS`."""
        oldest = time.monotonic() - self.GAP_PATIENCE_SECONDS
        for missing in [gap for gap, seen in self._gaps.items() if seen < oldest]:
            del self._gaps[missing]
        while len(self._gaps) > self.MAX_GAPS:
            del self._gaps[min(self._gaps, key=self._gaps.__getitem__)]

    def _apply(self, removed: Sequence[int], added: IndexRows) -> None:
        self.index.remove_many(removed)
        self.index.add_many(added)

    async def _in_thread(self, work: Callable[..., T], *args: object) -> T:
        """Run `work` in the index's threads. Cancelled, it still waits for the thread, which
        can't be stopped: the caller's lock must be held until the index is left alone."""
        done = asyncio.get_running_loop().run_in_executor(self._worker, work, *args)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])
            raise

    def _forget_scope(self, guild_id: int | None) -> None:
        if guild_id is None:
            self._scopes.clear()
        else:
            self._scopes.pop(guild_id, None)

    async def scope(self, guild_id: int) -> ListScope:
        cached = self._scopes.get(guild_id)
        if cached is not None:
            return cached
        async with self.database.transaction() as conn:  # may create the guild's own list
            lists = await takedowns.guild_scope_lists(conn, guild_id)
            allowed = await allowlist.allowed_hashes(conn, guild_id)
            ignored = await flood_holds.ignored_entries(conn, guild_id)
        scope = ListScope(lists=lists, allowed=tuple(a.hash for a in allowed), ignored=ignored)
        self._scopes[guild_id] = scope
        return scope

    def has_any(self, scope: ListScope) -> bool:
        return self.index.has_any(scope)

    def list_of(self, entry_id: int) -> int | None:
        """The list an indexed entry is on; None when it is not in the index."""
        return self.index.entry_lists.get(entry_id)

    async def match(
        self, media: MediaHashes, policy: MatchPolicy, scope: ListScope
    ) -> list[ListMatch]:
        async with self._in_use.reading():
            if len(self.index.index) < self.THREAD_FROM:
                return self.index.match(media, policy, scope)
            return await self._in_thread(self.index.match, media, policy, scope)

    async def nearest(
        self, media: MediaHashes, scope: ListScope, count: int
    ) -> tuple[list[Near], bool]:
        """The scope's `count` nearest entries per algorithm, however far (for `/takedown
        why`), and whether part of the upload is allowlisted; in a thread, reading every row."""
        async with self._in_use.reading():
            return await self._in_thread(nearest_entries, self.index, media, scope, count)

    def start_polling(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="takedown-index-poll")

    async def stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def close(self) -> None:
        """Stop polling and let the index's thread end (after the work under way, if any)."""
        await self.stop_polling()
        if self._snapshotting is not None:
            await asyncio.gather(self._snapshotting, return_exceptions=True)
        self._worker.shutdown(wait=False)

    async def prune_changes(self, now: datetime | None = None) -> int:
        """Drop changes older than `CHANGES_KEPT` from the log, so it doesn't grow forever."""
        before = (now or datetime.now(UTC)) - self.CHANGES_KEPT
        async with self.database.transaction() as conn:
            pruned = await takedown_changes.prune(conn, before)
        if pruned:
            log.info("Pruned %d takedown list changes older than %s", pruned, before)
        return pruned

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        pruned_at = -self.PRUNE_EVERY_SECONDS
        while True:
            await asyncio.sleep(self.POLL_SECONDS)
            try:
                applied = await self.sync()
                if loop.time() - pruned_at >= self.PRUNE_EVERY_SECONDS:
                    pruned_at = loop.time()
                    await self.prune_changes()
            except Exception:
                log.exception("Could not apply takedown list changes; retrying")
                continue
            if applied:  # made by another process: this one's own were applied as it made them
                log.info(
                    "Takedown index: applied %d changes (through change %d)",
                    applied,
                    self.last_change,
                )
