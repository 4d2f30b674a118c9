"""The recent-hash store: the hashes (never the media) of pictures posted in each server lately.

Why: an entry added to a takedown list should also remove the copies posted before it, without
anyone reading the channels' history again. So for every file the scanner hashes, a row keeps
the message's ids and the file's hash bits, for the server's `recent_days`.

What a row holds: guild, channel, message and author ids, which of the message's media it is,
and `hashes`, a run of fixed-size records (`core.hashes.pack_record`: a picture's PDQ in its
eight turns, then its pHash), the file's own frames first, then its trimmed views; for a still
image, `regions` also holds the PDQ of its quarters (up to four, 32 bytes each), and `mirrors`
the mirror image's pHash of each record that has its turns (8 bytes each, in record order), so
a copy posted under stickers or a caption, or mirrored and cropped, is found by an entry added
later, as live matching finds it. The time a picture was posted is its message id's (a
snowflake carries it), so expiry is a range of ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from core.hashes import MAX_REGIONS, MIRROR_BYTES, RECORD_BYTES, REGION_BYTES
from db import bulk
from db.schema import recent_media

DISCORD_EPOCH_MS = 1_420_070_400_000
MAX_RECORDS = 256  # a file's frames and views: the scanner hashes at most 120 pictures a file


def snowflake_at(when: datetime) -> int:
    """The smallest Discord id made at `when` (ids made earlier are smaller)."""
    milliseconds = int(when.astimezone(UTC).timestamp() * 1000) - DISCORD_EPOCH_MS
    return max(0, milliseconds) << 22


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


@dataclass(frozen=True, slots=True)
class RecentMedia:
    """One hashed file of one message."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    media_index: int  # which of the message's media (attachments, embeds, stickers, forwards)
    frames: int  # how many of the records are the file's own frames; the rest are views
    hashes: bytes  # records of hash bits, RECORD_BYTES each
    regions: bytes = b""  # a still image's quarters' PDQ bits, REGION_BYTES each
    mirrors: bytes = b""  # the mirror image's pHash of each record with turns, MIRROR_BYTES each

    def __post_init__(self) -> None:
        records, rest = divmod(len(self.hashes), RECORD_BYTES)
        if rest or not 0 < records <= MAX_RECORDS or not 0 < self.frames <= records:
            raise ValueError(
                f"a recent file is 1-{MAX_RECORDS} records of {RECORD_BYTES} bytes, its frames "
                f"first; not {len(self.hashes)} bytes with {self.frames} frames"
            )
        regions, rest = divmod(len(self.regions), REGION_BYTES)
        if rest or regions > MAX_REGIONS:
            raise ValueError(
                f"a recent file has 0-{MAX_REGIONS} quarters of {REGION_BYTES} bytes, "
                f"not {len(self.regions)} bytes"
            )
        mirrors, rest = divmod(len(self.mirrors), MIRROR_BYTES)
        if rest or mirrors > self.records:
            raise ValueError(
                f"a recent file has at most a mirror's pHash of {MIRROR_BYTES} bytes a record, "
                f"not {len(self.mirrors)} bytes for {self.records} records"
            )

    @property
    def records(self) -> int:
        return len(self.hashes) // RECORD_BYTES


async def add_many(conn: AsyncConnection, rows: Sequence[RecentMedia]) -> None:
    """Store many hashed files in one statement (the scanner writes a batch a second)."""
    if rows:
        await conn.execute(
            recent_media.insert(),
            [
                {
                    "guild_id": r.guild_id,
                    "channel_id": r.channel_id,
                    "message_id": r.message_id,
                    "author_id": r.author_id,
                    "media_index": r.media_index,
                    "frames": r.frames,
                    "hashes": r.hashes,
                    "regions": r.regions or None,
                    "mirrors": r.mirrors or None,
                }
                for r in rows
            ],
        )


@dataclass(frozen=True, slots=True)
class HashBatch:
    """Stored files' row ids and hashes only, as columns: what a sweep's filter reads."""

    ids: list[int]
    hashes: list[bytes]
    regions: list[bytes]  # empty for a file without quarters
    mirrors: list[bytes]  # empty for a file without mirror images' pHash


