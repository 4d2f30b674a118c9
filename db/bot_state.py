"""Small facts the bot keeps about itself, such as the fingerprint of the last command sync."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import bot_state
from db.upsert import upsert


async def get_value(conn: AsyncConnection, key: str) -> str | None:
    return await conn.scalar(select(bot_state.c.value).where(bot_state.c.key == key))


async def set_value(conn: AsyncConnection, key: str, value: str) -> None:
    await conn.execute(upsert(conn, bot_state, {"key": key, "value": value}, keys=("key",)))
