"""The live takedown index follows the change log: additions (in bulk too), removals, an entry
re-added under the same id, subscriptions, and a publisher's withdrawal reaching subscribers."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import Hash
from db import flood_holds, takedown_changes, takedowns
from db.engine import Database
from db.takedowns import NewEntry
from media.hashing import FrameHashes, MediaHashes, Outcome
from media.matching import MatchPolicy
from services.live_index import LiveTakedownIndex, ReadWriteLock

PUBLISHER = 4001
SUBSCRIBER = 4002


def random_pdq(rng: random.Random) -> Hash:
    return Hash("pdq", f"{rng.getrandbits(256):064x}")


def upload_of(value: Hash) -> MediaHashes:
    frame = FrameHashes(pdq=value, quality=100, phash=Hash("phash", "0" * 16))
    return MediaHashes(Outcome.HASHED, (frame,), kind="image")


async def matched(index: LiveTakedownIndex, guild_id: int, value: Hash) -> list[int]:
    scope = await index.scope(guild_id)
    found = await index.match(upload_of(value), MatchPolicy(), scope)
    return [m.match.entry_id for m in found]


async def sync_all(index: LiveTakedownIndex) -> None:
    while await index.sync():
        pass


async def loaded(database: Database) -> LiveTakedownIndex:
    index = LiveTakedownIndex(database)
    await index.load()
    return index


async def listed(conn: AsyncConnection, *values: Hash) -> list[int]:
    """Put each hash on the publisher's list as an entry of its own; their ids."""
    entries = [NewEntry((value,)) for value in values]
    return await takedowns.add_entries(conn, PUBLISHER, entries, source="hash", added_by=1)


async def test_added_and_removed_entries_match_and_stop_matching(database: Database) -> None:
    rng = random.Random(1)
    index = await loaded(database)
    first, second = random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        ids = await listed(conn, first, second)
    await sync_all(index)
    assert await matched(index, PUBLISHER, first) == [ids[0]]
    assert await matched(index, PUBLISHER, second) == [ids[1]]
    variant = random_pdq(rng)
    async with database.transaction() as conn:
        await takedowns.remove_entry(conn, PUBLISHER, ids[0])
        await takedowns.add_variants(conn, ids[1], [variant])
    await sync_all(index)
    assert await matched(index, PUBLISHER, first) == []
    assert await matched(index, PUBLISHER, variant) == [ids[1]]
    assert len(index.index) == 1


async def test_a_removed_id_added_again_in_one_batch_ends_up_matching(database: Database) -> None:
    rng = random.Random(2)
    index = await loaded(database)
    old, new = random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        (entry_id,) = await listed(conn, old)
        await takedowns.remove_entry(conn, PUBLISHER, entry_id)
        (again,) = await listed(conn, new)
    await sync_all(index)
    assert await matched(index, PUBLISHER, new) == [again]
    assert await matched(index, PUBLISHER, old) == []


async def test_a_withdrawn_entry_stops_matching_for_subscribers(database: Database) -> None:
    rng = random.Random(3)
    index = LiveTakedownIndex(database)
    await index.load()
    value = random_pdq(rng)
    async with database.transaction() as conn:
        shared = await takedowns.set_shared(conn, PUBLISHER, True)
        entry = await takedowns.add_entry(
            conn, PUBLISHER, NewEntry((value,)), source="hash", added_by=1
        )
    await sync_all(index)
    assert await matched(index, SUBSCRIBER, value) == []
    async with database.transaction() as conn:
        await takedowns.subscribe(conn, SUBSCRIBER, shared.id, "flag", created_by=2)
    await sync_all(index)
    (found,) = await index.match(upload_of(value), MatchPolicy(), await index.scope(SUBSCRIBER))
    assert found.match.entry_id == entry.id and found.action == "flag" and not found.removes
    async with database.transaction() as conn:
        await takedowns.remove_entry(conn, PUBLISHER, entry.id)
    await sync_all(index)
    assert await matched(index, SUBSCRIBER, value) == []


