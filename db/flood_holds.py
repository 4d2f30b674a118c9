"""Flood holds: an entry that removes too many different messages in a server within an hour is
held there (its matches flagged for review, not removed) until a moderator decides.

The decision for each removal is one short transaction on the (guild, entry) row of
`entry_holds`: PostgreSQL locks it (SELECT ... FOR UPDATE) and SQLite's writers take turns
(BEGIN IMMEDIATE), so two shard processes or a burst of consumers counting the same entry count
one message after another. The message is counted in the same transaction that allows its
removal, so no more than `limit` removals are ever allowed within a window, whatever the
concurrency; the one past the limit holds the entry, exactly once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db import takedown_changes
from db.schema import entry_holds, flood_matches
from db.upsert import insert_or_keep

WINDOW = timedelta(hours=1)
_KEYS = ("guild_id", "entry_id")
_MATCH_KEYS = ("guild_id", "entry_id", "message_id")

# `count_removal` runs before every removal: its statements are built once, values as parameters.
_HOLD = (entry_holds.c.guild_id == bindparam("guild_id")) & (
    entry_holds.c.entry_id == bindparam("entry_id")
)
_PAIR = (flood_matches.c.guild_id == bindparam("guild_id")) & (
    flood_matches.c.entry_id == bindparam("entry_id")
)
_LOCK_STATUS = select(entry_holds.c.status).where(_HOLD).with_for_update()
_FORGET_BEFORE = delete(flood_matches).where(
    _PAIR, flood_matches.c.matched_at < bindparam("before")
)
_COUNT_OTHERS = select(func.count()).where(
    _PAIR, flood_matches.c.message_id != bindparam("message_id")
)
_FORGET_ALL = delete(flood_matches).where(_PAIR)


class Verdict(enum.StrEnum):
    REMOVE = "remove"  # within the limit: counted, remove it
    HOLD_NOW = "hold_now"  # past the limit: the entry is held from now; flag this one
    HELD = "held"  # the entry was held already: flag


@dataclass(frozen=True, slots=True)
class Hold:
    guild_id: int
    entry_id: int
    status: str  # "counting", "held" or "ignored"
    held_at: datetime | None
    notice_channel_id: int | None
    notice_message_id: int | None
    decided_by: int | None
    decided_at: datetime | None

    @property
    def held(self) -> bool:
        return self.status == "held"


def _hold(row: object) -> Hold:
    return Hold(**{name: getattr(row, name) for name in Hold.__dataclass_fields__})


async def count_removal(
    conn: AsyncConnection,
    guild_id: int,
    entry_id: int,
    message_id: int,
    limit: int,
    now: datetime | None = None,
) -> Verdict:
    """May the entry remove this message, or is it (now) held? Counts the message if so.

    Run in a transaction of its own, short, before the removal. `limit` 0 never holds (an
    existing hold still applies until a moderator releases it). A message counted already (an
    edit, a catch-up seeing it again) is not counted twice.
    """
    now = now or datetime.now(UTC)
    dialect = conn.dialect.name
    pair = {"guild_id": guild_id, "entry_id": entry_id}
    await conn.execute(insert_or_keep(dialect, entry_holds, _KEYS), pair)
    status = await conn.scalar(_LOCK_STATUS, pair)
    if status == "held":
        return Verdict.HELD
    if limit == 0 or status == "ignored":  # an ignored entry is out of scope; never held
        return Verdict.REMOVE
    await conn.execute(_FORGET_BEFORE, {**pair, "before": now - WINDOW})
    counted = await conn.scalar(_COUNT_OTHERS, {**pair, "message_id": message_id}) or 0
    if counted >= limit:
        # Rare (once a flood): built here, as UPDATE can't take bindparams named as its columns.
        key = (entry_holds.c.guild_id == guild_id) & (entry_holds.c.entry_id == entry_id)
        await conn.execute(
            update(entry_holds).where(key).values(status="held", held_at=now, decided_by=None)
        )
        await conn.execute(_FORGET_ALL, pair)
        return Verdict.HOLD_NOW
    match = {**pair, "message_id": message_id, "matched_at": now}
    await conn.execute(insert_or_keep(dialect, flood_matches, _MATCH_KEYS), match)
    return Verdict.REMOVE


async def hold_status(conn: AsyncConnection, guild_id: int, entry_id: int) -> str | None:
    return await conn.scalar(
        select(entry_holds.c.status).where(
            entry_holds.c.guild_id == guild_id, entry_holds.c.entry_id == entry_id
        )
    )


async def get_hold(conn: AsyncConnection, guild_id: int, entry_id: int) -> Hold | None:
    row = (
        await conn.execute(
            select(entry_holds).where(
                entry_holds.c.guild_id == guild_id, entry_holds.c.entry_id == entry_id
            )
        )
    ).first()
    return _hold(row) if row is not None else None


async def holds(conn: AsyncConnection, guild_id: int, status: str) -> list[Hold]:
    """The server's entries in `status` ("held" or "ignored"), oldest first."""
    rows = await conn.execute(
        select(entry_holds)
        .where(entry_holds.c.guild_id == guild_id, entry_holds.c.status == status)
        .order_by(entry_holds.c.held_at, entry_holds.c.entry_id)
    )
    return [_hold(row) for row in rows]


async def ignored_entries(conn: AsyncConnection, guild_id: int) -> frozenset[int]:
    """Entries of shared lists this server stopped using: they don't match here."""
    return frozenset(
        await conn.scalars(
            select(entry_holds.c.entry_id).where(
                entry_holds.c.guild_id == guild_id, entry_holds.c.status == "ignored"
            )
        )
    )


async def set_notice(
    conn: AsyncConnection, guild_id: int, entry_id: int, channel_id: int, message_id: int
) -> None:
    """Where the message telling the moderators about the hold was posted."""
    await conn.execute(
        update(entry_holds)
        .where(entry_holds.c.guild_id == guild_id, entry_holds.c.entry_id == entry_id)
        .values(notice_channel_id=channel_id, notice_message_id=message_id)
    )


async def decide(
    conn: AsyncConnection,
    guild_id: int,
    entry_id: int,
    status: str,
    decided_by: int,
    *,
    was: str = "held",
) -> Hold | None:
    """End a hold: "counting" (keep removing; the count restarts now) or "ignored" (stop using
    a shared list's entry here); or, `was` "ignored", use an ignored entry again ("counting").
    None when the entry is not `was` (someone already decided).

    Ignoring and using again change the server's scope, so every process's index follows.
    """
    result = await conn.execute(
        update(entry_holds)
        .where(
            entry_holds.c.guild_id == guild_id,
            entry_holds.c.entry_id == entry_id,
            entry_holds.c.status == was,
        )
        .values(status=status, decided_by=decided_by, decided_at=datetime.now(UTC))
    )
    if result.rowcount == 0:
        return None
    await conn.execute(
        delete(flood_matches).where(
            flood_matches.c.guild_id == guild_id, flood_matches.c.entry_id == entry_id
        )
    )
    if "ignored" in (status, was):
        await takedown_changes.record_scope_change(conn, guild_id)
    return await get_hold(conn, guild_id, entry_id)


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Forget counted matches older than `before` (entries that stopped matching keep none)."""
    result = await conn.execute(delete(flood_matches).where(flood_matches.c.matched_at < before))
    return result.rowcount or 0
