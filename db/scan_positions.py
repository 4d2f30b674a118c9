"""The last message scanned in each channel, so the bot can catch up after downtime.

Positions only move forward: a late, out-of-order scan result never rewinds a channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import scan_positions
from db.upsert import dialect_insert


class Position(NamedTuple):
    guild_id: int
    channel_id: int
    message_id: int


async def advance_many(conn: AsyncConnection, positions: Iterable[Position]) -> None:
    """Move each channel's position forward to its message, in one statement."""
    rows = [
        {"channel_id": p.channel_id, "guild_id": p.guild_id, "last_message_id": p.message_id}
        for p in positions
    ]
    if not rows:
        return
    statement = dialect_insert(conn, scan_positions)
    statement = statement.on_conflict_do_update(
        index_elements=["channel_id"],
        set_={
            "last_message_id": statement.excluded.last_message_id,
            "updated_at": statement.excluded.updated_at,
        },
        where=scan_positions.c.last_message_id < statement.excluded.last_message_id,
    )
    await conn.execute(statement, rows)


async def guild_positions(conn: AsyncConnection, guild_id: int) -> dict[int, int]:
    rows = await conn.execute(
        select(scan_positions.c.channel_id, scan_positions.c.last_message_id).where(
            scan_positions.c.guild_id == guild_id
        )
    )
    return {channel_id: message_id for channel_id, message_id in rows}
