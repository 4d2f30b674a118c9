"""Per-guild settings: one row per guild, defaults until an admin changes something.

The defaults live in the schema (server defaults), so a guild that never ran /config reads the
same values a fresh row would hold. Writes go through `update_settings`, which validates names
and ranges here rather than trusting every caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.phrases import PhrasedError, phrase
from db import cases
from db.schema import (
    EXEMPTION_KINDS,
    EXPLICIT_THRESHOLD_RANGE,
    TAKEDOWN_ACTIONS,
    UNREADABLE_ACTIONS,
    explicit_exemptions,
    guild_settings,
    skipped_channels,
)
from db.upsert import upsert

if TYPE_CHECKING:
    from db.engine import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    mod_channel_id: int | None = None
    log_channel_id: int | None = None
    mod_role_id: int | None = None
    takedown_action: str = "remove"  # "remove" or "flag"
    pdq_confident_radius: int = 31  # HMA's confident PDQ threshold
    pdq_review_radius: int = 62  # measured in bench/catch_rate.py: about 2e-6 false pairs
    phash_confident_radius: int = 8
    phash_review_radius: int = 10
    dm_author: bool = False
    timeout_on_repeat_minutes: int = 0  # 0: never time out automatically
    repeat_window_hours: int = 24
    previews: bool = True
    auto_hide_threshold: int = 3  # 0: never hide on reports alone
    reporter_limit_short: int = 5
    reporter_window_short_minutes: int = 10
    reporter_limit_daily: int = 20
    min_account_age_days: int = 0
    dm_reporters: bool = True
    # A file the bot could not check is never clean: "remove" (and alert), "alert" or "ignore",
    # by why (media.outcomes): crafted files no real camera makes are removed by default.
    crafted_action: str = "remove"
    unfinished_action: str = "alert"
    unsupported_action: str = "alert"
    language: str | None = None  # shared posts' language; None: the server's preferred locale
    # Reporters who count towards auto-hide: accounts this old, members this long.
    auto_hide_min_account_days: int = 30
    auto_hide_min_member_days: int = 7
    retention_days: int = 180  # closed reports' text and notes, alerts; cases are kept
    recent_days: int = 7  # the hashes of posted pictures, to sweep earlier copies; 0: none kept
    # Explicit-image review (media.classifier): flags pictures scoring this or more, never removes.
    explicit_review: bool = False
    explicit_threshold: float = 0.8  # media.classifier.DEFAULT_THRESHOLD, Yahoo's confident line
    # Removals of one entry's copies within an hour past which the entry is held (0: never).
    flood_limit: int = 20
    # An agency's report portal: deepfake reports and takedown alerts carry a button to it.
    agency_label: str | None = None
    agency_link: str | None = None
    skipped_channel_ids: frozenset[int] = frozenset()
    # Channels explicit-image review skips (age-restricted ones always are), and roles whose
    # members' pictures it doesn't score.
    explicit_skipped_channel_ids: frozenset[int] = frozenset()
    explicit_skipped_role_ids: frozenset[int] = frozenset()


SETTING_NAMES = frozenset(f.name for f in fields(GuildSettings)) - {
    "guild_id",
    "skipped_channel_ids",
    "explicit_skipped_channel_ids",
    "explicit_skipped_role_ids",
}
# An exemption from explicit-image review: ("channel" or "role", its id).
Exemption = tuple[str, int]

# The policy for each kind of file the bot could not check, by the outcome's name.
UNREADABLE_SETTINGS = ("crafted_action", "unfinished_action", "unsupported_action")

# (low, high) for each integer setting; a value outside is refused before it reaches SQL.
RANGES: dict[str, tuple[int, int]] = {
    "pdq_confident_radius": (0, 128),
    "pdq_review_radius": (0, 128),
    "phash_confident_radius": (0, 32),
    "phash_review_radius": (0, 32),
    "timeout_on_repeat_minutes": (0, 40320),  # Discord's longest timeout: 28 days
    "repeat_window_hours": (1, 24 * 90),
    "auto_hide_threshold": (0, 50),
    "reporter_limit_short": (1, 1000),
    "reporter_window_short_minutes": (1, 1440),
    "reporter_limit_daily": (1, 10000),
    "min_account_age_days": (0, 3650),
    "auto_hide_min_account_days": (0, 3650),
    "auto_hide_min_member_days": (0, 3650),
    "retention_days": (7, 3650),
    "recent_days": (0, 30),
    "flood_limit": (0, 10000),
}


LABEL_MAX = 80  # a button's label holds 80 characters
LINK_MAX = 512  # a link button's URL holds 512


def agency_link_problem(link: str) -> str | None:
    """Why `link` can't be the agency link (English, for the log and the case), or None.

    Only an absolute https address with a host: a button is a link moderators trust, so no
    other scheme (javascript:, http:, discord:) and no spaces or credentials in it.
    """
    if len(link) > LINK_MAX:
        return f"the agency link must be at most {LINK_MAX} characters"
    parsed = urlsplit(link)
    if parsed.scheme != "https" or not parsed.hostname:
        return "the agency link must be a full https:// address"
    if any(c.isspace() for c in link) or "@" in parsed.netloc:
        return "the agency link must have no spaces or user names in it"
    return None


def validate_changes(current: GuildSettings, changes: dict[str, Any]) -> None:
    """Raise ValueError (a `PhrasedError`, read in the admin's language) naming the first
    unknown or out-of-range setting."""
    for name, value in changes.items():
        if name not in SETTING_NAMES:
            raise PhrasedError(phrase("unknown setting {name}", name=f"`{name}`"))
        if name in RANGES and value is not None:
            low, high = RANGES[name]
            if not low <= value <= high:
                raise PhrasedError(
                    phrase(
                        "{name} must be between {low:,} and {high:,}, not {value:,}",
                        name=f"`{name}`",
                        low=low,
                        high=high,
                        value=value,
                    )
                )
    if changes.get("takedown_action", current.takedown_action) not in TAKEDOWN_ACTIONS:
        raise PhrasedError(phrase("{name} must be remove or flag", name="`takedown_action`"))
    for name in UNREADABLE_SETTINGS:
        if changes.get(name, getattr(current, name)) not in UNREADABLE_ACTIONS:
            raise PhrasedError(phrase("{name} must be remove, alert or ignore", name=f"`{name}`"))
    low, high = EXPLICIT_THRESHOLD_RANGE
    if not low <= changes.get("explicit_threshold", current.explicit_threshold) <= high:
        raise PhrasedError(
            phrase(
                "{name} must be between {low} and {high}",
                name="`explicit_threshold`",
                low=low,
                high=high,
            )
        )
    merged = {**{n: getattr(current, n) for n in SETTING_NAMES}, **changes}
    if merged["agency_link"] is not None:
        problem = agency_link_problem(merged["agency_link"])
        if problem:
            raise ValueError(problem)
    if merged["agency_label"] is not None and not 1 <= len(merged["agency_label"]) <= LABEL_MAX:
        raise ValueError(f"the agency label must be 1 to {LABEL_MAX} characters")
    for algorithm in ("pdq", "phash"):
        if merged[f"{algorithm}_review_radius"] < merged[f"{algorithm}_confident_radius"]:
            raise PhrasedError(
                phrase(
                    "the {algorithm} review radius can't be smaller than its confident radius",
                    algorithm=algorithm,
                )
            )


async def get_settings(conn: AsyncConnection, guild_id: int) -> GuildSettings:
    row = (
        (await conn.execute(select(guild_settings).where(guild_settings.c.guild_id == guild_id)))
        .mappings()
        .first()
    )
    skipped = frozenset(
        await conn.scalars(
            select(skipped_channels.c.channel_id).where(skipped_channels.c.guild_id == guild_id)
        )
    )
    exempt: dict[str, set[int]] = {kind: set() for kind in EXEMPTION_KINDS}
    for kind, target_id in await conn.execute(
        select(explicit_exemptions.c.kind, explicit_exemptions.c.target_id).where(
            explicit_exemptions.c.guild_id == guild_id
        )
    ):
        exempt[kind].add(target_id)
    lists = {
        "skipped_channel_ids": skipped,
        "explicit_skipped_channel_ids": frozenset(exempt["channel"]),
        "explicit_skipped_role_ids": frozenset(exempt["role"]),
    }
    if row is None:
        return GuildSettings(guild_id=guild_id, **lists)
    values = {name: row[name] for name in SETTING_NAMES}
    return GuildSettings(guild_id=guild_id, **lists, **values)


async def update_settings(conn: AsyncConnection, guild_id: int, **changes: Any) -> GuildSettings:
    """Change some settings (validated) and return the whole, updated settings."""
    current = await get_settings(conn, guild_id)
    validate_changes(current, changes)
    if changes:
        await conn.execute(
            upsert(conn, guild_settings, {"guild_id": guild_id, **changes}, keys=("guild_id",))
        )
    return await get_settings(conn, guild_id)


async def set_channel_skipped(
    conn: AsyncConnection, guild_id: int, channel_id: int, skipped: bool
) -> None:
    if skipped:
        await conn.execute(
            upsert(
                conn,
                skipped_channels,
                {"guild_id": guild_id, "channel_id": channel_id},
                keys=("guild_id", "channel_id"),
                update={},
            )
        )
    else:
        await conn.execute(
            delete(skipped_channels).where(
                skipped_channels.c.guild_id == guild_id,
                skipped_channels.c.channel_id == channel_id,
            )
        )


async def set_exempt(
    conn: AsyncConnection, guild_id: int, exemption: Exemption, exempt: bool
) -> None:
    """Skip (or stop skipping) a channel or a role in explicit-image review."""
    kind, target_id = exemption
    if kind not in EXEMPTION_KINDS:
        raise ValueError(f"unknown exemption kind {kind!r}")
    row = {"guild_id": guild_id, "kind": kind, "target_id": target_id}
    if exempt:
        await conn.execute(
            upsert(
                conn, explicit_exemptions, row, keys=("guild_id", "kind", "target_id"), update={}
            )
        )
    else:
        await conn.execute(
            delete(explicit_exemptions).where(
                *(explicit_exemptions.c[name] == value for name, value in row.items())
            )
        )


async def _stamp(conn: AsyncConnection, guild_id: int) -> None:
    """Mark the guild's settings as changed now (a change of skipped channels alone, too)."""
    await conn.execute(
        upsert(
            conn, guild_settings, {"guild_id": guild_id, "updated_at": _now()}, keys=("guild_id",)
        )
    )


def _now() -> datetime:
    return datetime.now(UTC)


def describe_changes(before: GuildSettings, after: GuildSettings) -> str:
    """`name: old -> new` for each setting that changed, for the case record."""
    parts = [
        f"{name}: {getattr(before, name)} -> {getattr(after, name)}"
        for name in sorted(SETTING_NAMES)
        if getattr(before, name) != getattr(after, name)
    ]
    if before.skipped_channel_ids != after.skipped_channel_ids:
        added = sorted(after.skipped_channel_ids - before.skipped_channel_ids)
        removed = sorted(before.skipped_channel_ids - after.skipped_channel_ids)
        parts.append(f"skipped channels: +{added} -{removed}")
    for name in ("explicit_skipped_channel_ids", "explicit_skipped_role_ids"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            parts.append(f"{name}: +{sorted(new - old)} -{sorted(old - new)}")
    return "; ".join(parts)


class SettingsCache:
    """The one way the bot reads guild settings: cached, and invalidated by every write here.

    Several shard processes share one database, so a guild's settings may change in another
    process (a guild moves between processes when shards are reassigned). `refresh` drops every
    cached guild whose row changed since the last look, by its `updated_at`; the bot calls it
    every POLL_SECONDS. Entries also expire after `ttl` seconds, as a backstop.
    """

    POLL_SECONDS = 1.0
    # Rows are stamped by each process's own clock: look back this far, so a process whose clock
    # runs behind still has its changes seen.
    CLOCK_SKEW = timedelta(seconds=60)

    def __init__(self, database: Database, *, ttl: float = 60.0) -> None:
        self._database = database
        self._ttl = ttl
        self._cached: dict[int, tuple[float, GuildSettings, datetime | None]] = {}
        # Bumped by every invalidation: a read that began before one must not be cached after
        # it (it may have read the settings as they were before the change).
        self._invalidations: dict[int, int] = {}
        self._newest: datetime | None = None  # the newest stamp a refresh has seen
        self._poller: asyncio.Task[None] | None = None

    async def get(self, guild_id: int) -> GuildSettings:
        now = time.monotonic()
        hit = self._cached.get(guild_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        invalidations = self._invalidations.get(guild_id, 0)
        async with self._database.connect() as conn:
            settings = await get_settings(conn, guild_id)
            stamp = await conn.scalar(
                select(guild_settings.c.updated_at).where(guild_settings.c.guild_id == guild_id)
            )
        if self._invalidations.get(guild_id, 0) == invalidations:
            self._cached[guild_id] = (now, settings, stamp)
        return settings

    def invalidate(self, guild_id: int) -> None:
        self._cached.pop(guild_id, None)
        self._invalidations[guild_id] = self._invalidations.get(guild_id, 0) + 1

    async def refresh(self) -> set[int]:
        """Drop the cached guilds whose settings changed since they were read (by any
        process); return their ids."""
        query = select(guild_settings.c.guild_id, guild_settings.c.updated_at)
        if self._newest is not None:
            query = query.where(guild_settings.c.updated_at >= self._newest - self.CLOCK_SKEW)
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        dropped = set()
        for guild_id, stamp in rows:
            self._newest = stamp if self._newest is None else max(self._newest, stamp)
            hit = self._cached.get(guild_id)
            if hit is not None and hit[2] != stamp:
                self.invalidate(guild_id)
                dropped.add(guild_id)
        return dropped

    def start_polling(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="settings-refresh")

    async def stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("Could not check for settings changed elsewhere; retrying")
            await asyncio.sleep(self.POLL_SECONDS)

    async def change(
        self,
        guild_id: int,
        *,
        moderator_id: int,
        changes: dict[str, Any] | None = None,
        skip: dict[int, bool] | None = None,
        exempt: dict[Exemption, bool] | None = None,
    ) -> tuple[GuildSettings, GuildSettings]:
        """Apply changes and record them as one case, in one transaction: (before, after).

        `skip` maps channel ids to whether they are skipped; `exempt` maps channels and roles
        (`Exemption`) to whether explicit-image review skips them. Raises ValueError on a bad
        value.
        """
        try:
            async with self._database.transaction() as conn:
                before = await get_settings(conn, guild_id)
                after = await update_settings(conn, guild_id, **(changes or {}))
                for channel_id, skipped in (skip or {}).items():
                    await set_channel_skipped(conn, guild_id, channel_id, skipped)
                for exemption, exempted in (exempt or {}).items():
                    await set_exempt(conn, guild_id, exemption, exempted)
                await _stamp(conn, guild_id)  # other processes look for the new stamp
                after = await get_settings(conn, guild_id)
                summary = describe_changes(before, after)
                if summary:
                    await cases.create_case(
                        conn, guild_id, "settings", moderator_id=moderator_id, reason=summary
                    )
        finally:
            self.invalidate(guild_id)
        return before, after
