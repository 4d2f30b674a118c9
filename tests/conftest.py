"""Fixtures shared by the whole suite: real databases, SQLite and PostgreSQL.

PostgreSQL tests run against the server in LIGHTSTICK_TEST_POSTGRES (default: the local one on
127.0.0.1:5432 as user postgres). Each test gets a database of its own, created empty and
dropped after. Where no server answers, those tests skip with the reason, except in CI (CI=true
or LIGHTSTICK_REQUIRE_POSTGRES=1), where a missing server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from db.engine import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "LIGHTSTICK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or bool(
        os.environ.get("LIGHTSTICK_REQUIRE_POSTGRES")
    )


async def _admin_connection():  # type: ignore[no-untyped-def]
    try:
        import asyncpg
    except ImportError:
        reason = 'asyncpg is not installed (pip install -e ".[postgres]")'
    else:
        try:
            return await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            reason = f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc}"
    if postgres_required():
        pytest.fail(f"PostgreSQL is required in CI but {reason}")
    pytest.skip(reason)


@asynccontextmanager
async def new_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    admin = await _admin_connection()
    name = f"lightstick_test_{uuid.uuid4().hex[:16]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with new_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'lightstick.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using it runs twice: on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'lightstick.db'}"
    else:
        async with new_postgres_database() as url:
            yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open database, migrated from empty."""
    db = await Database.open(database_url)
    try:
        yield db
    finally:
        await db.close()
