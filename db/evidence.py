"""Evidence for a complaint: cases joined with what the database keeps about each.

One row a case (or, for a report or an alert nobody has decided yet, a row for the record
itself): where and when, whose message, the entry it matched and how close, the hashes of the
upload (never the media, which the database can't hold), the report's categories and
reporters. Read in a few batched queries however many cases are asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.schema import (
    cases,
    hash_lists,
    match_alerts,
    report_hashes,
    report_reporters,
    reports,
    takedown_entries,
)

MAX_ROWS = 10_000  # an export past this is refused: narrow it by date or case numbers
CHUNK = 400  # ids a query asks for at once (SQLite's older builds take 999 parameters)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which cases to export; every given filter must hold. `numbers` are inclusive ranges of
    case numbers; `since` and `until` bound the case's time (until excluded)."""

    numbers: tuple[tuple[int, int], ...] = ()
    user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    report_id: int | None = None  # a report's cases, or the report itself while it is open
    alert_id: int | None = None  # an alert's case
    case_id: int | None = None  # one case, by its id (a flag's, a removal's)


@dataclass(frozen=True, slots=True)
class Entry:
    """The matched entry as evidence names it; `label` is None when it isn't this server's to
    show (another server's list, label not shared) or the entry was since removed."""

    id: int
    label: str | None
    own_list: bool
    source: str  # how it was added: upload, message, hash, import, report


@dataclass(slots=True)
class EvidenceRow:
    case_number: int | None
    kind: str  # the case's kind, or "report" / "alert" for an undecided record
    time: datetime
    channel_id: int | None = None
    message_id: int | None = None
    author_id: int | None = None
    author_name: str | None = None
    moderator_id: int | None = None
    reason: str = ""
    entry_id: int | None = None
    entry: Entry | None = None
    algorithm: str | None = None
    distance: int | None = None
    tier: str | None = None
    pdq: str | None = None
    phash: str | None = None
    removed: bool | None = None
    report_number: int | None = None
    report_categories: dict[str, int] = field(default_factory=dict)
    reporters: list[tuple[int, str]] = field(default_factory=list)  # (id, category)
    outcome: str | None = None  # the alert's or the report's status

    @property
    def reporter_count(self) -> int:
        return sum(self.report_categories.values())


class TooMany(Exception):
    """More than MAX_ROWS cases were asked for."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} cases")
        self.count = count


async def evidence_rows(
    conn: AsyncConnection, guild_id: int, selection: Selection
) -> list[EvidenceRow]:
    """The rows for `selection`, oldest case first; raises TooMany past MAX_ROWS."""
    found = list(
        (await conn.execute(_case_query(guild_id, selection).limit(MAX_ROWS + 1))).mappings()
    )
    if len(found) > MAX_ROWS:
        raise TooMany(len(found))
    rows = [
        EvidenceRow(
            case_number=case["number"],
            kind=case["kind"],
            time=case["created_at"],
            channel_id=case["channel_id"],
            message_id=case["message_id"],
            author_id=case["user_id"],
            author_name=case["user_name"],
            moderator_id=case["moderator_id"],
            reason=case["reason"],
            entry_id=case["entry_id"],
            distance=case["distance"],
        )
        for case in found
    ]
    report_ids = [case["report_id"] for case in found]
    case_ids = [case["id"] for case in found]
    if not rows and selection.report_id is not None:
        rows, report_ids, case_ids = await _undecided_report(conn, guild_id, selection.report_id)
    if not rows and selection.alert_id is not None:
        rows, case_ids = await _undecided_alert(conn, guild_id, selection.alert_id)
        report_ids = [None] * len(rows)
    await _add_alerts(conn, guild_id, rows, case_ids, alert_id=selection.alert_id)
    await _add_reports(conn, rows, report_ids)
    await _add_entries(conn, guild_id, rows)
    return rows


def _case_query(guild_id: int, selection: Selection) -> Select:
    query = select(cases).where(cases.c.guild_id == guild_id)
    if selection.numbers:
        query = query.where(
            or_(*(cases.c.number.between(low, high) for low, high in selection.numbers))
        )
    if selection.user_id is not None:
        query = query.where(cases.c.user_id == selection.user_id)
    if selection.since is not None:
        query = query.where(cases.c.created_at >= selection.since)
    if selection.until is not None:
        query = query.where(cases.c.created_at < selection.until)
    if selection.report_id is not None:
        query = query.where(cases.c.report_id == selection.report_id)
    if selection.case_id is not None:
        query = query.where(cases.c.id == selection.case_id)
    if selection.alert_id is not None:
        case_of_alert = select(match_alerts.c.case_id).where(
            match_alerts.c.id == selection.alert_id, match_alerts.c.guild_id == guild_id
        )
        query = query.where(cases.c.id.in_(case_of_alert.scalar_subquery()))
    return query.order_by(cases.c.number)


async def _undecided_report(
    conn: AsyncConnection, guild_id: int, report_id: int
) -> tuple[list[EvidenceRow], list[int | None], list[int]]:
    """A report with no case yet, as one row."""
    report = (
        (
            await conn.execute(
                select(reports).where(reports.c.id == report_id, reports.c.guild_id == guild_id)
            )
        )
        .mappings()
        .first()
    )
    if report is None:
        return [], [], []
    row = EvidenceRow(
        case_number=None,
        kind="report",
        time=report["created_at"],
        channel_id=report["channel_id"],
        message_id=report["message_id"],
        author_id=report["target_user_id"],
        author_name=report["target_name"],
    )
    return [row], [report_id], [-1]


async def _undecided_alert(
    conn: AsyncConnection, guild_id: int, alert_id: int
) -> tuple[list[EvidenceRow], list[int]]:
    """An alert whose case is gone, as one row (its alert columns are added next)."""
    alert = (
        (
            await conn.execute(
                select(match_alerts).where(
                    match_alerts.c.id == alert_id, match_alerts.c.guild_id == guild_id
                )
            )
        )
        .mappings()
        .first()
    )
    if alert is None:
        return [], []
    row = EvidenceRow(case_number=None, kind="alert", time=alert["created_at"])
    return [row], [-1]


async def _add_alerts(
    conn: AsyncConnection,
    guild_id: int,
    rows: Sequence[EvidenceRow],
    case_ids: Sequence[int],
    *,
    alert_id: int | None,
) -> None:
    """Each case's match alert: by the case it wrote, else the alert on the same message (a
    moderator's later decision on it)."""
    if not rows:
        return
    by_case: dict[int, dict] = {}
    by_message: dict[int, dict] = {}
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        messages = [row.message_id for row in part if row.message_id is not None]
        condition = match_alerts.c.case_id.in_(case_ids[start : start + CHUNK])
        if messages:
            condition = or_(condition, match_alerts.c.message_id.in_(messages))
        if alert_id is not None:
            condition = or_(condition, match_alerts.c.id == alert_id)
        found = await conn.execute(
            select(match_alerts)
            .where(match_alerts.c.guild_id == guild_id, condition)
            .order_by(match_alerts.c.id)
        )
        for alert in found.mappings():
            if alert["case_id"] is not None:
                by_case[alert["case_id"]] = dict(alert)
            by_message.setdefault(alert["message_id"], dict(alert))
            if alert["id"] == alert_id:
                by_case[-1] = dict(alert)
    for row, case_id in zip(rows, case_ids, strict=True):
        alert = by_case.get(case_id) or by_message.get(row.message_id or -1)
        if alert is None:
            continue
        row.channel_id = row.channel_id or alert["channel_id"]
        row.message_id = row.message_id or alert["message_id"]
        row.author_id = row.author_id or alert["author_id"]
        row.entry_id = row.entry_id or alert["entry_id"]
        row.algorithm = alert["algorithm"]
        row.distance = row.distance if row.distance is not None else alert["distance"]
        row.tier = alert["tier"]
        row.pdq, row.phash = alert["upload_pdq"], alert["upload_phash"]
        row.removed = alert["removed"]
        row.outcome = alert["status"]