async def test_a_bulk_import_larger_than_one_batch_of_the_log_is_all_indexed(
    database: Database,
) -> None:
    rng = random.Random(4)
    index = LiveTakedownIndex(database)
    await index.load()
    values = [random_pdq(rng) for _ in range(50_500)]  # the log is read 50,000 changes at a time
    async with database.transaction() as conn:
        ids = await takedowns.add_entries(
            conn, PUBLISHER, [NewEntry((v,)) for v in values], source="import", added_by=1
        )
    await sync_all(index)
    assert len(index.index) == len(values)
    assert await matched(index, PUBLISHER, values[-1]) == [ids[-1]]
    assert await matched(index, PUBLISHER, values[0]) == [ids[0]]


async def test_matches_in_the_thread_never_see_the_index_half_changed(database: Database) -> None:
    """A large index is matched in a thread while changes rebuild its tables on the loop:
    every match finds its entry, whichever side of a change it lands on."""
    rng = random.Random(5)
    index = LiveTakedownIndex(database)
    index.THREAD_FROM = 0  # every match in the thread, whatever the size
    await index.load()
    values = [random_pdq(rng) for _ in range(2000)]
    async with database.transaction() as conn:
        ids = await takedowns.add_entries(
            conn, PUBLISHER, [NewEntry((v,)) for v in values], source="hash", added_by=1
        )
    await sync_all(index)

    grown = asyncio.Event()

    async def grow() -> None:
        for _ in range(4):  # each batch is large enough to rebuild the index's tables
            batch = [NewEntry((random_pdq(rng),)) for _ in range(5000)]
            async with database.transaction() as conn:
                await takedowns.add_entries(conn, PUBLISHER, batch, source="hash", added_by=1)
            await index.sync()
        grown.set()

    async def look() -> list[tuple[int, list[int]]]:
        seen = []
        while not grown.is_set():
            pick = rng.randrange(len(values))
            seen.append((pick, await matched(index, PUBLISHER, values[pick])))
        return seen

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL between the threads as often as it can
    try:
        seen, _ = await asyncio.gather(look(), grow())
    finally:
        sys.setswitchinterval(switching)
    assert any(thread.name.startswith("takedown-index") for thread in threading.enumerate())
    assert len(seen) > 20
    assert [found for _, found in seen] == [[ids[pick]] for pick, _ in seen]
    assert len(index.index) == 22_000
    await index.close()


async def test_matches_share_the_index_and_a_change_waiting_holds_back_new_ones() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    hold = asyncio.Event()

    async def read(name: str, wait: bool = False) -> None:
        async with lock.reading():
            events.append(f"{name} in")
            if wait:
                await hold.wait()
        events.append(f"{name} out")

    async def write() -> None:
        async with lock.writing():
            events.append("change in")
            await asyncio.sleep(0)
        events.append("change out")

    first = [asyncio.create_task(read(name, wait=True)) for name in ("a", "b")]
    await asyncio.sleep(0.01)  # both hold the lock together
    change = asyncio.create_task(write())
    await asyncio.sleep(0.01)  # waits for a and b
    late = asyncio.create_task(read("c"))
    await asyncio.sleep(0.01)  # waits behind the change
    assert events == ["a in", "b in"]
    hold.set()
    await asyncio.gather(*first, change, late)
    assert events == ["a in", "b in", "a out", "b out", "change in", "change out", "c in", "c out"]


