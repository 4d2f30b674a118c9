"""The real bot process starting against the sandbox: login, command sync, gateway, and the
startup failures a self-hoster meets (a rejected token, privileged intents switched off)."""

from __future__ import annotations

import pytest

from sandbox.botprocess import BotProcess
from sandbox.gateway import Intent, Op
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot

pytestmark = pytest.mark.e2e

COMMANDS_ROUTE = "/applications/{application_id}/commands"


async def test_bot_logs_in_syncs_commands_and_identifies_with_its_intents(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    routes = [(c.method, c.route) for c in sandbox.calls]
    assert routes[:4] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", COMMANDS_ROUTE),
        ("GET", "/gateway/bot"),
    ]
    identify = await sandbox.wait_for_event(op=Op.IDENTIFY, sent_by_bot=True)
    intents = identify.data["intents"]
    for needed in (Intent.GUILDS, Intent.GUILD_MEMBERS, Intent.GUILD_MESSAGES):
        assert intents & needed
    assert intents & Intent.MESSAGE_CONTENT
    assert sandbox.gateway.handshakes[0]["compress"] == "zlib-stream"
    created = await sandbox.wait_for_event("GUILD_CREATE")
    assert created.data["id"] == str(guild.id)
    assert await bot.wait_for_log("Connected as Lightstick")


async def test_second_start_with_unchanged_commands_does_not_sync_again(
    sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    first = await start_bot()
    await first.stop()
    second = await start_bot()
    await second.wait_for_log("Commands unchanged")
    assert len(sandbox.calls_to("PUT", COMMANDS_ROUTE)) == 1
    assert len(sandbox.gateway.handshakes) == 2


async def test_bot_receives_a_members_image_with_its_content(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    fan = guild.member("fan")
    png = (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)[:72]
    message = await fan.send(guild.channel("general"), "look at this", files=[("fancam.png", png)])
    frame = await sandbox.wait_for_event(
        "MESSAGE_CREATE", where=lambda d: d["id"] == str(message.id)
    )
    await sandbox.gateway.flushed()
    assert frame.data["content"] == "look at this"
    [attachment] = frame.data["attachments"]
    assert attachment["filename"] == "fancam.png"
    assert attachment["url"].startswith(sandbox.cdn_base)
    assert bot.returncode is None


async def test_rejected_token_ends_with_a_readable_paragraph_and_no_traceback(
    sandbox: Sandbox, start_bot: StartBot
) -> None:
    bot = await start_bot(env={"DISCORD_TOKEN": "not-the-token"}, wait=False)
    code = await bot.wait_exit()
    assert code != 0
    assert "Discord rejected the bot token" in bot.stderr
    assert "Reset Token" in bot.stderr
    assert "Traceback" not in bot.stderr
    [login] = sandbox.calls_to("GET", "/users/@me")
    assert login.status == 401


async def test_privileged_intents_switched_off_end_with_a_paragraph_naming_both(
    sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    sandbox.allow_privileged_intents(members=True, message_content=False)
    bot = await start_bot(wait=False)
    code = await bot.wait_exit()
    assert code != 0
    text = " ".join(bot.stderr.split()).lower()
    assert "message content intent" in text
    assert "server members intent" in text
    assert "4014" in text
    assert "Traceback" not in bot.stderr
