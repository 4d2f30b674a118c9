"""Explicit-image flags: messages the classifier scored as likely explicit, what a moderator
decided, and the pictures a server cleared as "Not explicit".

A flag keeps its pictures' hashes (never the pictures), so its buttons work after a restart and
after the message is gone: **Take down** lists them, **Not explicit** copies the frames' hashes
to `explicit_cleared`, and a later copy close to every frame of a cleared picture is not flagged
again in that server (`is_cleared`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import Hash
from core.vocabulary import FlagStatus
from db.schema import explicit_cleared, explicit_flag_hashes, explicit_flags
from db.upsert import upsert


@dataclass(frozen=True, slots=True)
class ExplicitFlag:
    id: int
    guild_id: int
    case_id: int | None
    channel_id: int
    message_id: int
    author_id: int
    score: float
    pictures: int
    entry_id: int | None
    alert_channel_id: int | None
    alert_message_id: int | None
    status: FlagStatus
    resolved_by: int | None
    resolved_at: datetime | None
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status is FlagStatus.OPEN


@dataclass(frozen=True, slots=True)
class NewFlag:
    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    score: float
    pictures: int
    own: tuple[Hash, ...]  # the flagged pictures' frames: what Not explicit clears
    variants: tuple[Hash, ...] = ()  # their crops and rotations, for a Take down's entry
    case_id: int | None = None


def _flag(row: object) -> ExplicitFlag:
    values = dict(row)  # type: ignore[call-overload]
    return ExplicitFlag(**{**values, "status": FlagStatus(values["status"])})


async def create_flag(conn: AsyncConnection, new: NewFlag) -> ExplicitFlag:
    values = {
        name: getattr(new, name)
        for name in (
            "guild_id",
            "channel_id",
            "message_id",
            "author_id",
            "score",
            "pictures",
            "case_id",
        )
    }
    row = (
        (await conn.execute(explicit_flags.insert().values(**values).returning(*explicit_flags.c)))
        .mappings()
        .one()
    )
    rows = [
        {"flag_id": row["id"], "algorithm": h.algorithm, "hash": h.hex, "is_variant": variant}
        for variant, group in ((False, new.own), (True, new.variants))
        for h in dict.fromkeys(group)
    ]
    if rows:
        await conn.execute(explicit_flag_hashes.insert(), rows)
    return _flag(row)


async def get_flag(conn: AsyncConnection, flag_id: int) -> ExplicitFlag | None:
    row = (
        (await conn.execute(select(explicit_flags).where(explicit_flags.c.id == flag_id)))
        .mappings()
        .first()
    )
    return _flag(row) if row else None


async def flagged_before(
    conn: AsyncConnection, guild_id: int, message_id: int, own: Sequence[Hash]
) -> bool:
    """Whether these pictures of the message were flagged already (an edit or a rescan sees
    them again). A picture the message gained since (a link preview an edit added) was not."""
    rows = await conn.execute(
        select(explicit_flag_hashes.c.algorithm, explicit_flag_hashes.c.hash)
        .join(explicit_flags, explicit_flags.c.id == explicit_flag_hashes.c.flag_id)
        .where(
            explicit_flags.c.guild_id == guild_id,
            explicit_flags.c.message_id == message_id,
            explicit_flag_hashes.c.is_variant.is_(False),
        )
    )
    seen = {Hash(algorithm, value) for algorithm, value in rows}
    return bool(seen) and set(own) <= seen


async def flag_hashes(
    conn: AsyncConnection, flag_id: int, *, variants: bool = False
) -> tuple[Hash, ...]:
    """The flagged pictures' own hashes, or with `variants` their crops' and rotations'."""
    rows = await conn.execute(
        select(explicit_flag_hashes.c.algorithm, explicit_flag_hashes.c.hash)
        .where(
            explicit_flag_hashes.c.flag_id == flag_id,
            explicit_flag_hashes.c.is_variant.is_(variants),
        )
        .order_by(explicit_flag_hashes.c.id)
    )
    return tuple(Hash(algorithm, value) for algorithm, value in rows)


async def set_flag_message(
    conn: AsyncConnection, flag_id: int, channel_id: int, message_id: int
) -> None:
    await conn.execute(
        update(explicit_flags)
        .where(explicit_flags.c.id == flag_id)
        .values(alert_channel_id=channel_id, alert_message_id=message_id)
    )


async def resolve_flag(
    conn: AsyncConnection,
    flag_id: int,
    *,
    status: FlagStatus,
    resolved_by: int,
) -> ExplicitFlag | None:
    """Close an open flag as decided; None when someone else already did."""
    result = await conn.execute(
        update(explicit_flags)
        .where(explicit_flags.c.id == flag_id, explicit_flags.c.status == FlagStatus.OPEN.value)
        .values(
            status=status.value,
            resolved_by=resolved_by,
            resolved_at=datetime.now(UTC),
        )
    )
    if result.rowcount == 0:
        return None
    return await get_flag(conn, flag_id)


async def set_flag_entry(conn: AsyncConnection, flag_id: int, entry_id: int) -> None:
    """The takedown entry a flag's pictures became."""
    await conn.execute(
        update(explicit_flags).where(explicit_flags.c.id == flag_id).values(entry_id=entry_id)
    )


async def clear(
    conn: AsyncConnection, guild_id: int, hashes: Sequence[Hash], *, decided_by: int
) -> None:
    """Mark pictures "Not explicit" in a server: they are never flagged there again."""
    for hash_ in dict.fromkeys(hashes):
        await conn.execute(
            upsert(
                conn,
                explicit_cleared,
                {
                    "guild_id": guild_id,
                    "algorithm": hash_.algorithm,
                    "hash": hash_.hex,
                    "decided_by": decided_by,
                },
                keys=("guild_id", "algorithm", "hash"),
                update={},
            )
        )


async def cleared_pdq(conn: AsyncConnection, guild_id: int) -> list[Hash]:
    """The PDQ hashes of every picture the server cleared."""
    rows = await conn.scalars(
        select(explicit_cleared.c.hash).where(
            explicit_cleared.c.guild_id == guild_id, explicit_cleared.c.algorithm == "pdq"
        )
    )
    return [Hash("pdq", value) for value in rows]
