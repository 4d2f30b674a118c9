"""Match alerts queue behind removals; a burst past the queue is counted, not lost silently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

import bot
from core.hashes import Hash
from db import alerts, cases, takedowns
from db.alerts import NewAlert
from db.engine import Database
from db.guild_settings import GuildSettings
from db.takedowns import NewEntry
from moderation.alerts import FollowUp, MatchAlerts
from moderation.post_queue import PostQueue
from process_settings import load_settings

GUILD = 7001
PDQ = Hash("pdq", "ab" * 32)
PHASH = Hash("phash", "cd" * 8)


@pytest.fixture
async def lightstick(sqlite_url: str) -> AsyncIterator[bot.Lightstick]:
    database = await Database.open(sqlite_url)
    yield bot.Lightstick(load_settings({}), database)  # never logged in
    await database.close()


async def recorded_match(
    database: Database, entry_id: int, list_id: int, message_id: int
) -> tuple[alerts.MatchAlert, cases.Case]:
    async with database.transaction() as conn:
        case = await cases.create_case(conn, GUILD, "takedown", user_id=5, message_id=message_id)
        match = NewAlert(
            GUILD, 10, message_id, 5, entry_id, list_id, "pdq", 3, "takedown", True, PDQ, PHASH
        )
        alert = await alerts.create_alert(conn, replace(match, case_id=case.id))
    return alert, case


async def test_alerts_past_the_queue_are_counted_for_one_summary(
    lightstick: bot.Lightstick, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(MatchAlerts, "WAITING", 2)
    alerts_service = MatchAlerts(lightstick)  # not started: nothing posts, so the queue fills
    settings = GuildSettings(guild_id=GUILD)
    async with lightstick.db.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((PDQ,), "fake"), source="hash", added_by=1
        )
    assert alerts_service.posts.has_room
    for message_id in (101, 102, 103, 104):
        alert, case = await recorded_match(lightstick.db, entry.id, entry.list_id, message_id)
        alerts_service.queue_follow_up(
            FollowUp(None, None, settings, alert, case, None, None, True)  # type: ignore[arg-type]
        )
    assert alerts_service.waiting == 2
    assert not alerts_service.posts.has_room  # so the next match makes no preview for nothing
    assert alerts_service.skipped(GUILD) == 2
    assert "case #4 in guild 7001 is recorded but its alert is skipped" in caplog.text

    monkeypatch.setattr(PostQueue, "SHUTDOWN_SECONDS", 0.1)
    await alerts_service.close()  # nothing posts here, so shutdown gives up and says so
    assert "Shutting down with 2 match alerts not posted" in caplog.text
