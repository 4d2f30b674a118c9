"""Entry signatures: written with the entry in the same transaction, read back by id, gone
with the entry; entries without one (hash-only, imported) read as missing."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.exc import IntegrityError

from core.hashes import Hash
from db import reports, takedowns
from db.engine import Database
from db.entry_signatures import (
    keep_report_signature,
    report_signature,
    save_signatures,
    signatures_of,
)
from db.reports import ReportTarget
from db.takedowns import NewEntry

GUILD = 3101
MESSAGE = ReportTarget("message", user_id=77, channel_id=5, message_id=901, excerpt="look")


def random_pdq(rng: random.Random) -> Hash:
    return Hash("pdq", f"{rng.getrandbits(256):064x}")


async def test_a_signature_is_kept_with_its_entry_and_goes_with_it(database: Database) -> None:
    rng = random.Random(14)
    signature = rng.randbytes(3606)
    async with database.transaction() as conn:
        signed, plain = await takedowns.add_entries(
            conn,
            GUILD,
            [NewEntry((random_pdq(rng),), signature=signature), NewEntry((random_pdq(rng),))],
            source="upload",
            added_by=1,
        )
    async with database.connect() as conn:
        assert await signatures_of(conn, [signed, plain, 999_999]) == {signed: signature}
        assert await signatures_of(conn, []) == {}
    async with database.transaction() as conn:
        assert await takedowns.remove_entry(conn, GUILD, signed)
    async with database.connect() as conn:
        assert await signatures_of(conn, [signed]) == {}


async def test_an_entry_has_one_signature_and_only_an_existing_entry_has_one(
    database: Database,
) -> None:
    rng = random.Random(15)
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((random_pdq(rng),), signature=b"first"), source="upload",
            added_by=1,
        )  # fmt: skip
    with pytest.raises(IntegrityError):
        async with database.transaction() as conn:
            await save_signatures(conn, {entry.id: b"second"})
    with pytest.raises(IntegrityError):
        async with database.transaction() as conn:
            await save_signatures(conn, {entry.id + 1000: b"orphan"})
    async with database.connect() as conn:
        assert await signatures_of(conn, [entry.id, entry.id + 1000]) == {entry.id: b"first"}


async def test_a_reports_signature_is_kept_once_and_becomes_its_entrys(database: Database) -> None:
    rng = random.Random(16)
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="deepfake")
        await keep_report_signature(conn, filed.report.id, b"first picture")
        await keep_report_signature(conn, filed.report.id, b"a later reporter's copy")
        kept = await report_signature(conn, filed.report.id)
        entry_id = await takedowns.list_picture(
            conn, GUILD, (random_pdq(rng),), label="", source="report", added_by=1,
            signature=kept,
        )  # fmt: skip
    assert kept == b"first picture" and entry_id is not None
    async with database.connect() as conn:
        assert await signatures_of(conn, [entry_id]) == {entry_id: b"first picture"}
        assert await report_signature(conn, filed.report.id + 1) is None
