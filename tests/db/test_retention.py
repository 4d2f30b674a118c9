"""Data has an end: closed reports' text and old alerts expire (with a moved clock), forgetting a
member leaves no row naming them but the cases' ids, and a departed server's data is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.hashes import Hash
from core.vocabulary import ReportStatus
from db import alerts, cases, flood_holds, guild_settings, reports, retention, rules, takedowns
from db.alerts import NewAlert
from db.engine import Database
from db.reports import ReportTarget
from db.schema import metadata
from db.takedowns import NewEntry

GUILD, OTHER_GUILD = 4001, 4002
USER = 987_654_321  # the member to forget: a number no other row holds by chance
MODERATOR = 5
PDQ = Hash("pdq", "ab" * 32)


def message_by(user_id: int, message_id: int) -> ReportTarget:
    return ReportTarget(
        "message", user_id=user_id, channel_id=9, message_id=message_id, excerpt="their words"
    )


async def an_alert(conn, guild_id: int, author_id: int) -> None:  # type: ignore[no-untyped-def]
    entry = await takedowns.add_entry(
        conn, guild_id, NewEntry((PDQ,), "leak"), source="hash", added_by=MODERATOR
    )
    own = await takedowns.get_own_list(conn, guild_id)
    await alerts.create_alert(
        conn,
        NewAlert(
            guild_id, 9, 100, author_id, entry.id, own.id, "pdq", 3, "takedown", True, PDQ, None
        ),
    )


async def test_closed_reports_lose_their_text_and_alerts_go_after_the_retention_period(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        closed = await reports.file_report(
            conn, GUILD, message_by(77, 1), reporter_id=1, category="spam", details="scam link"
        )
        await reports.resolve(
            conn,
            closed.report.id,
            status=ReportStatus.DISMISSED,
            resolved_by=MODERATOR,
            reason="a joke",
        )
        still_open = await reports.file_report(
            conn, GUILD, message_by(78, 2), reporter_id=1, category="spam", details="again"
        )
        await cases.create_case(conn, GUILD, "report_dismissed", user_id=77, reason="a joke")
        await an_alert(conn, GUILD, 77)
    now = datetime.now(UTC)
    days = (await guild_settings.SettingsCache(database).get(GUILD)).retention_days
    assert days == 180

    async with database.transaction() as conn:
        assert await retention.guilds_with_records(conn) == [GUILD]
        assert await retention.expire(conn, GUILD, now - timedelta(days=days)) == (
            retention.Expired(reports=0, alerts=0)
        )
        later = now + timedelta(days=days + 1)  # the clock, moved past the period
        assert await retention.expire(conn, GUILD, later - timedelta(days=days)) == (
            retention.Expired(reports=1, alerts=1)
        )
    async with database.connect() as conn:
        expired = await reports.get_report(conn, closed.report.id)
        kept = await reports.get_report(conn, still_open.report.id)
        (reporter,) = await reports.reporters(conn, closed.report.id)
        (open_reporter,) = await reports.reporters(conn, still_open.report.id)
        (case,) = await cases.list_cases(conn, GUILD)
    assert expired is not None and (expired.excerpt, expired.resolution_reason) == ("", None)
    assert expired.status == ReportStatus.DISMISSED and reporter.details == ""
    assert kept is not None and kept.excerpt == "their words" and open_reporter.details == "again"
    assert (case.user_id, case.reason) == (77, "a joke")  # the audit record stays


async def rows_holding(database: Database, value: int) -> set[str]:
    """`table.column` of every cell in the database equal to `value`."""
    found = set()
    async with database.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                found |= {f"{table.name}.{name}" for name, cell in row.items() if cell == value}
    return found


async def test_forgetting_a_member_leaves_no_row_naming_them_but_the_cases_ids(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        await reports.file_report(
            conn, GUILD, message_by(USER, 1), reporter_id=1, category="sexualized"
        )
        await reports.file_report(
            conn, GUILD, ReportTarget("user", user_id=USER), reporter_id=2, category="spam"
        )
        theirs = await reports.file_report(
            conn, GUILD, message_by(3, 2), reporter_id=USER, category="spam", details="I saw it"
        )
        await reports.file_report(conn, GUILD, message_by(3, 2), reporter_id=4, category="spam")
        await reports.resolve(
            conn, theirs.report.id, status=ReportStatus.DISMISSED, resolved_by=USER
        )
        await cases.create_case(
            conn, GUILD, "ban", user_id=USER, user_name="their_name", reason="posted a leak again"
        )
        await cases.create_case(conn, GUILD, "timeout", user_id=3, moderator_id=USER)
        await an_alert(conn, GUILD, USER)
        await takedowns.add_entry(
            conn, GUILD, NewEntry((Hash("pdq", "cd" * 32),)), source="hash", added_by=USER
        )
        await reports.file_report(  # another server's records are not this server's to forget
            conn, OTHER_GUILD, message_by(USER, 7), reporter_id=1, category="spam"
        )

    async with database.transaction() as conn:
        forgotten = await retention.forget_member(conn, GUILD, USER)
    assert (forgotten.reports_about, forgotten.reports_by) == (2, 1)
    assert (forgotten.alerts, forgotten.cases, forgotten.redraw) == (1, 1, (theirs.report.id,))
    assert await rows_holding(database, USER) == {
        "cases.user_id",
        "cases.moderator_id",
        "reports.target_user_id",  # the other server's report
    }
    async with database.connect() as conn:
        (other,) = await reports.reporters(conn, theirs.report.id)
        listed = await cases.list_cases(conn, GUILD)
    assert other.reporter_id == 4  # the other reporter of that report stays
    assert [(c.number, c.user_id, c.reason, c.user_name) for c in listed][-1] == (
        1,
        USER,
        "",
        None,  # their username at the time goes with the rest
    )


async def test_a_server_the_bot_left_is_deleted_after_the_set_time_unless_it_came_back(
    database: Database,
) -> None:
    left = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.transaction() as conn:
        for guild_id in (GUILD, OTHER_GUILD):
            await guild_settings.update_settings(conn, guild_id, dm_author=True)
            await rules.add_rule(conn, guild_id, "Be kind", "", None)
            await cases.create_case(conn, guild_id, "ban", user_id=USER)
            await an_alert(conn, guild_id, USER)
            await retention.record_departure(conn, guild_id, left)
        await retention.cancel_departure(conn, OTHER_GUILD)  # re-invited in time
        shared = await takedowns.add_entry(  # another server's entry, held in this one
            conn, OTHER_GUILD, NewEntry((Hash("pdq", "ab" * 32),)), source="hash", added_by=None
        )
        for message_id in (1, 2):
            await flood_holds.count_removal(conn, GUILD, shared.id, message_id, 5, left)
    async with database.connect() as conn:
        assert await retention.departed_before(conn, left) == []
        due = await retention.departed_before(conn, left + timedelta(days=31))
    assert due == [GUILD]
    async with database.transaction() as conn:
        await retention.forget_guild(conn, GUILD)
    assert await rows_holding(database, GUILD) == set()
    assert "cases.guild_id" in await rows_holding(database, OTHER_GUILD)
