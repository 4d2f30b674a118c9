"""The ordered log of changes to what matches, which keeps every process's index current.

Writers add a row in the same transaction as the change; `services.live_index` applies the rows
past the last one it saw, a stretch at a time (`changes_since`). Rows are small and old ones
can be pruned once every process is past them (`prune`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bulk import id_runs
from db.schema import takedown_changes, takedown_entries


@dataclass(frozen=True, slots=True)
class Changes:
    """A stretch of the log, summed up for an index: an import writes 100,000 rows, too many
    for an object each, and an index needs only which entries and scopes they touch."""

    count: int
    last_id: int  # the newest change read (the one asked from, when there were none)
    entries: frozenset[int] = frozenset()  # every entry added, given more hashes, or removed
    added: frozenset[int] = frozenset()  # of those, the ones added or given more hashes
    scopes: frozenset[int | None] = frozenset()  # guilds whose scope changed; None: everyone's
    ids: tuple[int, ...] = ()  # the changes read, in order


async def record_entries(conn: AsyncConnection, kind: str, entry_ids: Sequence[int]) -> None:
    if entry_ids:
        await conn.execute(
            takedown_changes.insert(), [{"kind": kind, "entry_id": e} for e in entry_ids]
        )


async def record_new_entries(conn: AsyncConnection, entry_ids: Sequence[int]) -> None:
    """`entry_added` rows for entries inserted in this transaction, a statement per id range.

    Copied from the entries table by the database itself: a bulk add has consecutive ids, so an
    import of 100,000 entries is one INSERT ... SELECT, not 100,000 parameter sets.
    """
    for low, high in id_runs(sorted(entry_ids)):
        await conn.execute(
            takedown_changes.insert().from_select(
                ["kind", "entry_id"],
                select(literal("entry_added"), takedown_entries.c.id)
                .where(takedown_entries.c.id.between(low, high))
                .order_by(takedown_entries.c.id),
            )
        )


async def record_scope_change(conn: AsyncConnection, guild_id: int | None) -> None:
    await conn.execute(takedown_changes.insert().values(kind="scope_changed", guild_id=guild_id))


async def changes_since(
    conn: AsyncConnection, last_id: int, limit: int = 50_000, also: Collection[int] = ()
) -> Changes:
    """The next changes after `last_id`, and any of the ids `also` that are there now, at most
    `limit` of them, summed up.

    `also` is for ids read past while their transaction was still open: on PostgreSQL two
    writers take ids 10 and 11, and 11 may commit, and be read, first.
    """
    newer = takedown_changes.c.id > last_id
    result = await conn.execute(
        select(
            takedown_changes.c.id,
            takedown_changes.c.kind,
            takedown_changes.c.entry_id,
            takedown_changes.c.guild_id,
        )
        .where(or_(newer, takedown_changes.c.id.in_(sorted(also))) if also else newer)
        .order_by(takedown_changes.c.id)
        .limit(limit)
    )
    rows = result.all()
    if not rows:
        return Changes(count=0, last_id=last_id)
    ids, kinds, entry_ids, guild_ids = zip(*rows, strict=True)  # columns: no lookup by name a row
    entries: set[int] = set()
    added: set[int] = set()
    scopes: set[int | None] = set()
    for kind, entry_id, guild_id in zip(kinds, entry_ids, guild_ids, strict=True):
        if kind == "scope_changed":
            scopes.add(guild_id)
        elif entry_id:
            entries.add(entry_id)
            if kind == "entry_added":
                added.add(entry_id)
    return Changes(len(rows), ids[-1], frozenset(entries), frozenset(added), frozenset(scopes), ids)


async def latest_change_id(conn: AsyncConnection) -> int:
    return (await conn.scalar(select(func.max(takedown_changes.c.id)))) or 0


async def ids_between(conn: AsyncConnection, low: int, high: int) -> set[int]:
    """The ids in the log from `low` to `high`, both included."""
    result = await conn.scalars(
        select(takedown_changes.c.id).where(takedown_changes.c.id.between(low, high))
    )
    return set(result)


async def oldest_change_id(conn: AsyncConnection) -> int | None:
    """The first change still in the log (None when it is empty)."""
    return await conn.scalar(select(func.min(takedown_changes.c.id)))


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Delete the changes written before `before`, always keeping the newest; how many went.

    The newest stays so that ids keep growing: SQLite gives a new row the largest id + 1, and
    an emptied log would hand out ids that every running index has already read past.
    """
    newest = select(func.max(takedown_changes.c.id)).scalar_subquery()
    result = await conn.execute(
        delete(takedown_changes).where(
            takedown_changes.c.created_at < before, takedown_changes.c.id < newest
        )
    )
    return result.rowcount
