"""Reports: one open report per reported message or user, joined by every later reporter.

The hashes of the reported media are stored with the report at report time, because the author
may delete the message a minute later and Discord drops its attachments with it. Reporters are
kept per report (who, which category, what they wrote) and shown to moderators only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import Hash
from core.vocabulary import ReportStatus
from db.counters import next_number
from db.schema import REPORT_STATUSES, report_hashes, report_reporters, reports

# What fans choose from (DESIGN.md, "What users see"): stored value -> the name people see.
CATEGORIES: dict[str, str] = {
    "sexualized": "Sexualized content",
    "deepfake": "Deepfake / AI-manipulated",
    "harassment": "Harassment or hate",
    "privacy": "Privacy / doxxing",
    "spam": "Spam or scam",
    "other": "Other",
}
# Urgent: the moderators are pinged, and these reports count toward hiding a message.
URGENT_CATEGORIES = ("sexualized", "deepfake")


class AlreadyReported(Exception):
    """This reporter already reported this message or user; the open report is attached."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"already reported in report #{report.number}")
        self.report = report


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    guild_id: int
    number: int
    target_kind: str
    target_key: str
    target_user_id: int
    channel_id: int | None
    message_id: int | None
    category: str
    excerpt: str
    status: ReportStatus
    hidden: bool
    queue_channel_id: int | None
    queue_message_id: int | None
    created_at: datetime
    resolved_by: int | None
    resolved_at: datetime | None
    resolution_reason: str | None
    target_name: str | None = None  # the reported member's username when first reported

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class Reporter:
    report_id: int
    reporter_id: int
    category: str
    details: str
    evidence_url: str | None
    established: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReportTarget:
    """What is reported: a message (with its channel and author) or a user."""

    kind: str
    user_id: int
    channel_id: int | None = None
    message_id: int | None = None
    excerpt: str = ""
    name: str | None = None  # the member's username now, kept as evidence names them

    @property
    def key(self) -> str:
        return f"message:{self.message_id}" if self.kind == "message" else f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class FiledReport:
    report: Report
    created: bool  # False: the reporter joined an open report
    reporter_count: int


def _report(row: RowMapping) -> Report:
    return Report(**{**row, "status": ReportStatus(row["status"])})


async def open_report_for(conn: AsyncConnection, guild_id: int, key: str) -> Report | None:
    row = (
        (
            await conn.execute(
                select(reports).where(
                    reports.c.guild_id == guild_id,
                    reports.c.target_key == key,
                    reports.c.status == "open",
                )
            )
        )
        .mappings()
        .first()
    )
    return _report(row) if row else None


async def _create_report(
    conn: AsyncConnection, guild_id: int, target: ReportTarget, category: str
) -> Report | None:
    """Insert a new open report, or None when a concurrent writer opened one first."""
    try:
        async with conn.begin_nested():
            number = await next_number(conn, guild_id, "report")
            row = (
                (
                    await conn.execute(
                        reports.insert()
                        .values(
                            guild_id=guild_id,
                            number=number,
                            target_kind=target.kind,
                            target_key=target.key,
                            target_user_id=target.user_id,
                            target_name=target.name[:100] if target.name else None,
                            channel_id=target.channel_id,
                            message_id=target.message_id,
                            category=category,
                            excerpt=target.excerpt,
                        )
                        .returning(*reports.c)
                    )
                )
                .mappings()
                .one()
            )
    except IntegrityError:
        return None
    return _report(row)


async def file_report(
    conn: AsyncConnection,
    guild_id: int,
    target: ReportTarget,
    *,
    reporter_id: int,
    category: str,
    details: str = "",
    evidence_url: str | None = None,
    established: bool = True,
) -> FiledReport:
    """Open a report on `target` or join the open one. Raises AlreadyReported on a repeat.

    `established`: whether the reporter's account and membership were old enough to count
    towards auto-hide."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown report category {category!r}")
    created = False
    report = await open_report_for(conn, guild_id, target.key)
    if report is None:
        report = await _create_report(conn, guild_id, target, category)
        created = report is not None
        report = report or await open_report_for(conn, guild_id, target.key)
        assert report is not None
    if await has_reported(conn, report.id, reporter_id):
        raise AlreadyReported(report)
    await conn.execute(
        report_reporters.insert().values(
            report_id=report.id,
            reporter_id=reporter_id,
            category=category,
            details=details,
            evidence_url=evidence_url,
            established=established,
        )
    )
    return FiledReport(report, created, await count_reporters(conn, report.id))


async def has_reported(conn: AsyncConnection, report_id: int, reporter_id: int) -> bool:
    found = await conn.scalar(
        select(report_reporters.c.reporter_id).where(
            report_reporters.c.report_id == report_id,
            report_reporters.c.reporter_id == reporter_id,
        )
    )
    return found is not None


async def count_reporters(
    conn: AsyncConnection,
    report_id: int,
    *,
    categories: Sequence[str] | None = None,
    established_only: bool = False,
) -> int:
    query = select(func.count()).where(report_reporters.c.report_id == report_id)
    if categories:
        query = query.where(report_reporters.c.category.in_(categories))
    if established_only:
        query = query.where(report_reporters.c.established)
    return (await conn.scalar(query)) or 0


async def reporters(conn: AsyncConnection, report_id: int) -> list[Reporter]:
    rows = await conn.execute(
        select(report_reporters)
        .where(report_reporters.c.report_id == report_id)
        .order_by(report_reporters.c.created_at, report_reporters.c.reporter_id)
    )
    return [Reporter(**row) for row in rows.mappings()]


async def get_report(conn: AsyncConnection, report_id: int) -> Report | None:
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))).mappings().first()
    return _report(row) if row else None


async def add_hashes(
    conn: AsyncConnection,
    report_id: int,
    hashes: Sequence[Hash],
    *,
    variants: Sequence[Hash] = (),
) -> None:
    """Store the reported media's hashes; `variants` are its crops and rotations."""
    known = set(await stored_hashes(conn, report_id)) | set(
        await stored_hashes(conn, report_id, variants=True)
    )
    rows = []
    for is_variant, group in ((False, hashes), (True, variants)):
        for h in dict.fromkeys(group):
            if h not in known:
                known.add(h)
                rows.append(
                    {
                        "report_id": report_id,
                        "algorithm": h.algorithm,
                        "hash": h.hex,
                        "is_variant": is_variant,
                    }
                )
    if rows:
        await conn.execute(report_hashes.insert(), rows)


