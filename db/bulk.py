"""Statements over many rows at once, for imports of 100,000 lines on SQLite and PostgreSQL.

Why not plain `conn.execute(table.insert(), rows)`: SQLAlchemy builds, defaults and
type-converts a parameter dictionary per row, then sends a statement a row or a batch, which
costs seconds at this size; and on SQLite it can't return the new ids of a batched INSERT. So
many rows travel as one parameter (a JSON array on SQLite, one array a column on PostgreSQL)
into a single INSERT ... SELECT, ids are reserved before the INSERT rather than read back after
it, and a lookup of many values is one statement rather than chunks of IN lists.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    same: Mapping[str, Any] | None = None,
) -> None:
    """INSERT `rows` (tuples of str, int, bool or None, in `columns` order) in one statement.

    `same` holds values shared by every row (one timestamp, one list id), bound once with their
    column types; a column left out gets its default.
    """
    if not rows:
        return
    same = same or {}
    shared = [literal(value, table.c[name].type).label(name) for name, value in same.items()]
    listed = select(*_rows_as_table(conn, table, columns, rows), *shared)
    await conn.execute(table.insert().from_select([*columns, *same], listed))


def _rows_as_table(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> list[ColumnElement[Any]]:
    """The columns of `rows` read from bound parameters: an array a column on PostgreSQL,
    one JSON array of arrays on SQLite."""
    if conn.dialect.name == "postgresql":
        arrays = [
            bindparam(None, list(values), type_=ARRAY(table.c[name].type))
            for name, values in zip(columns, zip(*rows, strict=True), strict=True)
        ]
        unnested = func.unnest(*arrays).table_valued(*columns).render_derived()
        return [unnested.c[name] for name in columns]
    listed = func.json_each(json.dumps(rows)).table_valued("value")
    return [
        func.json_extract(listed.c.value, f"$[{number}]").label(name)
        for number, name in enumerate(columns)
    ]


async def reserve_ids(conn: AsyncConnection, table: Table, count: int) -> list[int]:
    """`count` new ids of `table`'s integer primary key, ascending, for rows inserted next.

    PostgreSQL takes them from the column's sequence (another transaction may take ids in
    between, never the same ones). On SQLite a writer holds the write lock from BEGIN IMMEDIATE,
    so the ids past the largest one are free until it commits.
    """
    if count <= 0:
        return []
    (key,) = table.primary_key.columns
    if conn.dialect.name == "postgresql":
        sequence = select(func.pg_get_serial_sequence(table.name, key.name)).scalar_subquery()
        result = await conn.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        )
        return sorted(result.scalars())
    last = (await conn.scalar(select(func.max(key)))) or 0
    return list(range(last + 1, last + 1 + count))


def one_of(conn: AsyncConnection, column: ColumnElement[str], values: Sequence[str]) -> Any:
    """`column IN values` as one bound parameter however many values there are.

    An index on the column is used for each value: PostgreSQL's `= ANY(array)`, and SQLite's
    `IN (SELECT value FROM json_each(...))`, both with no limit on bound parameters.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    listed = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def id_runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ids as inclusive ranges: [1, 2, 3, 7, 8] -> [(1, 3), (7, 8)].

    A bulk add gets consecutive ids, so a range query or two covers it.
    """
    runs: list[tuple[int, int]] = []
    for value in ids:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


async def driver_batches(
    conn: AsyncConnection, query: Select[Any], size: int = 20_000
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The rows of `query` as batches straight from the driver's cursor, for a caller that
    reads millions of rows (the takedown index at start, a sweep of a server's recent hashes).

    Why the driver's own cursor: SQLAlchemy made a Row of each of ten million rows on the event
    loop (8 s a million, against 2 s for the driver alone). The statement is still built and
    compiled by SQLAlchemy (its values inline: numbers and names only), so both databases read
    the same query.
    """
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "sqlite":
        cursor = await raw.execute(sql)
        while batch := await cursor.fetchmany(size):
            yield batch
        await cursor.close()
        return
    async with contextlib.AsyncExitStack() as stack:
        if not raw.is_in_transaction():  # asyncpg's cursors live in a transaction
            await stack.enter_async_context(raw.transaction())
        cursor = await raw.cursor(sql)
        while batch := await cursor.fetch(size):
            yield batch  # asyncpg's records are sequences already: no copy a row
