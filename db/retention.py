"""Data has an end: what expires after a server's retention period, what forgetting a member
deletes, and what goes when a server's data is deleted after the bot left it.

What is kept, and why: cases (numbered, with the ids of who did what to whom) are the audit
trail a server's moderators answer for, and takedown hashes are what keeps abuse down; neither
can name anyone but by id. What expires is what people wrote or posted: the text of reported
messages, reporters' notes and evidence links, dismissal reasons, match alerts and explicit-image
flags (with the hashes they kept). Pictures a server cleared as "Not explicit" are hashes, kept
like its allowlist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import ReportStatus
from db import recent_media, takedown_changes
from db.schema import (
    allowlist,
    cases,
    departed_guilds,
    entry_holds,
    explicit_cleared,
    explicit_exemptions,
    explicit_flags,
    flood_matches,
    guild_counters,
    guild_settings,
    hash_lists,
    match_alerts,
    report_reporters,
    reports,
    rule_posts,
    rules,
    scan_positions,
    skipped_channels,
    subscriptions,
    takedown_entries,
)
from db.upsert import upsert


@dataclass(frozen=True, slots=True)
class Expired:
    """What one server's retention run cleared."""

    reports: int  # closed reports whose text and notes were cleared
    alerts: int  # alerts deleted
    flags: int = 0  # explicit-image flags deleted


async def guilds_with_records(conn: AsyncConnection) -> list[int]:
    """Every server with reports, alerts or flags: the ones retention has to look at."""
    query = union(  # distinct
        select(reports.c.guild_id),
        select(match_alerts.c.guild_id),
        select(explicit_flags.c.guild_id),
    )
    return sorted(await conn.scalars(query))


