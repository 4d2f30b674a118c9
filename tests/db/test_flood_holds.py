"""Flood holds: the sliding hour, distinct messages, one hold per flood, release and ignore, and
no more removals than the limit when many writers count at once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from db import flood_holds, takedown_changes, takedowns
from db.engine import Database
from db.flood_holds import Verdict
from db.takedowns import NewEntry
from tests.db.test_takedowns import random_pdq

GUILD = 4001
OTHER = 4002
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def new_entry(database: Database, guild_id: int = GUILD) -> int:
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn,
            guild_id,
            NewEntry((random_pdq(random.Random(guild_id)),), label="meme"),
            source="hash",
            added_by=1,
        )
    return entry.id


async def count(
    database: Database, entry_id: int, message_id: int, limit: int, at: datetime, guild=GUILD
) -> Verdict:
    async with database.transaction() as conn:
        return await flood_holds.count_removal(conn, guild, entry_id, message_id, limit, at)


async def test_the_match_past_the_limit_holds_the_entry_once(database: Database) -> None:
    entry = await new_entry(database)
    verdicts = [
        await count(database, entry, 100 + n, 3, START + timedelta(minutes=n)) for n in range(6)
    ]
    assert verdicts == [Verdict.REMOVE] * 3 + [Verdict.HOLD_NOW] + [Verdict.HELD] * 2
    async with database.connect() as conn:
        hold = await flood_holds.get_hold(conn, GUILD, entry)
        held = await flood_holds.holds(conn, GUILD, "held")
    assert hold is not None and hold.held
    assert hold.held_at == START + timedelta(minutes=3)
    assert [h.entry_id for h in held] == [entry]
    # Another server counts the same entry on its own.
    assert await count(database, entry, 100, 3, START, guild=OTHER) is Verdict.REMOVE


async def test_a_message_seen_again_counts_once(database: Database) -> None:
    entry = await new_entry(database)
    for _ in range(5):
        assert await count(database, entry, 100, 2, START) is Verdict.REMOVE
    assert await count(database, entry, 101, 2, START) is Verdict.REMOVE
    assert await count(database, entry, 102, 2, START) is Verdict.HOLD_NOW


async def test_the_window_slides_matches_older_than_an_hour_stop_counting(
    database: Database,
) -> None:
    entry = await new_entry(database)
    for n in range(3):
        assert await count(database, entry, 100 + n, 3, START) is Verdict.REMOVE
    later = START + timedelta(hours=1, seconds=1)
    for n in range(3):
        assert await count(database, entry, 200 + n, 3, later) is Verdict.REMOVE
    assert await count(database, entry, 300, 3, later) is Verdict.HOLD_NOW


async def test_limit_zero_never_holds_but_an_existing_hold_stays(database: Database) -> None:
    entry = await new_entry(database)
    for n in range(50):
        assert await count(database, entry, n + 1, 0, START) is Verdict.REMOVE
    other = await new_entry(database, OTHER)
    await count(database, other, 1, 1, START, guild=OTHER)
    assert await count(database, other, 2, 1, START, guild=OTHER) is Verdict.HOLD_NOW
    assert await count(database, other, 3, 0, START, guild=OTHER) is Verdict.HELD


async def test_keep_removing_restarts_the_count_and_decides_once(database: Database) -> None:
    entry = await new_entry(database)
    for n in range(3):
        await count(database, entry, 100 + n, 2, START)
    async with database.transaction() as conn:
        released = await flood_holds.decide(conn, GUILD, entry, "counting", decided_by=7)
        again = await flood_holds.decide(conn, GUILD, entry, "ignored", decided_by=8)
    assert released is not None and released.status == "counting" and released.decided_by == 7
    assert again is None
    assert await count(database, entry, 200, 2, START) is Verdict.REMOVE
    assert await count(database, entry, 201, 2, START) is Verdict.REMOVE
    assert await count(database, entry, 202, 2, START) is Verdict.HOLD_NOW


async def test_ignoring_a_shared_entry_changes_this_servers_scope_only(
    database: Database,
) -> None:
    entry = await new_entry(database, OTHER)
    for n in range(2):
        await count(database, entry, 100 + n, 1, START)
    async with database.connect() as conn:
        before = await takedown_changes.latest_change_id(conn)
    async with database.transaction() as conn:
        ignored = await flood_holds.decide(conn, GUILD, entry, "ignored", decided_by=7)
    assert ignored is not None and ignored.status == "ignored"
    async with database.connect() as conn:
        assert await flood_holds.ignored_entries(conn, GUILD) == {entry}
        assert await flood_holds.ignored_entries(conn, OTHER) == frozenset()
        changes = await takedown_changes.changes_since(conn, before)
    assert changes.scopes == {GUILD}


async def test_removing_the_entry_removes_its_holds(database: Database) -> None:
    entry = await new_entry(database)
    await count(database, entry, 1, 5, START)
    async with database.transaction() as conn:
        assert await takedowns.remove_entry(conn, GUILD, entry)
    async with database.connect() as conn:
        assert await flood_holds.get_hold(conn, GUILD, entry) is None
    async with database.transaction() as conn:
        assert await flood_holds.prune(conn, START + timedelta(days=1)) == 0


async def test_concurrent_writers_never_allow_more_removals_than_the_limit(
    database: Database,
) -> None:
    """Forty messages counted at once, each in its own transaction and connection (as several
    consumers and processes would): exactly the limit are removed and one holds the entry."""
    entry = await new_entry(database)
    verdicts = await asyncio.gather(
        *(count(database, entry, 1000 + n, 10, START) for n in range(40))
    )
    assert verdicts.count(Verdict.REMOVE) == 10
    assert verdicts.count(Verdict.HOLD_NOW) == 1
    assert verdicts.count(Verdict.HELD) == 29
