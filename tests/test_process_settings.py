"""Settings: defaults, short database URLs, and readable refusals of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from process_settings import SettingsError, load_settings, normalize_database_url


def test_defaults_need_nothing_but_give_no_token() -> None:
    settings = load_settings({})
    assert settings.discord_token is None
    assert settings.database_url == "sqlite+aiosqlite:///data/lightstick.db"
    assert settings.log_level == "INFO" and settings.hash_workers >= 1
    assert settings.shard_count is None and settings.shard_ids is None


def test_every_setting_is_read() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": " token ",
            "DATABASE_URL": "postgresql://bot@db/lightstick",
            "LOG_LEVEL": "debug",
            "DEV_GUILD_ID": "123",
            "DISCORD_API_BASE": "http://127.0.0.1:9000/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9000/",
            "DISCORD_CDN_BASE": "http://127.0.0.1:9000",
            "SHARD_COUNT": "4",
            "SHARD_IDS": "2, 3",
            "HASH_WORKERS": "3",
        }
    )
    assert settings.discord_token == "token"
    assert settings.database_url == "postgresql+asyncpg://bot@db/lightstick"
    assert (settings.log_level, settings.dev_guild_id) == ("DEBUG", 123)
    assert settings.discord_api_base == "http://127.0.0.1:9000/api/v10"
    assert settings.discord_gateway_url == "ws://127.0.0.1:9000/"
    assert (settings.shard_count, settings.shard_ids, settings.hash_workers) == (4, (2, 3), 3)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_database_url_short_forms(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "not supported"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"DEV_GUILD_ID": "my-server"}, "DEV_GUILD_ID must be a whole number"),
        ({"SHARD_IDS": "0,1"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "from 0 to 1"),
        ({"SHARD_COUNT": "0"}, "at least 1"),
        ({"HASH_WORKERS": "500"}, "at most 64"),
        ({"DISCORD_GATEWAY_URL": "http://127.0.0.1/"}, "ws:// or wss://"),
        ({"DISCORD_API_BASE": "localhost:9000"}, "http:// or https://"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Path("data/lightstick.index.npz")),  # beside the default SQLite file
        ({"DATABASE_URL": "sqlite:////srv/bot/main.db"}, Path("/srv/bot/main.index.npz")),
        ({"DATABASE_URL": "sqlite://"}, None),  # in memory: nothing to keep it beside
        ({"DATABASE_URL": "postgresql://bot@db/lightstick"}, None),
        (
            {"DATABASE_URL": "postgresql://bot@db/lightstick", "INDEX_SNAPSHOT": "/var/idx.npz"},
            Path("/var/idx.npz"),
        ),
        ({"INDEX_SNAPSHOT": "off"}, None),
    ],
)
def test_where_the_index_snapshot_is_kept(env: dict[str, str], expected: Path | None) -> None:
    assert load_settings(env).index_snapshot == expected