async def expire(conn: AsyncConnection, guild_id: int, before: datetime) -> Expired:
    """Clear the text and notes of the server's reports closed before `before`, and delete its
    alerts and explicit-image flags made before then. Cases and list hashes stay: they are the
    audit record."""
    closed = (
        select(reports.c.id)
        .where(
            reports.c.guild_id == guild_id,
            reports.c.status != ReportStatus.OPEN.value,
            reports.c.resolved_at < before,
        )
        .where((reports.c.excerpt != "") | reports.c.resolution_reason.is_not(None))
    )
    ids = list(await conn.scalars(closed))
    if ids:
        await conn.execute(
            update(reports).where(reports.c.id.in_(ids)).values(excerpt="", resolution_reason=None)
        )
        await conn.execute(
            update(report_reporters)
            .where(report_reporters.c.report_id.in_(ids))
            .values(details="", evidence_url=None)
        )
    gone = await conn.execute(
        delete(match_alerts).where(
            match_alerts.c.guild_id == guild_id, match_alerts.c.created_at < before
        )
    )
    flags = await conn.execute(
        delete(explicit_flags).where(
            explicit_flags.c.guild_id == guild_id, explicit_flags.c.created_at < before
        )
    )
    return Expired(reports=len(ids), alerts=gone.rowcount, flags=flags.rowcount)


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What forgetting a member removed."""

    reports_about: int  # reports on them or their messages, deleted with their text and hashes
    reports_by: int  # reports they filed, their notes with them
    alerts: int  # alerts on their messages
    cases: int  # cases about them, reasons cleared (the numbers and ids stay)
    # (channel id, message id) of the deleted reports' queue messages, to delete too
    queue_messages: tuple[tuple[int, int], ...] = ()
    redraw: tuple[int, ...] = ()  # reports they had joined: their queue messages change
    flags: int = 0  # explicit-image flags on their messages
    recent: int = 0  # their posts' files in the recent-hash store


async def forget_member(conn: AsyncConnection, guild_id: int, user_id: int) -> Forgotten:
    """Forget a member in one server: their reports, their notes, the excerpts of their
    messages, the alerts and explicit-image flags on them and the recent hashes of their posts
    go; cases keep their id and number only.

    Where they acted as a moderator (resolved a report or an alert, added an entry, decided a
    hash), their id is cleared from that record.
    """
    about_them = (reports.c.guild_id == guild_id) & (reports.c.target_user_id == user_id)
    queued = await conn.execute(
        select(reports.c.queue_channel_id, reports.c.queue_message_id).where(
            about_them, reports.c.queue_message_id.is_not(None)
        )
    )
    queue_messages = tuple((row[0], row[1]) for row in queued)
    about = await conn.execute(delete(reports).where(about_them))
    theirs = (report_reporters.c.reporter_id == user_id) & report_reporters.c.report_id.in_(
        select(reports.c.id).where(reports.c.guild_id == guild_id)
    )
    redraw = tuple(await conn.scalars(select(report_reporters.c.report_id).where(theirs)))
    by = await conn.execute(delete(report_reporters).where(theirs))
    alerts = await conn.execute(
        delete(match_alerts).where(
            match_alerts.c.guild_id == guild_id, match_alerts.c.author_id == user_id
        )
    )
    flags = await conn.execute(
        delete(explicit_flags).where(
            explicit_flags.c.guild_id == guild_id, explicit_flags.c.author_id == user_id
        )
    )
    recent = await recent_media.forget_author(conn, guild_id, user_id)
    case_rows = await conn.execute(
        update(cases)
        .where(cases.c.guild_id == guild_id, cases.c.user_id == user_id)
        .values(reason="", user_name=None)
    )
    for table, column in (
        (reports, reports.c.resolved_by),
        (match_alerts, match_alerts.c.resolved_by),
        (allowlist, allowlist.c.decided_by),
        (explicit_flags, explicit_flags.c.resolved_by),
        (explicit_cleared, explicit_cleared.c.decided_by),
    ):
        await conn.execute(
            update(table)
            .where(table.c.guild_id == guild_id, column == user_id)
            .values({column.name: None})
        )
    own_entries = (
        select(takedown_entries.c.id)
        .join(hash_lists)
        .where(hash_lists.c.owner_guild_id == guild_id)
    )
    await conn.execute(
        update(takedown_entries)
        .where(takedown_entries.c.id.in_(own_entries), takedown_entries.c.added_by == user_id)
        .values(added_by=None)
    )
    return Forgotten(
        about.rowcount,
        by.rowcount,
        alerts.rowcount,
        case_rows.rowcount,
        queue_messages,
        redraw,
        flags.rowcount,
        recent,
    )


async def record_departure(conn: AsyncConnection, guild_id: int, at: datetime) -> None:
    """The bot was removed from a server: its data is deleted a set time after `at`."""
    await conn.execute(
        upsert(conn, departed_guilds, {"guild_id": guild_id, "left_at": at}, keys=("guild_id",))
    )


async def cancel_departure(conn: AsyncConnection, guild_id: int) -> None:
    """The bot is back in a server before its data was deleted: keep it."""
    await conn.execute(delete(departed_guilds).where(departed_guilds.c.guild_id == guild_id))


async def departed_before(conn: AsyncConnection, before: datetime) -> list[int]:
    query = select(departed_guilds.c.guild_id).where(departed_guilds.c.left_at < before)
    return sorted(await conn.scalars(query))


async def departed_guild_ids(conn: AsyncConnection) -> list[int]:
    return sorted(await conn.scalars(select(departed_guilds.c.guild_id)))


async def forget_guild(conn: AsyncConnection, guild_id: int) -> None:
    """Delete every row of a server: settings, lists (other servers' subscriptions to its list
    end), reports, cases, alerts, rules, scan positions, flood holds. The change log tells every
    process's index that the server's entries are gone."""
    own_list = select(hash_lists.c.id).where(hash_lists.c.owner_guild_id == guild_id)
    entry_ids = list(
        await conn.scalars(
            select(takedown_entries.c.id).where(takedown_entries.c.list_id.in_(own_list))
        )
    )
    await takedown_changes.record_entries(conn, "entry_removed", entry_ids)
    await takedown_changes.record_scope_change(conn, None)
    await conn.execute(delete(match_alerts).where(match_alerts.c.guild_id == guild_id))
    await conn.execute(delete(explicit_flags).where(explicit_flags.c.guild_id == guild_id))
    await recent_media.forget_guild(conn, guild_id)
    await conn.execute(delete(cases).where(cases.c.guild_id == guild_id))
    await conn.execute(delete(reports).where(reports.c.guild_id == guild_id))
    await conn.execute(delete(subscriptions).where(subscriptions.c.list_id.in_(own_list)))
    await conn.execute(delete(hash_lists).where(hash_lists.c.owner_guild_id == guild_id))
    for table in (
        subscriptions,
        allowlist,
        explicit_cleared,
        explicit_exemptions,
        entry_holds,
        flood_matches,
        rules,
        rule_posts,
        scan_positions,
        skipped_channels,
        guild_counters,
        guild_settings,
        departed_guilds,
    ):
        await conn.execute(delete(table).where(table.c.guild_id == guild_id))
