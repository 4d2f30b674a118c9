"""INSERT ... ON CONFLICT DO UPDATE for whichever database the connection talks to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's own `insert`, which knows ON CONFLICT."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: Table) -> Any:
    """`dialect_insert` by the dialect's name, for statements built once per dialect."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@cache
def insert_or_keep(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO NOTHING for `dialect`, built once: the row comes as
    parameters. For statements run with every match, where building costs as much as running."""
    return insert_for(dialect, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Mapping[str, Any] | None = None,
) -> Insert:
    """Insert `values`, or on a conflict of `keys` set `update` (default: the other values).

    An empty `update` keeps the existing row as it is.
    """
    statement = dialect_insert(conn, table).values(**values)
    if update is not None and not update:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    changes = (
        dict(update)
        if update is not None
        else {name: value for name, value in values.items() if name not in keys}
    )
    if "updated_at" in table.c and "updated_at" not in changes:
        changes["updated_at"] = datetime.now(UTC)
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
