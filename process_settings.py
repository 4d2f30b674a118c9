"""Lightstick's process settings, read once from the environment and `.env`.

Everything a self-hoster can set lives here, validated at start into one frozen `Settings`
object, so a typo fails loudly before the bot touches Discord or the database rather than
half-way through the first scan. Per-guild settings live in the database, not here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yarl

DEFAULT_DATABASE_PATH = Path("data") / "lightstick.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_HASH_WORKERS = 64


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    discord_token: str | None
    database_url: str
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    discord_cdn_base: str | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    hash_workers: int = 2
    pseudo_locale: bool = False  # every string as ⟦text⟧: finds text built outside the catalogs
    # Where the takedown index's snapshot is kept (media.index_snapshot); None: not kept.
    index_snapshot: Path | None = None


def normalize_database_url(url: str) -> str:
    """Accept the short forms `sqlite:///path` and `postgresql://...` for the async drivers."""
    url = url.strip()
    for short, full in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(short):
            return full + url[len(short) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise SettingsError(
        f"DATABASE_URL {url!r} is not supported. Use sqlite:///path/to/lightstick.db "
        "(the default) or postgresql://user@host/dbname (install the postgres extra)."
    )


def _index_snapshot(env: Mapping[str, str], database_url: str) -> Path | None:
    """INDEX_SNAPSHOT: a path, or `off`; by default beside a SQLite database's file (a large
    list then loads in seconds at start), and none for PostgreSQL unless a path is given."""
    raw = env.get("INDEX_SNAPSHOT", "").strip()
    if raw.lower() == "off":
        return None
    if raw:
        return Path(raw)
    if not database_url.startswith("sqlite+aiosqlite:///"):
        return None
    database = database_url.removeprefix("sqlite+aiosqlite:///").split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database).with_suffix(".index.npz")


def _optional_int(env: Mapping[str, str], name: str, *, minimum: int = 0) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}.")
    return value


def _optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    url = yarl.URL(raw)
    if url.scheme not in schemes or not url.host:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise SettingsError(f"{name} must be an absolute {allowed} URL, not {raw!r}.")
    return raw.rstrip("/") if name != "DISCORD_GATEWAY_URL" else raw


def _shard_ids(env: Mapping[str, str], shard_count: int | None) -> tuple[int, ...] | None:
    raw = env.get("SHARD_IDS", "").strip()
    if not raw:
        return None
    if shard_count is None:
        raise SettingsError("SHARD_IDS needs SHARD_COUNT: say how many shards there are in all.")
    try:
        ids = tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"SHARD_IDS must be comma-separated numbers, not {raw!r}.") from None
    bad = [shard for shard in ids if not 0 <= shard < shard_count]
    if bad or not ids:
        raise SettingsError(
            f"SHARD_IDS must list shards from 0 to {shard_count - 1} (SHARD_COUNT is "
            f"{shard_count}); got {raw!r}."
        )
    return ids


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `env` (default: the process environment, after reading `.env`)."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}.")

    raw_database_url = env.get("DATABASE_URL", "").strip()
    if raw_database_url:
        database_url = normalize_database_url(raw_database_url)
    else:
        database_url = f"sqlite+aiosqlite:///{DEFAULT_DATABASE_PATH}"

    shard_count = _optional_int(env, "SHARD_COUNT", minimum=1)
    hash_workers = _optional_int(env, "HASH_WORKERS", minimum=1)
    if hash_workers is not None and hash_workers > MAX_HASH_WORKERS:
        raise SettingsError(f"HASH_WORKERS must be at most {MAX_HASH_WORKERS}, not {hash_workers}.")

    return Settings(
        discord_token=env.get("DISCORD_TOKEN", "").strip() or None,
        database_url=database_url,
        log_level=log_level,
        dev_guild_id=_optional_int(env, "DEV_GUILD_ID", minimum=1),
        discord_api_base=_optional_url(env, "DISCORD_API_BASE", ("http", "https")),
        discord_gateway_url=_optional_url(env, "DISCORD_GATEWAY_URL", ("ws", "wss")),
        discord_cdn_base=_optional_url(env, "DISCORD_CDN_BASE", ("http", "https")),
        shard_count=shard_count,
        shard_ids=_shard_ids(env, shard_count),
        hash_workers=hash_workers or max(1, os.cpu_count() or 1),
        pseudo_locale=env.get("PSEUDO_LOCALE", "").strip() == "1",
        index_snapshot=_index_snapshot(env, database_url),
    )