async def _add_reports(
    conn: AsyncConnection, rows: Sequence[EvidenceRow], report_ids: Sequence[int | None]
) -> None:
    """Each case's report: number, status, categories, reporters, and the kept hashes."""
    wanted = sorted({report_id for report_id in report_ids if report_id is not None})
    if not wanted:
        return
    found: dict[int, dict] = {}
    reporters: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
    kept: defaultdict[int, dict[str, str]] = defaultdict(dict)
    reporter = report_reporters.c
    for part in _chunks(wanted):
        for report in (
            await conn.execute(select(reports).where(reports.c.id.in_(part)))
        ).mappings():
            found[report["id"]] = dict(report)
        for report_id, reporter_id, category in await conn.execute(
            select(reporter.report_id, reporter.reporter_id, reporter.category)
            .where(reporter.report_id.in_(part))
            .order_by(reporter.created_at)
        ):
            reporters[report_id].append((reporter_id, category))
        for report_id, algorithm, digits in await conn.execute(
            select(report_hashes.c.report_id, report_hashes.c.algorithm, report_hashes.c.hash)
            .where(report_hashes.c.report_id.in_(part), report_hashes.c.is_variant.is_(False))
            .order_by(report_hashes.c.id)
        ):
            kept[report_id].setdefault(algorithm, digits)
    for row, report_id in zip(rows, report_ids, strict=True):
        report = found.get(report_id) if report_id is not None else None
        if report is None:
            continue
        row.report_number = report["number"]
        row.outcome = report["status"]
        row.channel_id = row.channel_id or report["channel_id"]
        row.message_id = row.message_id or report["message_id"]
        row.author_name = row.author_name or report["target_name"]
        row.reporters = reporters[report_id]
        categories: dict[str, int] = {}
        for _, category in row.reporters:
            categories[category] = categories.get(category, 0) + 1
        row.report_categories = categories
        row.pdq = row.pdq or kept[report_id].get("pdq")
        row.phash = row.phash or kept[report_id].get("phash")


async def _add_entries(conn: AsyncConnection, guild_id: int, rows: Iterable[EvidenceRow]) -> None:
    rows = list(rows)
    wanted = sorted({row.entry_id for row in rows if row.entry_id is not None})
    if not wanted:
        return
    entries = {}
    for part in _chunks(wanted):
        found = await conn.execute(
            select(
                takedown_entries.c.id,
                takedown_entries.c.label,
                takedown_entries.c.label_shareable,
                takedown_entries.c.source,
                hash_lists.c.owner_guild_id,
            )
            .join(hash_lists, hash_lists.c.id == takedown_entries.c.list_id)
            .where(takedown_entries.c.id.in_(part))
        )
        for entry_id, label, shareable, source, owner in found:
            own = owner == guild_id
            shown = label if (own or shareable) and label else None
            entries[entry_id] = Entry(entry_id, shown, own, source)
    for row in rows:
        if row.entry_id is not None:
            row.entry = entries.get(row.entry_id)


def _chunks(values: Sequence[int]) -> list[Sequence[int]]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]
