"""The ordered log of changes to what matches, which keeps every process's index current.

Writers add a row in the same transaction as the change; `db.live_index` applies the rows
past the last one it saw. Rows are small and old ones can be pruned once every process is past
them (`prune`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bulk import id_runs
from db.schema import takedown_changes, takedown_entries


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    kind: str  # "entry_added", "entry_removed" or "scope_changed"
    entry_id: int | None
    guild_id: int | None  # for scope_changed: whose scope; None: everyone's


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


async def changes_since(conn: AsyncConnection, last_id: int, limit: int = 50_000) -> list[Change]:
    """The next changes after `last_id`, oldest first (plain rows: an import writes 100,000)."""
    rows = await conn.execute(
        select(
            takedown_changes.c.id,
            takedown_changes.c.kind,
            takedown_changes.c.entry_id,
            takedown_changes.c.guild_id,
        )
        .where(takedown_changes.c.id > last_id)
        .order_by(takedown_changes.c.id)
        .limit(limit)
    )
    return [Change(*row) for row in rows]


async def latest_change_id(conn: AsyncConnection) -> int:
    return (await conn.scalar(select(func.max(takedown_changes.c.id)))) or 0


async def prune(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(
        delete(takedown_changes).where(takedown_changes.c.created_at < before)
    )
    return result.rowcount