async def stored_hashes(
    conn: AsyncConnection, report_id: int, *, variants: bool = False
) -> list[Hash]:
    """The reported media's own hashes, or with `variants` its crops' and rotations'."""
    rows = await conn.execute(
        select(report_hashes.c.algorithm, report_hashes.c.hash)
        .where(report_hashes.c.report_id == report_id, report_hashes.c.is_variant.is_(variants))
        .order_by(report_hashes.c.id)
    )
    return [Hash(algorithm, hex_digits) for algorithm, hex_digits in rows]


async def set_queue_message(
    conn: AsyncConnection, report_id: int, channel_id: int, message_id: int
) -> None:
    await conn.execute(
        update(reports)
        .where(reports.c.id == report_id)
        .values(queue_channel_id=channel_id, queue_message_id=message_id)
    )


async def forget_queue_message(conn: AsyncConnection, message_id: int) -> Report | None:
    """A queue message was deleted: forget it, so the report is posted again. The report, if any."""
    row = (
        (await conn.execute(select(reports).where(reports.c.queue_message_id == message_id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    await conn.execute(
        update(reports)
        .where(reports.c.id == row["id"])
        .values(queue_channel_id=None, queue_message_id=None)
    )
    return await get_report(conn, row["id"])


async def mark_hidden(conn: AsyncConnection, report_id: int) -> None:
    await conn.execute(update(reports).where(reports.c.id == report_id).values(hidden=True))


async def resolve(
    conn: AsyncConnection,
    report_id: int,
    *,
    status: str,
    resolved_by: int,
    reason: str | None = None,
) -> Report | None:
    """Close an open report. None when it was already closed (two moderators clicked at once)."""
    if status not in REPORT_STATUSES or status == "open":
        raise ValueError(f"a report can't be resolved as {status!r}")
    result = await conn.execute(
        update(reports)
        .where(reports.c.id == report_id, reports.c.status == "open")
        .values(
            status=status,
            resolved_by=resolved_by,
            resolved_at=datetime.now(UTC),
            resolution_reason=reason,
        )
    )
    if result.rowcount == 0:
        return None
    return await get_report(conn, report_id)


async def count_recent_reports_by(
    conn: AsyncConnection, guild_id: int, reporter_id: int, since: datetime
) -> int:
    """How many reports this member filed in the guild since `since` (for abuse limits)."""
    return (
        await conn.scalar(
            select(func.count())
            .select_from(report_reporters.join(reports))
            .where(
                reports.c.guild_id == guild_id,
                report_reporters.c.reporter_id == reporter_id,
                report_reporters.c.created_at >= since,
            )
        )
    ) or 0


async def open_reports_not_in_queue(
    conn: AsyncConnection, guild_id: int, limit: int = 10
) -> list[Report]:
    """Open reports with no queue message (none was posted, or it was deleted): oldest first."""
    rows = await conn.execute(
        select(reports)
        .where(
            reports.c.guild_id == guild_id,
            reports.c.status == "open",
            reports.c.queue_message_id.is_(None),
        )
        .order_by(reports.c.number)
        .limit(limit)
    )
    return [_report(row) for row in rows.mappings()]


async def report_numbers(conn: AsyncConnection, report_ids: Sequence[int]) -> dict[int, int]:
    """Report id -> the report's number in its guild (what moderators and reporters see)."""
    if not report_ids:
        return {}
    rows = await conn.execute(
        select(reports.c.id, reports.c.number).where(reports.c.id.in_(set(report_ids)))
    )
    return {report_id: number for report_id, number in rows}
