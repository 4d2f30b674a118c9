"""The real bot riding out Discord's bad moments: gateway reconnects, invalidated sessions,
rate limits and server errors, all injected by the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.botprocess import BotProcess
from sandbox.gateway import Op
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_scanning import DELETE_ROUTE, KNOWN, arrange
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

COMMANDS_ROUTE = "/applications/{application_id}/commands"


async def test_bot_resumes_after_reconnect_request(sandbox: Sandbox, bot: BotProcess) -> None:
    since = len(sandbox.frames)
    sandbox.gateway.reconnect()
    resume = await sandbox.wait_for_event(op=Op.RESUME, sent_by_bot=True, since=since)
    await sandbox.wait_for_event("RESUMED", since=since)
    assert resume.data["session_id"] in sandbox.gateway.sessions
    assert sandbox.gateway.handshakes[-1]["path"] == "/resume"  # READY's resume_gateway_url
    assert bot.returncode is None


async def test_bot_gets_events_it_missed_while_disconnected_replayed_on_resume(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    since = len(sandbox.frames)
    sandbox.gateway.close_connections(4000)
    message = await guild.member("fan").send(guild.channel("general"), "posted while away")
    resumed = await sandbox.wait_for_event("RESUMED", since=since)
    await sandbox.gateway.flushed()
    replayed = sandbox.frames.find(
        lambda f: f.event == "MESSAGE_CREATE" and f.data["id"] == str(message.id), since=since
    )
    assert [f.connection for f in replayed] == [resumed.connection]


async def test_bot_identifies_anew_after_invalid_session(sandbox: Sandbox, bot: BotProcess) -> None:
    since = len(sandbox.frames)
    sandbox.gateway.invalidate_sessions(resumable=False)
    # discord.py waits 5 s before identifying again.
    identify = await sandbox.wait_for_event(
        op=Op.IDENTIFY, sent_by_bot=True, since=since, timeout=45
    )
    await sandbox.wait_for_event("READY", since=since)
    assert identify.connection > 0
    assert bot.returncode is None


async def test_bot_waits_out_a_rate_limit_and_retries(
    sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    fault = sandbox.faults.rate_limit("PUT", COMMANDS_ROUTE, retry_after=0.5)
    await start_bot()
    statuses = [c.status for c in sandbox.calls_to("PUT", COMMANDS_ROUTE)]
    assert statuses == [429, 200]
    assert fault.fired == 1


async def test_bot_retries_a_discord_server_error_at_startup(
    sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    sandbox.faults.fail("GET", "/gateway/bot", 502)
    await start_bot()
    assert [c.status for c in sandbox.calls_to("GET", "/gateway/bot")] == [502, 200]


async def test_bot_reconnects_after_the_gateway_drops_it(sandbox: Sandbox, bot: BotProcess) -> None:
    since = len(sandbox.frames)
    sandbox.gateway.close_connections(1011)
    await sandbox.wait_for_event("RESUMED", since=since, timeout=45)
    assert bot.returncode is None


async def test_a_403_on_delete_does_not_stop_the_bot_removing_the_next_reupload(
    sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot, tmp_path: Path
) -> None:
    await arrange(tmp_path, guild)
    bot = await start_bot()
    sandbox.faults.fail("DELETE", DELETE_ROUTE, 403, code=50013)
    fan, general = guild.member("fan"), guild.channel("general")
    image = encode(photo(KNOWN), "PNG")
    first = await fan.send(general, files=[("fake.png", image)])
    refused = await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(first.id), timeout=45
    )
    assert refused.status == 403
    second = await fan.send(general, files=[("fake-again.png", image)])
    removed = await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(second.id), timeout=45
    )
    assert removed.status == 204
    assert bot.returncode is None
