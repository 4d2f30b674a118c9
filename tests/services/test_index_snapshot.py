"""A large takedown index loads from its snapshot, brought forward by the change log, and only
when the snapshot can be trusted: of this database, with every later change still in the log,
and readable. Anything else loads from the tables, as if there were no snapshot."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.hashes import Hash
from db import takedowns
from db.engine import Database
from db.takedowns import NewEntry
from media.index_snapshot import SnapshotError, read_snapshot
from services.live_index import LiveTakedownIndex
from tests.services.test_live_index import PUBLISHER, listed, matched, random_pdq


async def loaded(database: Database, snapshot: Path) -> LiveTakedownIndex:
    index = LiveTakedownIndex(database, snapshot)
    index.SNAPSHOT_FROM = 2  # this test's lists are small; a real one is 100,000 hashes
    await index.load()
    await index.close()  # waits for the snapshot to be written
    return index


async def test_a_snapshot_is_loaded_and_brought_forward_by_later_changes(
    database: Database, tmp_path: Path
) -> None:
    rng = random.Random(11)
    kept, removed, later = random_pdq(rng), random_pdq(rng), random_pdq(rng)
    async with database.transaction() as conn:
        kept_id, removed_id = await listed(conn, kept, removed)
    snapshot = tmp_path / "index.npz"
    assert (await loaded(database, snapshot)).loaded_from == "database"
    header, loader = read_snapshot(snapshot) or pytest.fail("no snapshot was written")
    assert loader.count == 2

    async with database.transaction() as conn:  # changes after the snapshot
        await takedowns.remove_entry(conn, PUBLISHER, removed_id)
        (later_id,) = await listed(conn, later)
    index = await loaded(database, snapshot)
    assert index.loaded_from == "snapshot"
    assert index.last_change > header.last_change
    assert await matched(index, PUBLISHER, kept) == [kept_id]
    assert await matched(index, PUBLISHER, removed) == []
    assert await matched(index, PUBLISHER, later) == [later_id]
    # Loaded from the snapshot, it isn't written again: the file is still the first one.
    assert read_snapshot(snapshot)[0] == header  # type: ignore[index]


async def test_a_snapshot_keeps_an_entrys_crop_phashes_apart_from_its_own(
    database: Database, tmp_path: Path
) -> None:
    """Through a crop's pHash alone a match only alerts (`media.matching`): a snapshot that
    mixed them with the entry's own would make them remove again after a restart."""
    rng = random.Random(14)
    own, crop = Hash("phash", "3c" * 8), Hash("phash", "0f" * 8)
    async with database.transaction() as conn:
        entry, _ = await takedowns.add_entries(
            conn,
            PUBLISHER,
            [NewEntry((random_pdq(rng), own), variants=(crop,)), NewEntry((random_pdq(rng),))],
            source="upload",
            added_by=1,
        )
    snapshot = tmp_path / "index.npz"
    await loaded(database, snapshot)
    index = await loaded(database, snapshot)
    assert index.loaded_from == "snapshot"
    parts = index.index.index.indexes
    assert parts["phash"].query(own, 0) == [(entry, 0)] and parts["phash"].query(crop, 0) == []
    assert parts["phash_variant"].query(crop, 0) == [(entry, 0)]


async def test_a_snapshot_of_another_database_is_not_used(
    database: Database, tmp_path: Path
) -> None:
    rng = random.Random(12)
    theirs = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        async with theirs.transaction() as conn:
            await listed(conn, random_pdq(rng), random_pdq(rng))
        snapshot = tmp_path / "index.npz"
        await loaded(theirs, snapshot)
    finally:
        await theirs.close()
    ours = random_pdq(rng)
    async with database.transaction() as conn:
        (ours_id,) = await listed(conn, ours)
    index = await loaded(database, snapshot)
    assert index.loaded_from == "database"
    assert await matched(index, PUBLISHER, ours) == [ours_id]
    assert len(index.index) == 1  # none of the other database's entries
    assert not snapshot.exists()  # one entry is too few to keep a snapshot of: the stale one goes


async def test_a_snapshot_older_than_the_kept_changes_is_not_used(
    database: Database, tmp_path: Path
) -> None:
    rng = random.Random(13)
    async with database.transaction() as conn:
        first_ids = await listed(conn, random_pdq(rng), random_pdq(rng))
    snapshot = tmp_path / "index.npz"
    await loaded(database, snapshot)
    gone = random_pdq(rng)
    async with database.transaction() as conn:
        (gone_id,) = await listed(conn, gone)
        await takedowns.remove_entry(conn, PUBLISHER, gone_id)
        await takedowns.remove_entry(conn, PUBLISHER, first_ids[0])
    later = datetime.now(UTC) + LiveTakedownIndex.CHANGES_KEPT * 2
    assert await LiveTakedownIndex(database).prune_changes(now=later) > 0
    index = await loaded(database, snapshot)
    assert index.loaded_from == "database"
    assert len(index.index) == 1
    assert await matched(index, PUBLISHER, gone) == []


async def test_a_damaged_snapshot_is_reported_and_the_tables_are_read(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(14)
    values = [random_pdq(rng) for _ in range(3)]
    async with database.transaction() as conn:
        ids = await listed(conn, *values)
    snapshot = tmp_path / "index.npz"
    await loaded(database, snapshot)
    whole = snapshot.read_bytes()
    snapshot.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SnapshotError):
        read_snapshot(snapshot)
    index = await loaded(database, snapshot)
    assert index.loaded_from == "database"
    assert "Ignoring the takedown index's snapshot" in caplog.text
    assert [await matched(index, PUBLISHER, value) for value in values] == [[i] for i in ids]
    assert read_snapshot(snapshot) is not None  # written anew, whole
