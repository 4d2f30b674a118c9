"""Reports: one open report per target, joined by later reporters, resolved once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.hashes import Hash
from db import cases, reports
from db.engine import Database
from db.reports import AlreadyReported, ReportTarget

GUILD = 4001
MESSAGE = ReportTarget("message", user_id=77, channel_id=5, message_id=900, excerpt="look")
PDQ = Hash("pdq", "ab" * 32)


async def test_first_reporter_opens_and_second_joins(database: Database) -> None:
    async with database.transaction() as conn:
        first = await reports.file_report(
            conn, GUILD, MESSAGE, reporter_id=1, category="deepfake", details="fake of B"
        )
        second = await reports.file_report(
            conn, GUILD, MESSAGE, reporter_id=2, category="sexualized"
        )
    assert first.created and not second.created
    assert second.report.id == first.report.id and second.reporter_count == 2
    assert (first.report.number, first.report.category, first.report.excerpt) == (
        1,
        "deepfake",
        "look",
    )
    async with database.connect() as conn:
        who = await reports.reporters(conn, first.report.id)
    assert [(r.reporter_id, r.category, r.details) for r in who] == [
        (1, "deepfake", "fake of B"),
        (2, "sexualized", ""),
    ]


async def test_the_same_reporter_cannot_report_twice(database: Database) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
    with pytest.raises(AlreadyReported) as raised:
        async with database.transaction() as conn:
            await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="other")
    assert raised.value.report.number == filed.report.number
    async with database.connect() as conn:
        assert await reports.count_reporters(conn, filed.report.id) == 1


async def test_user_and_message_reports_are_separate(database: Database) -> None:
    async with database.transaction() as conn:
        message = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
        user = await reports.file_report(
            conn, GUILD, ReportTarget("user", user_id=77), reporter_id=1, category="harassment"
        )
    assert (message.report.number, user.report.number) == (1, 2)
    assert user.report.target_key == "user:77" and user.report.message_id is None


async def test_concurrent_first_reporters_share_one_report(database: Database) -> None:
    async def report(reporter_id: int) -> int:
        async with database.transaction() as conn:
            filed = await reports.file_report(
                conn, GUILD, MESSAGE, reporter_id=reporter_id, category="deepfake"
            )
            return filed.report.id

    ids = await asyncio.gather(*(report(reporter_id) for reporter_id in range(10)))
    assert len(set(ids)) == 1
    async with database.connect() as conn:
        assert await reports.count_reporters(conn, ids[0]) == 10
        assert (await reports.get_report(conn, ids[0])).number == 1  # type: ignore[union-attr]


async def test_hashes_are_stored_once_and_survive_resolution(database: Database) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="deepfake")
        await reports.add_hashes(conn, filed.report.id, [PDQ, PDQ, Hash("phash", "0f" * 8)])
        await reports.add_hashes(conn, filed.report.id, [PDQ])
        await reports.resolve(conn, filed.report.id, status="taken_down", resolved_by=99)
    async with database.connect() as conn:
        assert await reports.stored_hashes(conn, filed.report.id) == [PDQ, Hash("phash", "0f" * 8)]


async def test_a_report_is_resolved_only_once(database: Database) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
        done = await reports.resolve(
            conn, filed.report.id, status="dismissed", resolved_by=5, reason="not spam"
        )
        again = await reports.resolve(conn, filed.report.id, status="taken_down", resolved_by=6)
    assert done is not None and again is None
    assert (done.status, done.resolved_by, done.resolution_reason) == ("dismissed", 5, "not spam")
    assert done.resolved_at is not None and not done.is_open


async def test_after_resolution_a_new_report_can_be_opened(database: Database) -> None:
    async with database.transaction() as conn:
        old = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
        await reports.resolve(conn, old.report.id, status="dismissed", resolved_by=5)
        new = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
    assert new.created and new.report.number == 2


async def test_queue_message_and_hidden_flag_are_kept(database: Database) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="deepfake")
        await reports.set_queue_message(conn, filed.report.id, 300, 301)
        await reports.mark_hidden(conn, filed.report.id)
    async with database.connect() as conn:
        found = await reports.get_report(conn, filed.report.id)
        unqueued = await reports.open_reports_not_in_queue(conn, GUILD, limit=10)
    assert found is not None and (found.queue_channel_id, found.queue_message_id) == (300, 301)
    assert found.hidden and found.is_open and found.number == 1 and unqueued == []


async def test_recent_reports_are_counted_per_reporter(database: Database) -> None:
    async with database.transaction() as conn:
        for message_id in range(3):
            target = ReportTarget("message", user_id=77, channel_id=5, message_id=message_id)
            await reports.file_report(conn, GUILD, target, reporter_id=1, category="spam")
        await reports.file_report(conn, GUILD, MESSAGE, reporter_id=2, category="spam")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    async with database.connect() as conn:
        assert await reports.count_recent_reports_by(conn, GUILD, 1, hour_ago) == 3
        assert await reports.count_recent_reports_by(conn, GUILD, 1, datetime.now(UTC)) == 0
        assert await reports.count_recent_reports_by(conn, GUILD + 1, 1, hour_ago) == 0


async def test_variant_hashes_are_kept_apart_from_the_pictures_own(database: Database) -> None:
    crop = Hash("pdq", "cd" * 32)
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="deepfake")
        await reports.add_hashes(conn, filed.report.id, [PDQ], variants=[crop, PDQ])
    async with database.connect() as conn:
        assert await reports.stored_hashes(conn, filed.report.id) == [PDQ]
        assert await reports.stored_hashes(conn, filed.report.id, variants=True) == [crop]


async def test_evidence_links_are_kept_per_reporter(database: Database) -> None:
    url = "https://cdn.discordapp.com/ephemeral-attachments/1/2/proof.png"
    async with database.transaction() as conn:
        filed = await reports.file_report(
            conn, GUILD, MESSAGE, reporter_id=1, category="privacy", evidence_url=url
        )
        await reports.file_report(conn, GUILD, MESSAGE, reporter_id=2, category="privacy")
        who = await reports.reporters(conn, filed.report.id)
    assert [r.evidence_url for r in who] == [url, None]


async def test_a_deleted_queue_message_is_forgotten_so_the_report_is_posted_again(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
        user = await reports.file_report(
            conn, GUILD, ReportTarget("user", user_id=78), reporter_id=1, category="spam"
        )
        await reports.set_queue_message(conn, filed.report.id, 300, 301)
        await reports.set_queue_message(conn, user.report.id, 300, 302)
        assert await reports.open_reports_not_in_queue(conn, GUILD) == []
        forgotten = await reports.forget_queue_message(conn, 301)
        assert await reports.forget_queue_message(conn, 999) is None
        missing = await reports.open_reports_not_in_queue(conn, GUILD)
    assert forgotten is not None and forgotten.queue_message_id is None
    assert [r.id for r in missing] == [filed.report.id]


async def test_report_numbers_by_id(database: Database) -> None:
    async with database.transaction() as conn:
        first = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="spam")
        other = await reports.file_report(conn, GUILD + 1, MESSAGE, reporter_id=1, category="spam")
        numbers = await reports.report_numbers(conn, [first.report.id, other.report.id])
    assert numbers == {first.report.id: 1, other.report.id: 1}


async def test_the_cases_of_a_report_are_listed_oldest_first(database: Database) -> None:
    async with database.transaction() as conn:
        filed = await reports.file_report(conn, GUILD, MESSAGE, reporter_id=1, category="deepfake")
        hidden = await cases.create_case(conn, GUILD, "auto_hide", report_id=filed.report.id)
        await cases.create_case(conn, GUILD, "timeout", user_id=77)
        banned = await cases.create_case(
            conn, GUILD, "ban", user_id=77, moderator_id=5, report_id=filed.report.id
        )
        found = await cases.cases_for_report(conn, filed.report.id)
    assert found == [hidden, banned]
