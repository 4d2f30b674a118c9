"""Small facts the bot keeps about itself, such as the fingerprint of the last command sync."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import bot_state
from db.upsert import upsert

DATABASE_ID = "database_id"


async def get_value(conn: AsyncConnection, key: str) -> str | None:
    return await conn.scalar(select(bot_state.c.value).where(bot_state.c.key == key))


async def set_value(conn: AsyncConnection, key: str, value: str) -> None:
    await conn.execute(upsert(conn, bot_state, {"key": key, "value": value}, keys=("key",)))


async def database_id(conn: AsyncConnection) -> str:
    """This database's own random name, made the first time it is asked for: what a file kept
    beside the database (the takedown index's snapshot) checks it belongs to."""
    known = await get_value(conn, DATABASE_ID)
    if known is None:
        await conn.execute(
            upsert(
                conn,
                bot_state,
                {"key": DATABASE_ID, "value": uuid.uuid4().hex},
                keys=("key",),
                update={},  # another process made it first: theirs stands
            )
        )
        known = await get_value(conn, DATABASE_ID)
    assert known is not None
    return known
