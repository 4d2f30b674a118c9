"""Cases: the audit trail. Every moderator action, automatic or not, is one numbered case.

`create_case` is the only way a case is written, so no action can skip the trail. Case numbers
are per guild and come from `db.counters`, inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind
from db.counters import next_number
from db.schema import cases


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    guild_id: int
    number: int
    kind: CaseKind
    user_id: int | None
    moderator_id: int | None
    reason: str
    channel_id: int | None
    message_id: int | None
    entry_id: int | None
    distance: int | None
    report_id: int | None
    created_at: datetime
    user_name: str | None = None  # the member's username when the case was written


# Built once: every removal writes a case, and building the statement with `.values()` each time
# cost about as much as running it.
_INSERT_CASE = cases.insert().returning(*cases.c)


def _case(row: RowMapping) -> Case:
    return Case(**{**row, "kind": CaseKind(row["kind"])})


async def create_case(
    conn: AsyncConnection,
    guild_id: int,
    kind: CaseKind,
    *,
    user_id: int | None = None,
    user_name: str | None = None,
    moderator_id: int | None = None,
    reason: str = "",
    channel_id: int | None = None,
    message_id: int | None = None,
    entry_id: int | None = None,
    distance: int | None = None,
    report_id: int | None = None,
) -> Case:
    number = await next_number(conn, guild_id, "case")
    values = {
        "guild_id": guild_id,
        "number": number,
        "kind": kind,
        "user_id": user_id,
        "user_name": user_name[:100] if user_name else None,
        "moderator_id": moderator_id,
        "reason": reason,
        "channel_id": channel_id,
        "message_id": message_id,
        "entry_id": entry_id,
        "distance": distance,
        "report_id": report_id,
    }
    return _case((await conn.execute(_INSERT_CASE, values)).mappings().one())


async def list_cases(
    conn: AsyncConnection,
    guild_id: int,
    *,
    user_id: int | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[Case]:
    """Newest first; `user_id` narrows to the cases about one member."""
    query = select(cases).where(cases.c.guild_id == guild_id)
    if user_id is not None:
        query = query.where(cases.c.user_id == user_id)
    query = query.order_by(cases.c.number.desc()).limit(limit).offset(offset)
    return [_case(row) for row in (await conn.execute(query)).mappings()]


async def cases_for_report(conn: AsyncConnection, report_id: int) -> list[Case]:
    """What was done about one report, oldest first."""
    rows = await conn.execute(
        select(cases).where(cases.c.report_id == report_id).order_by(cases.c.number)
    )
    return [_case(row) for row in rows.mappings()]


async def count_cases(
    conn: AsyncConnection,
    guild_id: int,
    *,
    user_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    since: datetime | None = None,
) -> int:
    query = select(func.count()).select_from(cases).where(cases.c.guild_id == guild_id)
    if user_id is not None:
        query = query.where(cases.c.user_id == user_id)
    if kinds:
        query = query.where(cases.c.kind.in_(kinds))
    if since is not None:
        query = query.where(cases.c.created_at >= since)
    return (await conn.scalar(query)) or 0
