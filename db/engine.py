"""The database handle: one SQLAlchemy async engine, migrated at open, for SQLite and PostgreSQL.

SQLite is the default (one file, WAL mode, foreign keys on). Its writers take the write lock at
BEGIN (`BEGIN IMMEDIATE`) rather than on their first write: two deferred transactions that both
read and then write would otherwise deadlock, and one of them would fail with "database is
locked" instead of waiting its turn. PostgreSQL needs none of this.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db import migrations

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000  # writers queue behind each other rather than fail
_WRITE_OPTION = "lightstick_write"


class DatabaseUnavailable(RuntimeError):
    """The database can't be reached or migrated; the message says what to check."""


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), in a folder only they can
    enter (0700) when the folder is new: it holds reports and who filed them. SQLite gives its
    WAL and shared-memory files the database file's permissions. A folder that already exists
    is left as its owner set it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An open, migrated database. Use `transaction()` to write and `connect()` to read."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Database:
        """Create the engine, check the connection, and apply pending migrations."""
        parsed = make_url(url)
        options: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            options["pool_pre_ping"] = True
        try:
            engine = create_async_engine(url, **options)
        except (SQLAlchemyError, ImportError) as exc:
            raise DatabaseUnavailable(
                f"Lightstick can't use the database {_describe(url)}: {exc}. For PostgreSQL, "
                'install the postgres extra (pip install -e ".[postgres]").'
            ) from exc
        if parsed.get_backend_name() == "sqlite":
            _configure_sqlite(engine)
        database = cls(engine)
        try:
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:"):
                _private_file(Path(parsed.database))
            if migrate:
                await database.migrate()
            else:
                async with database.connect():
                    pass
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise DatabaseUnavailable(
                f"Lightstick can't reach or update the database {_describe(url)}. Check that "
                f"DATABASE_URL points at a running server (or a writable SQLite file) and that "
                f"the user may create tables. The database said: {_first_line(exc)}"
            ) from exc
        except migrations.MigrationError as exc:
            await engine.dispose()
            raise DatabaseUnavailable(
                f"Lightstick can't migrate the database {_describe(url)}: {exc}"
            ) from exc
        return database

    async def migrate(self) -> None:
        async with self.transaction() as conn:
            await conn.run_sync(migrations.upgrade_to_head)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; its implicit transaction is rolled back at the end."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
