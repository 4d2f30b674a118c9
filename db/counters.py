"""Per-guild sequence numbers (case #12, report #7) that never repeat or skip.

One row per guild and kind, bumped by INSERT ... ON CONFLICT DO UPDATE ... RETURNING inside the
caller's transaction: a concurrent writer waits on that row (PostgreSQL) or on the write lock
(SQLite), so two transactions can never take one number, and a rolled-back one gives its back.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import guild_counters
from db.upsert import insert_for


@cache
def _bump(dialect: str) -> Any:
    """The statement, built once per dialect (a case is numbered with every removal)."""
    return (
        insert_for(dialect, guild_counters)
        .on_conflict_do_update(
            index_elements=["guild_id", "kind"],
            set_={"last_number": guild_counters.c.last_number + 1},
        )
        .returning(guild_counters.c.last_number)
    )


async def next_number(conn: AsyncConnection, guild_id: int, kind: str) -> int:
    row = {"guild_id": guild_id, "kind": kind, "last_number": 1}
    return (await conn.execute(_bump(conn.dialect.name), row)).scalar_one()
