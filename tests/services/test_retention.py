"""The daily retention job, with a moved clock: each server's own period, and departed servers
deleted after the set time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.vocabulary import ReportStatus
from db import cases, guild_settings, reports, retention
from db.engine import Database
from db.reports import ReportTarget
from services.retention import RetentionJob

QUICK, DEFAULT, DEPARTED = 4001, 4002, 4003


async def closed_report(database: Database, guild_id: int) -> int:
    target = ReportTarget("message", user_id=7, channel_id=9, message_id=guild_id, excerpt="text")
    async with database.transaction() as conn:
        filed = await reports.file_report(
            conn, guild_id, target, reporter_id=1, category="spam", details="note"
        )
        await reports.resolve(
            conn, filed.report.id, status=ReportStatus.DISMISSED, resolved_by=2, reason="ok"
        )
    return filed.report.id


async def excerpt(database: Database, report_id: int) -> str:
    async with database.connect() as conn:
        found = await reports.get_report(conn, report_id)
    assert found is not None
    return found.excerpt


async def test_each_server_keeps_closed_reports_for_its_own_period(database: Database) -> None:
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, QUICK, retention_days=30)
    quick, default = await closed_report(database, QUICK), await closed_report(database, DEFAULT)
    job = RetentionJob(database, guild_settings.SettingsCache(database))
    now = datetime.now(UTC)

    assert (await job.run(now)).reports == 0
    assert (await job.run(now + timedelta(days=31))).reports == 1
    assert (await excerpt(database, quick), await excerpt(database, default)) == ("", "text")
    assert (await job.run(now + timedelta(days=181))).reports == 1
    assert await excerpt(database, default) == ""


async def test_a_departed_server_is_deleted_after_the_set_time(database: Database) -> None:
    left = datetime.now(UTC)
    async with database.transaction() as conn:
        await cases.create_case(conn, DEPARTED, "ban", user_id=7)
        await retention.record_departure(conn, DEPARTED, left)
    job = RetentionJob(database, guild_settings.SettingsCache(database))
    assert (await job.run(left + timedelta(days=29))).servers_deleted == ()
    assert (await job.run(left + job.DEPARTED_KEPT + timedelta(hours=1))).servers_deleted == (
        DEPARTED,
    )
    async with database.connect() as conn:
        assert await cases.count_cases(conn, DEPARTED) == 0
        assert await retention.departed_guild_ids(conn) == []