async def test_a_cancelled_match_keeps_changes_out_until_its_thread_is_done(
    database: Database,
) -> None:
    """The thread can't be stopped: a match cancelled mid-way must not let a change in while
    the thread still reads the index."""
    index = LiveTakedownIndex(database)
    index.THREAD_FROM = 0
    await index.load()
    reading = threading.Event()
    finish = threading.Event()

    def slow_read() -> str:
        reading.set()
        finish.wait(5)
        return "read"

    async def match_slowly() -> str:
        async with index._in_use.reading():
            return await index._in_thread(slow_read)

    match = asyncio.create_task(match_slowly())
    await asyncio.to_thread(reading.wait, 5)
    match.cancel()
    async with database.transaction() as conn:
        await takedowns.add_entry(
            conn, PUBLISHER, NewEntry((random_pdq(random.Random(6)),)), source="hash", added_by=1
        )
    change = asyncio.create_task(index.sync())  # applying it needs the write lock
    await asyncio.sleep(0.1)
    assert not change.done() and not match.done()  # both wait for the thread
    finish.set()
    assert await change == 1
    with pytest.raises(asyncio.CancelledError):
        await match
    await index.close()


async def test_the_change_log_is_pruned_and_an_index_left_behind_reloads_whole(
    database: Database,
) -> None:
    rng = random.Random(7)
    ahead, behind = await loaded(database), await loaded(database)
    first, second = random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        (kept_id,) = await listed(conn, first)
        (gone_id,) = await listed(conn, second)
        await takedowns.remove_entry(conn, PUBLISHER, gone_id)
    await sync_all(ahead)
    assert await ahead.prune_changes() == 0  # nothing is a week old yet
    later = datetime.now(UTC) + LiveTakedownIndex.CHANGES_KEPT + timedelta(minutes=1)
    assert await ahead.prune_changes(now=later) == 2  # the newest change (the removal) stays
    async with database.connect() as conn:
        assert (await takedown_changes.changes_since(conn, 0)).count == 1

    # `behind` never read those changes: it notices the gap and loads again from the tables.
    async with database.transaction() as conn:
        await listed(conn, random_pdq(rng))
    await sync_all(behind)
    assert await matched(behind, PUBLISHER, first) == [kept_id]
    assert await matched(behind, PUBLISHER, second) == []


async def test_an_entry_a_subscriber_stopped_using_no_longer_matches_there_only(
    database: Database,
) -> None:
    """A flood hold's "Stop using this entry" on a shared entry: the subscriber's scope drops it
    (through the change log, as another process would see it); the publisher keeps matching."""
    rng = random.Random(4)
    index = await loaded(database)
    value, other = random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        shared = await takedowns.set_shared(conn, PUBLISHER, True)
        held, kept = await listed(conn, value, other)
        await takedowns.subscribe(conn, SUBSCRIBER, shared.id, "remove", created_by=2)
        for message_id in (1, 2):
            await flood_holds.count_removal(conn, SUBSCRIBER, held, message_id, 1)
    await sync_all(index)
    assert await matched(index, SUBSCRIBER, value) == [held]
    async with database.transaction() as conn:
        assert await flood_holds.decide(conn, SUBSCRIBER, held, "ignored", decided_by=2)
    await sync_all(index)
    assert await matched(index, SUBSCRIBER, value) == []
    assert await matched(index, SUBSCRIBER, other) == [kept]
    assert await matched(index, PUBLISHER, value) == [held]


@pytest.mark.postgres
async def test_a_change_committed_after_a_later_one_is_applied_all_the_same(
    postgres_url: str,
) -> None:
    """Two writers at once on PostgreSQL: the first takes change id n and commits after the
    second (n + 1) has been read; the index asks for n again until it comes."""
    rng = random.Random(21)
    database = await Database.open(postgres_url)
    try:
        async with database.transaction() as conn:
            await listed(conn, random_pdq(rng))  # the list exists before the race
        index = await loaded(database)
        slow_hash, fast_hash = random_pdq(rng), random_pdq(rng)
        async with database.transaction() as slow:
            (slow_id,) = await listed(slow, slow_hash)
            async with database.transaction() as fast:
                (fast_id,) = await listed(fast, fast_hash)
            await sync_all(index)
            assert await matched(index, PUBLISHER, fast_hash) == [fast_id]
            assert await matched(index, PUBLISHER, slow_hash) == []  # not committed yet
        await sync_all(index)
        assert await matched(index, PUBLISHER, slow_hash) == [slow_id]
        await index.close()
    finally:
        await database.close()
