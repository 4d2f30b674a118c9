"""Match alerts: what the scanner matched, what it did, and what a moderator decided.

An alert is about a posted message or, with `picture`, a member's profile picture (avatar or
banner: there is no message then). An alert outlives the message it is about (which is usually
deleted), so it keeps the upload's own hashes: "Not a match" allowlists exactly that picture,
and "Take down" on a review alert can teach the entry this copy. Buttons read their state from
here, so they work after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import Hash
from core.vocabulary import AlertStatus
from db.schema import match_alerts


@dataclass(frozen=True, slots=True)
class MatchAlert:
    id: int
    guild_id: int
    case_id: int | None
    channel_id: int | None  # None for a profile picture
    message_id: int | None
    author_id: int  # who posted it, or who wears the picture
    picture: str | None  # core.vocabulary.ProfilePicture, for a profile picture
    entry_id: int | None
    list_id: int | None
    algorithm: str
    distance: int
    tier: str
    removed: bool
    found_through: str | None  # core.vocabulary.FoundThrough; None: the whole picture
    upload_pdq: str | None
    upload_phash: str | None
    explicit_score: float | None  # when the server reviews explicit images
    alert_channel_id: int | None
    alert_message_id: int | None
    status: AlertStatus
    resolved_by: int | None
    resolved_at: datetime | None
    created_at: datetime

    @property
    def upload_hashes(self) -> list[Hash]:
        found = []
        if self.upload_pdq:
            found.append(Hash("pdq", self.upload_pdq))
        if self.upload_phash:
            found.append(Hash("phash", self.upload_phash))
        return found


@dataclass(frozen=True, slots=True)
class NewAlert:
    guild_id: int
    channel_id: int | None
    message_id: int | None
    author_id: int
    entry_id: int
    list_id: int
    algorithm: str
    distance: int
    tier: str
    removed: bool
    upload_pdq: Hash | None
    upload_phash: Hash | None
    case_id: int | None = None
    picture: str | None = None
    explicit_score: float | None = None
    found_through: str | None = None


# Built once: an alert is written with every match (see `db.cases._INSERT_CASE`).
_INSERT_ALERT = match_alerts.insert().returning(*match_alerts.c)


async def create_alert(conn: AsyncConnection, new: NewAlert) -> MatchAlert:
    values = {
        **{k: getattr(new, k) for k in NewAlert.__dataclass_fields__},
        "upload_pdq": new.upload_pdq.hex if new.upload_pdq else None,
        "upload_phash": new.upload_phash.hex if new.upload_phash else None,
    }
    row = (await conn.execute(_INSERT_ALERT, values)).mappings().one()
    return MatchAlert(**{**row, "status": AlertStatus(row["status"])})


async def get_alert(conn: AsyncConnection, alert_id: int) -> MatchAlert | None:
    row = (
        (await conn.execute(select(match_alerts).where(match_alerts.c.id == alert_id)))
        .mappings()
        .first()
    )
    return MatchAlert(**{**row, "status": AlertStatus(row["status"])}) if row else None


async def set_alert_message(
    conn: AsyncConnection, alert_id: int, channel_id: int, message_id: int
) -> None:
    await conn.execute(
        update(match_alerts)
        .where(match_alerts.c.id == alert_id)
        .values(alert_channel_id=channel_id, alert_message_id=message_id)
    )


async def resolve_alert(
    conn: AsyncConnection,
    alert_id: int,
    *,
    status: str,
    resolved_by: int,
    removed: bool | None = None,
) -> MatchAlert | None:
    """Close an open alert; None when someone else already did."""
    values: dict[str, object] = {
        "status": status,
        "resolved_by": resolved_by,
        "resolved_at": datetime.now(UTC),
    }
    if removed is not None:
        values["removed"] = removed
    result = await conn.execute(
        update(match_alerts)
        .where(match_alerts.c.id == alert_id, match_alerts.c.status == "open")
        .values(**values)
    )
    if result.rowcount == 0:
        return None
    return await get_alert(conn, alert_id)


async def count_removals_since(
    conn: AsyncConnection, guild_id: int, author_id: int, since: datetime
) -> int:
    """How many of this member's uploads were removed since `since` (for timeout on repeat)."""
    return (
        await conn.scalar(
            select(func.count()).where(
                match_alerts.c.guild_id == guild_id,
                match_alerts.c.author_id == author_id,
                match_alerts.c.removed.is_(True),
                match_alerts.c.created_at >= since,
            )
        )
    ) or 0