def _posted(guild_id: int, since: datetime, until: datetime | None) -> list[ColumnElement[bool]]:
    """The server's files posted since `since` (and before `until`, when given)."""
    where = [
        recent_media.c.guild_id == guild_id,
        recent_media.c.message_id >= snowflake_at(since),
    ]
    if until is not None:
        where.append(recent_media.c.message_id < snowflake_at(until))
    return where


async def hash_batches(
    conn: AsyncConnection,
    guild_id: int,
    since: datetime,
    size: int = 20_000,
    *,
    until: datetime | None = None,
) -> AsyncIterator[HashBatch]:
    """The hashes of the server's files posted since `since` (and before `until`, when given),
    `size` rows at a time, straight
    from the driver's cursor (`bulk.driver_batches`: a million rows are 264 MB of hashes, and a
    SQLAlchemy row each would cost more than the sweep's filter)."""
    query = (
        select(
            recent_media.c.id,
            recent_media.c.hashes,
            recent_media.c.regions,
            recent_media.c.mirrors,
        )
        .where(*_posted(guild_id, since, until))
        .order_by(recent_media.c.message_id)
    )
    async for batch in bulk.driver_batches(conn, query, size):
        ids, hashes, regions, mirrors = (list(column) for column in zip(*batch, strict=True))
        yield HashBatch(ids, hashes, _blobs(regions), _blobs(mirrors))


def _blobs(values: list[Any]) -> list[bytes]:
    return [bytes(value) if value is not None else b"" for value in values]


_FILE_COLUMNS = (
    recent_media.c.guild_id,
    recent_media.c.channel_id,
    recent_media.c.message_id,
    recent_media.c.author_id,
    recent_media.c.media_index,
    recent_media.c.frames,
    recent_media.c.hashes,
    recent_media.c.regions,
    recent_media.c.mirrors,
)


def _file(row: Sequence[Any]) -> RecentMedia:
    """A stored file from `_FILE_COLUMNS`' values."""
    return RecentMedia(*row[:6], bytes(row[6]), *_blobs(list(row[7:9])))


async def file_page(
    conn: AsyncConnection,
    guild_id: int,
    since: datetime,
    after: tuple[int, int] = (0, 0),
    size: int = 1000,
    *,
    until: datetime | None = None,
) -> list[tuple[int, RecentMedia]]:
    """Up to `size` of the server's files posted since `since` (and before `until`, when
    given), after `after` (a message id and a row id) in that order, with their row ids. A
    sweep that matches every file one by one reads them a page at a time, so it holds no cursor
    open for the minutes that can take."""
    result = await conn.execute(
        select(recent_media.c.id, *_FILE_COLUMNS)
        .where(
            *_posted(guild_id, since, until),
            tuple_(recent_media.c.message_id, recent_media.c.id) > tuple_(*after),
        )
        .order_by(recent_media.c.message_id, recent_media.c.id)
        .limit(size)
    )
    return [(row[0], _file(row[1:])) for row in result]


async def rows_by_id(conn: AsyncConnection, ids: Sequence[int]) -> list[RecentMedia]:
    """The stored files with these row ids (a sweep's candidates), in id order."""
    ids = sorted(ids)
    found: list[RecentMedia] = []
    for low in range(0, len(ids), 500):
        result = await conn.execute(
            select(*_FILE_COLUMNS)
            .where(recent_media.c.id.in_(ids[low : low + 500]))
            .order_by(recent_media.c.id)
        )
        found += [_file(row) for row in result]
    return found


async def guilds_with_recent(conn: AsyncConnection) -> list[int]:
    return sorted(await conn.scalars(select(recent_media.c.guild_id).distinct()))


async def expire(conn: AsyncConnection, guild_id: int, before: datetime) -> int:
    """Delete the server's files posted before `before`; how many went."""
    result = await conn.execute(
        delete(recent_media).where(
            recent_media.c.guild_id == guild_id, recent_media.c.message_id < snowflake_at(before)
        )
    )
    return result.rowcount


async def forget_author(conn: AsyncConnection, guild_id: int, author_id: int) -> int:
    result = await conn.execute(
        delete(recent_media).where(
            recent_media.c.guild_id == guild_id, recent_media.c.author_id == author_id
        )
    )
    return result.rowcount


async def forget_guild(conn: AsyncConnection, guild_id: int) -> None:
    await conn.execute(delete(recent_media).where(recent_media.c.guild_id == guild_id))
