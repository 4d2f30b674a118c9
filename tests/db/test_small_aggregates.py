"""The allowlist, scan positions and the bot's own state."""

from __future__ import annotations

from core.hashes import Hash
from db import allowlist, bot_state, scan_positions
from db.engine import Database
from db.scan_positions import Position

GUILD = 6001
PDQ = Hash("pdq", "0123456789abcdef" * 4)


async def test_allowlisted_hash_is_kept_once_per_guild(database: Database) -> None:
    async with database.transaction() as conn:
        await allowlist.allow(conn, GUILD, PDQ, decided_by=3)
        await allowlist.allow(conn, GUILD, PDQ, decided_by=4)
    async with database.connect() as conn:
        (allowed,) = await allowlist.allowed_hashes(conn, GUILD)
        elsewhere = await allowlist.allowed_hashes(conn, GUILD + 1)
    assert (allowed.hash, allowed.decided_by, elsewhere) == (PDQ, 3, [])


async def test_scan_position_only_moves_forward(database: Database) -> None:
    async with database.transaction() as conn:
        assert await scan_positions.guild_positions(conn, GUILD) == {}
        await scan_positions.advance_many(
            conn, [Position(GUILD, 10, 500), Position(GUILD, 11, 700)]
        )
        await scan_positions.advance_many(
            conn, [Position(GUILD, 10, 400), Position(GUILD, 11, 800)]
        )
        await scan_positions.advance_many(conn, [])
    async with database.connect() as conn:
        assert await scan_positions.guild_positions(conn, GUILD) == {10: 500, 11: 800}


async def test_bot_state_values_are_replaced(database: Database) -> None:
    async with database.transaction() as conn:
        await bot_state.set_value(conn, "command-sync:1:global", "abc")
        await bot_state.set_value(conn, "command-sync:1:global", "def")
    async with database.connect() as conn:
        assert await bot_state.get_value(conn, "command-sync:1:global") == "def"
        assert await bot_state.get_value(conn, "missing") is None
