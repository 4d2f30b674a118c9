"""The bot object itself, without a connection: intents, endpoints, extension loading."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator

import discord
import pytest

import bot
from db.engine import Database
from process_settings import load_settings


@pytest.fixture
async def lightstick(sqlite_url: str) -> AsyncIterator[bot.Lightstick]:
    database = await Database.open(sqlite_url)
    instance = bot.Lightstick(load_settings({}), database)
    yield instance  # never logged in, so there is no connection to close
    await database.close()


def test_intents_are_exactly_what_the_bot_uses() -> None:
    intents = bot.lightstick_intents()
    assert intents.guilds and intents.members and intents.guild_messages
    assert intents.message_content
    assert not (intents.presences or intents.typing or intents.voice_states)


async def test_one_broken_extension_does_not_stop_the_others(
    lightstick: bot.Lightstick, caplog: pytest.LogCaptureFixture
) -> None:
    await lightstick.load_extensions(
        ["tests.extensions.broken_cog", "tests.extensions.working_cog"]
    )
    assert "tests.extensions.working_cog" in lightstick.extensions
    assert lightstick.tree.get_command("working") is not None
    assert "broken on purpose" in lightstick.failed_extensions["tests.extensions.broken_cog"]
    assert "Could not load tests.extensions.broken_cog" in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_the_bot_runs_on_uvloops_event_loop_where_it_is_installed() -> None:
    factory = bot.event_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_endpoints_are_applied_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    monkeypatch.setattr(discord.asset.Asset, "BASE", discord.asset.Asset.BASE)
    bot.apply_discord_endpoints(load_settings({}))
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    bot.apply_discord_endpoints(
        load_settings(
            {
                "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10",
                "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8080/",
                "DISCORD_CDN_BASE": "http://127.0.0.1:8080",
            }
        )
    )
    assert discord.http.Route.BASE == "http://127.0.0.1:8080/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:8080/"
    assert discord.asset.Asset.BASE == "http://127.0.0.1:8080"


async def test_a_stall_just_before_start_up_ends_is_reported_as_start_up_lag(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """on_ready runs a full garbage collection, then reports start-up lag: the monitor's tick
    under way during that stall must count for starting, not for the first running report."""
    monitor = bot.LoopLagMonitor()
    monitor.start()
    await asyncio.sleep(0.12)  # a few ticks
    time.sleep(0.5)  # noqa: ASYNC251 - the loop blocked, as by a start-up step
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.INFO, logger="lightstick"):
        monitor.report_startup()
    reported = loop.time()
    await asyncio.sleep(2 * monitor.TICK)  # running: the tick under way wakes
    monitor.stop()
    running_for = loop.time() - reported
    startup = next(r.getMessage() for r in caplog.records if "while starting" in r.getMessage())
    # The stall, less the tick it fell in, counts for starting. Counted after the report, a
    # wake can only be as late as the time since the report (however busy the machine), where
    # the stall, had it leaked into the running figure, would hold it at 450 ms or more.
    assert float(startup.split("worst ")[1].split(" ms")[0]) >= 450
    assert monitor.worst <= running_for
