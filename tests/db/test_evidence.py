"""Evidence rows and files: every case chosen by member, numbers or days, joined with its
alert, report, reporters, kept hashes and entry; CSV safe for spreadsheets; reporters only when
asked; no media."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.hashes import Hash
from core.vocabulary import CaseKind
from db import alerts, cases, reports, takedowns
from db.alerts import NewAlert
from db.engine import Database
from db.evidence import CHUNK, MAX_ROWS, Selection, TooMany, evidence_rows
from db.reports import ReportTarget
from db.schema import cases as cases_table
from db.schema import match_alerts
from db.takedowns import NewEntry
from services.evidence import (
    COLUMNS,
    Server,
    day_bounds,
    parse_case_numbers,
    parse_day,
    write_csv,
    write_json,
)

GUILD, OTHER = 2001, 2002
AUTHOR, MODERATOR = 31, 32
# Ids as long as Discord's, so finding one in a file can't be a time or a count.
REPORTER_A, REPORTER_B = 1_234_567_890_123_456_733, 1_234_567_890_123_456_734
PDQ = Hash("pdq", "f" * 8 + "0" * 56)
PHASH = Hash("phash", "0123456789abcdef")
SERVER = Server(GUILD, "Fan server", MODERATOR, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


async def _alerted_case(database: Database) -> int:
    """A removed match: its case and alert, on an entry labelled like a formula."""
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((PDQ,), label="=HYPERLINK(1)"), source="hash", added_by=MODERATOR
        )
        entry_id = entry.id
        case = await cases.create_case(
            conn,
            GUILD,
            CaseKind.TAKEDOWN,
            user_id=AUTHOR,
            user_name="fan_then",
            channel_id=11,
            message_id=12,
            entry_id=entry_id,
            distance=6,
        )
        await alerts.create_alert(
            conn,
            NewAlert(
                guild_id=GUILD,
                channel_id=11,
                message_id=12,
                author_id=AUTHOR,
                entry_id=entry_id,
                list_id=(await takedowns.get_own_list(conn, GUILD)).id,
                algorithm="pdq",
                distance=6,
                tier="takedown",
                removed=True,
                upload_pdq=PDQ,
                upload_phash=PHASH,
                case_id=case.id,
            ),
        )
    return entry_id


async def _reported_case(database: Database) -> int:
    """A deepfake report by two fans, its hashes kept, taken down: the report id."""
    async with database.transaction() as conn:
        target = ReportTarget("message", AUTHOR, 11, 13, name="fan_then")
        filed = await reports.file_report(
            conn, GUILD, target, reporter_id=REPORTER_A, category="deepfake"
        )
        await reports.file_report(
            conn, GUILD, target, reporter_id=REPORTER_B, category="sexualized"
        )
        await reports.add_hashes(conn, filed.report.id, [PDQ])
        await cases.create_case(
            conn,
            GUILD,
            CaseKind.REPORT_TAKEDOWN,
            user_id=AUTHOR,
            moderator_id=MODERATOR,
            channel_id=11,
            message_id=13,
            report_id=filed.report.id,
        )
    return filed.report.id


async def test_a_removed_match_carries_its_message_author_entry_and_hashes(
    database: Database,
) -> None:
    entry_id = await _alerted_case(database)
    async with database.connect() as conn:
        (row,) = await evidence_rows(conn, GUILD, Selection(user_id=AUTHOR))
        assert await evidence_rows(conn, OTHER, Selection(user_id=AUTHOR)) == []
    assert (row.case_number, row.kind, row.message_id, row.author_name) == (
        1,
        "takedown",
        12,
        "fan_then",
    )
    assert (row.entry_id, row.distance, row.tier, row.pdq, row.phash, row.removed) == (
        entry_id,
        6,
        "takedown",
        PDQ.hex,
        PHASH.hex,
        True,
    )
    assert row.entry is not None and row.entry.own_list and row.entry.label == "=HYPERLINK(1)"


async def test_a_report_case_carries_categories_reporters_and_kept_hashes(
    database: Database,
) -> None:
    report_id = await _reported_case(database)
    async with database.connect() as conn:
        (row,) = await evidence_rows(conn, GUILD, Selection(report_id=report_id))
    assert row.report_number == 1 and row.outcome == "open"
    assert row.report_categories == {"deepfake": 1, "sexualized": 1}
    assert row.reporter_count == 2
    assert {reporter for reporter, _ in row.reporters} == {REPORTER_A, REPORTER_B}
    assert row.pdq == PDQ.hex and row.author_name == "fan_then"


async def test_an_undecided_report_is_exported_as_itself(database: Database) -> None:
    async with database.transaction() as conn:
        target = ReportTarget("message", AUTHOR, 11, 14, name="someone")
        filed = await reports.file_report(
            conn, GUILD, target, reporter_id=REPORTER_A, category="deepfake"
        )
    async with database.connect() as conn:
        (row,) = await evidence_rows(conn, GUILD, Selection(report_id=filed.report.id))
        assert await evidence_rows(conn, OTHER, Selection(report_id=filed.report.id)) == []
    assert (row.case_number, row.kind, row.message_id, row.author_name) == (
        None,
        "report",
        14,
        "someone",
    )
    assert row.reporter_count == 1


async def test_cases_are_chosen_by_numbers_and_days(database: Database) -> None:
    async with database.transaction() as conn:
        for user_id in range(1, 8):
            await cases.create_case(conn, GUILD, CaseKind.TIMEOUT, user_id=user_id)
        old = datetime.now(UTC) - timedelta(days=30)
        await conn.execute(
            cases_table.update().where(cases_table.c.number == 1).values(created_at=old)
        )
    chosen = parse_case_numbers("2-3, 6")
    async with database.connect() as conn:
        numbered = await evidence_rows(conn, GUILD, Selection(numbers=chosen))
        start, end = day_bounds(datetime.now(UTC).date() - timedelta(days=1), None)
        recent = await evidence_rows(conn, GUILD, Selection(since=start, until=end))
        start, end = day_bounds(None, old.date())
        older = await evidence_rows(conn, GUILD, Selection(since=start, until=end))
    assert [row.case_number for row in numbered] == [2, 3, 6]
    assert [row.case_number for row in recent] == [2, 3, 4, 5, 6, 7]
    assert [row.case_number for row in older] == [1]


async def test_more_than_the_limit_is_refused(database: Database) -> None:
    async with database.transaction() as conn:
        rows = [
            {"guild_id": GUILD, "number": n, "kind": "timeout", "user_id": 1}
            for n in range(1, MAX_ROWS + 2)
        ]
        await conn.execute(cases_table.insert(), rows)
    async with database.connect() as conn:
        with pytest.raises(TooMany):
            await evidence_rows(conn, GUILD, Selection(user_id=1))


async def test_csv_is_formula_safe_headed_as_given_and_names_reporters_only_when_asked(
    database: Database,
) -> None:
    await _alerted_case(database)
    await _reported_case(database)
    async with database.connect() as conn:
        rows = await evidence_rows(conn, GUILD, Selection(numbers=((1, 2),)))
    headings = {column: f"H-{column}" for column in COLUMNS}

    def cell(column: str, value: object) -> str:
        return "" if value is None else str(value)

    without = write_csv(rows, SERVER, headings, cell, with_reporters=False)
    with_them = write_csv(rows, SERVER, headings, cell, with_reporters=True)
    table = list(csv.DictReader(io.StringIO(without.lstrip("\ufeff"))))
    assert table[0]["H-entry_label"] == "'=HYPERLINK(1)"
    assert table[0]["H-message_link"] == f"https://discord.com/channels/{GUILD}/11/12"
    assert table[0]["H-time_utc"].endswith("Z") and table[0]["H-pdq"] == PDQ.hex
    assert "H-reporters" not in table[0]
    assert str(REPORTER_A) not in without and str(REPORTER_A) in with_them
    document = json.loads(write_json(rows, SERVER, with_reporters=False, filters={"cases": "1-2"}))
    assert document["contains_media"] is False
    assert [case["case"] for case in document["cases"]] == [1, 2]
    assert document["cases"][1]["reporters"] is None
    assert document["cases"][1]["reporter_count"] == 2


def test_case_numbers_and_days_are_read_or_refused() -> None:
    assert parse_case_numbers("12-15, 20") == ((12, 15), (20, 20))
    assert parse_case_numbers("#3 - #5 7") == ((3, 5), (7, 7))
    for bad in ("", "abc", "5-3", "0", ",".join(["1"] * 60)):
        with pytest.raises(ValueError):
            parse_case_numbers(bad)
    assert parse_day(" 2026-03-01 ").isoformat() == "2026-03-01"
    with pytest.raises(ValueError):
        parse_day("1 March")


async def test_one_case_is_chosen_by_its_id(database: Database) -> None:
    await _alerted_case(database)
    async with database.transaction() as conn:
        second = await cases.create_case(conn, GUILD, CaseKind.FLAG, user_id=AUTHOR)
    async with database.connect() as conn:
        (row,) = await evidence_rows(conn, GUILD, Selection(case_id=second.id))
        assert await evidence_rows(conn, OTHER, Selection(case_id=second.id)) == []
    assert (row.case_number, row.kind) == (2, "flag")


async def test_a_large_export_joins_every_case_with_its_alert(database: Database) -> None:
    """More cases than one query asks about at once (`CHUNK`): each still finds its alert."""
    count = CHUNK * 2 + 7
    async with database.transaction() as conn:
        own = await takedowns.get_own_list(conn, GUILD)
        await conn.execute(
            cases_table.insert(),
            [
                {"guild_id": GUILD, "number": n, "kind": "takedown", "user_id": AUTHOR,
                 "channel_id": 11, "message_id": 10_000 + n}
                for n in range(1, count + 1)
            ],
        )  # fmt: skip
        ids = dict((await conn.execute(select(cases_table.c.number, cases_table.c.id))).all())
        await conn.execute(
            match_alerts.insert(),
            [
                {"guild_id": GUILD, "case_id": ids[n], "channel_id": 11,
                 "message_id": 10_000 + n, "author_id": AUTHOR, "list_id": own.id,
                 "algorithm": "pdq", "distance": n % 30, "tier": "takedown", "removed": True,
                 "upload_pdq": f"{n:064x}"}
                for n in range(1, count + 1)
            ],
        )  # fmt: skip
    async with database.connect() as conn:
        rows = await evidence_rows(conn, GUILD, Selection(user_id=AUTHOR))
    assert [row.case_number for row in rows] == list(range(1, count + 1))
    assert all(row.pdq == f"{row.case_number:064x}" for row in rows)
    assert all(row.distance == (row.case_number or 0) % 30 for row in rows)
