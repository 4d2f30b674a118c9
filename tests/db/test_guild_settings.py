"""Guild settings: defaults, validated changes, skipped channels."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from db import cases, guild_settings
from db.engine import Database
from db.guild_settings import GuildSettings
from db.schema import guild_settings as guild_settings_table

GUILD = 2001


async def test_a_new_guild_reads_the_documented_defaults(database: Database) -> None:
    async with database.connect() as conn:
        assert await guild_settings.get_settings(conn, GUILD) == GuildSettings(guild_id=GUILD)


async def test_schema_defaults_agree_with_the_record_defaults(database: Database) -> None:
    async with database.transaction() as conn:
        await conn.execute(guild_settings_table.insert().values(guild_id=GUILD))
        row = (await conn.execute(select(guild_settings_table))).mappings().one()
    defaults = GuildSettings(guild_id=GUILD)
    for name in guild_settings.SETTING_NAMES:
        assert row[name] == getattr(defaults, name), name


async def test_changes_are_stored_and_merged(database: Database) -> None:
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, GUILD, mod_channel_id=55, previews=False)
        updated = await guild_settings.update_settings(conn, GUILD, takedown_action="flag")
    async with database.connect() as conn:
        assert await guild_settings.get_settings(conn, GUILD) == updated
    assert (updated.mod_channel_id, updated.previews, updated.takedown_action) == (
        55,
        False,
        "flag",
    )
    assert updated.pdq_confident_radius == 31


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"pdq_confident_radius": 300}, "between 0 and 128"),
        ({"takedown_action": "explode"}, "remove or flag"),
        ({"pdq_review_radius": 20}, "review radius can't be smaller"),
        ({"no_such_setting": 1}, "unknown setting"),
        ({"explicit_threshold": 0.3}, "between 0.5 and 0.99"),
        ({"explicit_threshold": 1.0}, "between 0.5 and 0.99"),
    ],
)
async def test_bad_values_are_refused_and_change_nothing(
    database: Database, changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        async with database.transaction() as conn:
            await guild_settings.update_settings(conn, GUILD, **changes)
    async with database.connect() as conn:
        assert await guild_settings.get_settings(conn, GUILD) == GuildSettings(guild_id=GUILD)


async def test_skipped_channels_are_added_once_and_removed(database: Database) -> None:
    async with database.transaction() as conn:
        await guild_settings.set_channel_skipped(conn, GUILD, 10, True)
        await guild_settings.set_channel_skipped(conn, GUILD, 10, True)
        await guild_settings.set_channel_skipped(conn, GUILD, 11, True)
        await guild_settings.set_channel_skipped(conn, GUILD, 11, False)
    async with database.connect() as conn:
        settings = await guild_settings.get_settings(conn, GUILD)
    assert settings.skipped_channel_ids == frozenset({10})


async def test_cache_serves_reads_and_every_change_invalidates_it(database: Database) -> None:
    cache = guild_settings.SettingsCache(database)
    assert (await cache.get(GUILD)).previews is True
    before, after = await cache.change(
        GUILD, moderator_id=8, changes={"previews": False}, skip={33: True}
    )
    assert before.previews is True and after.previews is False
    assert await cache.get(GUILD) == after and after.skipped_channel_ids == {33}
    async with database.connect() as conn:
        (case,) = await cases.list_cases(conn, GUILD)
    assert (case.kind, case.moderator_id) == ("settings", 8)
    assert "previews: True -> False" in case.reason and "+[33]" in case.reason


async def test_a_read_under_way_when_a_change_lands_is_not_cached(database: Database) -> None:
    """A scan read the settings, a moderator's change committed and dropped the cache, then the
    scan's read finished: caching what it read would keep the old settings for a minute."""
    cache = guild_settings.SettingsCache(database)
    seen: list[str] = []

    def change_lands(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # After the settings were read and before the read ends (its stamp query), the change
        # ends as `SettingsCache.change` ends: by invalidating (SQLAlchemy runs this in the
        # event loop's thread).
        if statement.startswith("SELECT guild_settings.updated_at") and not seen:
            seen.append(statement)
            cache.invalidate(GUILD)

    event.listen(database.engine.sync_engine, "after_cursor_execute", change_lands)
    try:
        assert (await cache.get(GUILD)).previews is True  # as they were when read
    finally:
        event.remove(database.engine.sync_engine, "after_cursor_execute", change_lands)
    assert seen
    async with database.transaction() as conn:  # the change it did not see
        await guild_settings.update_settings(conn, GUILD, previews=False)
    assert (await cache.get(GUILD)).previews is False


async def test_explicit_review_settings_and_what_it_skips_are_one_case(
    database: Database,
) -> None:
    cache = guild_settings.SettingsCache(database)
    assert (await cache.get(GUILD)).explicit_review is False  # off by default
    _, after = await cache.change(
        GUILD,
        moderator_id=8,
        changes={"explicit_review": True, "explicit_threshold": 0.9},
        exempt={("channel", 70): True, ("role", 71): True, ("role", 72): True},
    )
    assert (after.explicit_review, after.explicit_threshold) == (True, 0.9)
    assert after.explicit_skipped_channel_ids == {70}
    assert after.explicit_skipped_role_ids == {71, 72}
    assert after.skipped_channel_ids == frozenset()  # scanning still covers channel 70
    _, after = await cache.change(GUILD, moderator_id=8, exempt={("role", 71): False})
    assert await cache.get(GUILD) == after and after.explicit_skipped_role_ids == {72}
    async with database.connect() as conn:
        first, second = await cases.list_cases(conn, GUILD)
    assert {first.kind, second.kind} == {"settings"}
    reasons = first.reason + second.reason
    assert "explicit_review: False -> True" in reasons and "+[71, 72]" in reasons
    assert "-[71]" in reasons


async def test_refused_change_records_no_case_and_keeps_settings(database: Database) -> None:
    cache = guild_settings.SettingsCache(database)
    with pytest.raises(ValueError, match="between"):
        await cache.change(
            GUILD, moderator_id=8, changes={"auto_hide_threshold": -1}, skip={33: True}
        )
    assert await cache.get(GUILD) == GuildSettings(guild_id=GUILD)
    async with database.connect() as conn:
        assert await cases.count_cases(conn, GUILD) == 0


async def test_a_change_to_nothing_new_records_no_case(database: Database) -> None:
    cache = guild_settings.SettingsCache(database)
    await cache.change(GUILD, moderator_id=8, changes={"takedown_action": "remove"})
    async with database.connect() as conn:
        assert await cases.count_cases(conn, GUILD) == 0


async def test_settings_changed_by_another_process_are_refreshed_in_this_one(
    database_url: str,
) -> None:
    """Two shard processes: each its own connection pool and cache, one database."""
    here, there = await Database.open(database_url), await Database.open(database_url)
    try:
        mine, theirs = guild_settings.SettingsCache(here), guild_settings.SettingsCache(there)
        assert await mine.refresh() == set()
        assert (await mine.get(GUILD)).previews is True
        assert (await mine.get(GUILD + 1)).previews is True
        await theirs.change(GUILD, moderator_id=8, changes={"previews": False})
        assert await mine.refresh() == {GUILD}  # the other guild was not changed
        assert (await mine.get(GUILD)).previews is False
        await theirs.change(GUILD, moderator_id=8, skip={44: True})  # skipped channels alone
        assert await mine.refresh() == {GUILD}
        assert (await mine.get(GUILD)).skipped_channel_ids == {44}
        assert await mine.refresh() == set()  # seen once, not again
    finally:
        await here.close()
        await there.close()
