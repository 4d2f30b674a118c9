"""Explicit-image flags: kept with their pictures' hashes, decided once, cleared pictures kept
per server, and gone with retention, /forget and a departed server like alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.hashes import Hash
from core.vocabulary import FlagStatus
from db import explicit_flags as flags_db
from db import retention
from db.engine import Database
from db.explicit_flags import NewFlag

GUILD, OTHER = 3001, 3002
PDQ = Hash("pdq", "a" * 64)
PHASH = Hash("phash", "b" * 16)
VARIANT = Hash("pdq", "c" * 64)


def new_flag(guild_id: int = GUILD, message_id: int = 50, author_id: int = 7) -> NewFlag:
    return NewFlag(guild_id, 40, message_id, author_id, 0.93, 1, (PDQ, PHASH), (VARIANT,))


async def test_a_flag_keeps_its_pictures_and_is_decided_once(database: Database) -> None:
    async with database.transaction() as conn:
        flag = await flags_db.create_flag(conn, new_flag())
        await flags_db.set_flag_message(conn, flag.id, 99, 100)
    async with database.connect() as conn:
        stored = await flags_db.get_flag(conn, flag.id)
        assert await flags_db.flag_hashes(conn, flag.id) == (PDQ, PHASH)
        assert await flags_db.flag_hashes(conn, flag.id, variants=True) == (VARIANT,)
        assert await flags_db.flagged_before(conn, GUILD, 50, (PDQ, PHASH))
        assert await flags_db.flagged_before(conn, GUILD, 50, (PDQ,))
        assert not await flags_db.flagged_before(conn, GUILD, 50, (PDQ, VARIANT))  # a new one
        assert not await flags_db.flagged_before(conn, OTHER, 50, (PDQ,))
    assert stored is not None and stored.is_open and stored.score == 0.93
    assert (stored.alert_channel_id, stored.alert_message_id) == (99, 100)
    async with database.transaction() as conn:
        closed = await flags_db.resolve_flag(
            conn, flag.id, status=FlagStatus.NOT_EXPLICIT, resolved_by=8
        )
        again = await flags_db.resolve_flag(
            conn, flag.id, status=FlagStatus.TAKEN_DOWN, resolved_by=9
        )
    assert closed is not None and closed.status is FlagStatus.NOT_EXPLICIT
    assert closed.resolved_by == 8 and again is None


async def test_cleared_pictures_are_per_server_and_kept_once(database: Database) -> None:
    async with database.transaction() as conn:
        await flags_db.clear(conn, GUILD, [PDQ, PHASH, PDQ], decided_by=8)
        await flags_db.clear(conn, GUILD, [PDQ], decided_by=9)
    async with database.connect() as conn:
        assert await flags_db.cleared_pdq(conn, GUILD) == [PDQ]
        assert await flags_db.cleared_pdq(conn, OTHER) == []


async def test_flags_expire_and_go_with_forget_and_departure(database: Database) -> None:
    async with database.transaction() as conn:
        old = await flags_db.create_flag(conn, new_flag(message_id=1, author_id=7))
        await flags_db.create_flag(conn, new_flag(message_id=2, author_id=8))
        await flags_db.create_flag(conn, new_flag(OTHER, message_id=3))
        await flags_db.clear(conn, GUILD, [PDQ], decided_by=7)
        assert GUILD in await retention.guilds_with_records(conn)
    async with database.transaction() as conn:
        # Nothing is older than an hour ago; everything is older than an hour from now.
        kept = await retention.expire(conn, GUILD, datetime.now(UTC) - timedelta(hours=1))
        forgotten = await retention.forget_member(conn, GUILD, 7)
    assert kept.flags == 0 and forgotten.flags == 1
    async with database.connect() as conn:
        assert await flags_db.get_flag(conn, old.id) is None
        assert await flags_db.flag_hashes(conn, old.id) == ()
        assert await flags_db.cleared_pdq(conn, GUILD) == [PDQ]  # hashes stay, without who
    async with database.transaction() as conn:
        expired = await retention.expire(conn, GUILD, datetime.now(UTC) + timedelta(hours=1))
        await retention.forget_guild(conn, OTHER)
    assert expired.flags == 1
    async with database.connect() as conn:
        assert not await flags_db.flagged_before(conn, OTHER, 3, (PDQ,))
