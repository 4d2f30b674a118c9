"""The daily retention job: each server's closed reports and alerts expire after its retention
period, the recent hashes of posted pictures after its `recent_days`, and a server the bot left
is deleted a set time later.

Run once at start and then every day by the bot (started in `setup_hook`, stopped in `close`).
`run(now)` takes the time, so tests move the clock instead of waiting. Several shard processes
may run it at once: every step is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db import flood_holds, recent_media, retention
from db.engine import Database
from db.guild_settings import SettingsCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run did, for the log and the tests."""

    reports: int  # closed reports whose text and notes expired
    alerts: int  # alerts deleted
    recent: int  # recent hashes of posted pictures deleted
    servers_deleted: tuple[int, ...]  # servers left long enough ago, now deleted whole


class RetentionJob:
    EVERY = timedelta(days=1)
    # A server the bot left is deleted this long after: an owner who removed it by mistake, or
    # re-invites it after a quarrel, finds everything as it was.
    DEPARTED_KEPT = timedelta(days=30)

    def __init__(self, database: Database, settings: SettingsCache) -> None:
        self.database = database
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def run(self, now: datetime) -> RetentionRun:
        async with self.database.connect() as conn:
            guild_ids = await retention.guilds_with_records(conn)
        reports = alerts = 0
        for guild_id in guild_ids:
            days = (await self.settings.get(guild_id)).retention_days
            async with self.database.transaction() as conn:
                expired = await retention.expire(conn, guild_id, now - timedelta(days=days))
            reports += expired.reports
            alerts += expired.alerts + expired.flags  # explicit-image flags are alerts too
        recent = await self._expire_recent(now)
        async with self.database.transaction() as conn:  # matches past the flood window
            await flood_holds.prune(conn, now - flood_holds.WINDOW)
        async with self.database.connect() as conn:
            departed = await retention.departed_before(conn, now - self.DEPARTED_KEPT)
        for guild_id in departed:
            async with self.database.transaction() as conn:
                await retention.forget_guild(conn, guild_id)
            self.settings.invalidate(guild_id)
        done = RetentionRun(reports, alerts, recent, tuple(departed))
        if reports or alerts or recent or departed:
            log.info(
                "Retention: %d closed reports' text expired, %d alerts deleted, %d recent "
                "pictures' hashes deleted, %d departed servers deleted",
                reports,
                alerts,
                recent,
                len(departed),
            )
        return done

    async def _expire_recent(self, now: datetime) -> int:
        """The recent hashes past each server's `recent_days` (all of them at 0)."""
        async with self.database.connect() as conn:
            guild_ids = await recent_media.guilds_with_recent(conn)
        deleted = 0
        for guild_id in guild_ids:
            days = (await self.settings.get(guild_id)).recent_days
            async with self.database.transaction() as conn:
                deleted += await recent_media.expire(conn, guild_id, now - timedelta(days=days))
        return deleted

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._daily(), name="retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _daily(self) -> None:
        while True:
            try:
                await self.run(datetime.now(UTC))
            except Exception:
                log.exception("The retention run failed; it runs again tomorrow")
            await asyncio.sleep(self.EVERY.total_seconds())
