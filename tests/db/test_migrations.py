"""Migrations from empty, schema agreement, and the database failures the bot reports clearly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from db import migrations
from db.engine import Database, DatabaseUnavailable
from db.schema import metadata


async def test_migrations_from_empty_create_every_table(database: Database) -> None:
    async with database.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_migrated_schema_matches_the_code(database: Database) -> None:
    def differences(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with database.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_opening_twice_applies_nothing_new(database_url: str) -> None:
    first = await Database.open(database_url)
    await first.close()
    second = await Database.open(database_url)
    async with second.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    await second.close()
    head = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    assert head is not None and version == head


async def test_sqlite_uses_wal_and_enforces_foreign_keys(sqlite_url: str) -> None:
    database = await Database.open(sqlite_url)
    async with database.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    await database.close()


async def test_database_from_a_newer_version_is_refused(database_url: str) -> None:
    database = await Database.open(database_url)
    async with database.transaction() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    await database.close()
    with pytest.raises(DatabaseUnavailable, match="newer version of Lightstick"):
        await Database.open(database_url)


async def test_unreachable_postgres_is_reported_with_the_url() -> None:
    pytest.importorskip("asyncpg")
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/lightstick"
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:1/lightstick"):
        await Database.open(url)


async def test_unwritable_sqlite_path_is_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(DatabaseUnavailable, match="can't"):
        await Database.open(f"sqlite+aiosqlite:///{blocker / 'lightstick.db'}")


async def test_the_sqlite_file_is_private_to_its_owner(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "data"
    database = await Database.open(f"sqlite+aiosqlite:///{folder / 'lightstick.db'}")
    async with database.transaction() as conn:  # a write, so the WAL file exists too
        await conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
    try:
        assert folder.stat().st_mode & 0o777 == 0o700
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o077 == 0, path.name
        assert (folder / "lightstick.db").stat().st_mode & 0o777 == 0o600
    finally:
        await database.close()


async def test_0009_keeps_a_servers_settings_and_cases_and_goes_back_down(
    database_url: str,
) -> None:
    """Explicit-image review arrives off for every existing server, with the default threshold;
    its case kinds are accepted after the upgrade; the downgrade removes it all again."""
    from alembic import command

    database = await Database.open(database_url, migrate=False)

    def to(revision: str, down: bool = False):  # type: ignore[no-untyped-def]
        def run(sync_conn):  # type: ignore[no-untyped-def]
            config = migrations.alembic_config(sync_conn)
            (command.downgrade if down else command.upgrade)(config, revision)

        return run

    async with database.transaction() as conn:
        await conn.run_sync(to("0010"))
        await conn.execute(
            text(
                "INSERT INTO guild_settings (guild_id, previews, updated_at) "
                "VALUES (5, false, CURRENT_TIMESTAMP)"
            )
        )
    async with database.transaction() as conn:
        await conn.run_sync(to("0009"))
        row = (await conn.execute(text("SELECT * FROM guild_settings"))).mappings().one()
        await conn.execute(
            text(
                "INSERT INTO cases (guild_id, number, kind, reason, created_at) "
                "VALUES (5, 1, 'explicit_flag', '', CURRENT_TIMESTAMP)"
            )
        )
    assert (row["previews"], row["explicit_review"], row["explicit_threshold"]) == (
        False,
        False,
        0.8,
    )
    async with database.transaction() as conn:
        await conn.execute(text("DELETE FROM cases"))
        await conn.run_sync(to("0010", down=True))
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        columns = {
            c["name"]
            for c in await conn.run_sync(lambda sync: inspect(sync).get_columns("guild_settings"))
        }
    assert "explicit_flags" not in tables and "explicit_review" not in columns
    await database.close()
