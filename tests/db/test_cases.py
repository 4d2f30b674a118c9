"""Cases: numbered per guild, never repeated or skipped, even with many writers at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError

from core.vocabulary import CaseKind
from db import cases
from db.engine import Database

GUILD = 1001
OTHER_GUILD = 1002


async def test_case_is_created_read_and_listed(database: Database) -> None:
    async with database.transaction() as conn:
        created = await cases.create_case(
            conn, GUILD, "takedown", user_id=7, moderator_id=8, reason="re-upload", distance=12
        )
    async with database.connect() as conn:
        listed = await cases.list_cases(conn, GUILD)
    assert listed == [created]
    assert (created.number, created.kind, created.user_id, created.distance) == (
        1,
        "takedown",
        7,
        12,
    )
    assert created.created_at.tzinfo is not None


async def test_case_numbers_are_per_guild(database: Database) -> None:
    async with database.transaction() as conn:
        first = await cases.create_case(conn, GUILD, "takedown")
        other = await cases.create_case(conn, OTHER_GUILD, "takedown")
        second = await cases.create_case(conn, GUILD, "ban")
    assert (first.number, other.number, second.number) == (1, 1, 2)


async def test_fifty_concurrent_writers_get_numbers_one_to_fifty(database: Database) -> None:
    async def write(user_id: int) -> int:
        async with database.transaction() as conn:
            case = await cases.create_case(conn, GUILD, "timeout", user_id=user_id)
            await asyncio.sleep(0)  # let the others try to interleave inside the transaction
            return case.number

    numbers = await asyncio.gather(*(write(user_id) for user_id in range(50)))
    assert sorted(numbers) == list(range(1, 51))
    async with database.connect() as conn:
        assert await cases.count_cases(conn, GUILD) == 50


async def test_failed_transaction_leaves_no_case_and_no_used_number(database: Database) -> None:
    with pytest.raises(RuntimeError, match="half-way"):
        async with database.transaction() as conn:
            await cases.create_case(conn, GUILD, "ban", user_id=5)
            raise RuntimeError("the ban request failed half-way")
    async with database.transaction() as conn:
        assert await cases.count_cases(conn, GUILD) == 0
        next_case = await cases.create_case(conn, GUILD, "ban", user_id=5)
    assert next_case.number == 1


async def test_list_filters_by_member_and_pages_newest_first(database: Database) -> None:
    async with database.transaction() as conn:
        for index in range(7):
            await cases.create_case(conn, GUILD, "takedown", user_id=1 if index % 2 else 2)
    async with database.connect() as conn:
        page_one = await cases.list_cases(conn, GUILD, user_id=2, limit=3)
        page_two = await cases.list_cases(conn, GUILD, user_id=2, limit=3, offset=3)
        total = await cases.count_cases(conn, GUILD, user_id=2)
        bans = await cases.count_cases(conn, GUILD, kinds=("ban",))
    assert [c.number for c in page_one] == [7, 5, 3]
    assert [c.number for c in page_two] == [1]
    assert (total, bans) == (4, 0)


async def test_a_case_kind_outside_the_vocabulary_is_refused(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.transaction() as conn:
            await cases.create_case(conn, GUILD, "smite", user_id=7)
    async with database.transaction() as conn:
        for kind in CaseKind:
            await cases.create_case(conn, GUILD, kind, user_id=7)
    async with database.connect() as conn:
        stored = {case.kind for case in await cases.list_cases(conn, GUILD, limit=100)}
    assert stored == {kind.value for kind in CaseKind}
