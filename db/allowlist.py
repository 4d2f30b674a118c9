"""The allowlist: hashes a guild marked "Not a match", which never match there again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import Hash
from db import takedown_changes
from db.schema import allowlist
from db.upsert import upsert


@dataclass(frozen=True, slots=True)
class AllowedHash:
    guild_id: int
    hash: Hash
    decided_by: int | None
    decided_at: datetime
    entry_id: int | None


async def allow(
    conn: AsyncConnection,
    guild_id: int,
    hash_: Hash,
    *,
    decided_by: int | None,
    entry_id: int | None = None,
) -> None:
    await conn.execute(
        upsert(
            conn,
            allowlist,
            {
                "guild_id": guild_id,
                "algorithm": hash_.algorithm,
                "hash": hash_.hex,
                "decided_by": decided_by,
                "entry_id": entry_id,
            },
            keys=("guild_id", "algorithm", "hash"),
            update={},
        )
    )
    await takedown_changes.record_scope_change(conn, guild_id)


async def allowed_hashes(conn: AsyncConnection, guild_id: int) -> list[AllowedHash]:
    rows = await conn.execute(
        select(allowlist).where(allowlist.c.guild_id == guild_id).order_by(allowlist.c.id)
    )
    return [
        AllowedHash(
            guild_id=row.guild_id,
            hash=Hash(row.algorithm, row.hash),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            entry_id=row.entry_id,
        )
        for row in rows
    ]
