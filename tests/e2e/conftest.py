"""Fixtures for end-to-end tests: a sandbox in the test's own loop and the real bot against it.

    async def test_rules_answers(bot, guild):
        fan = guild.member("fan")
        answer = await fan.run_command("rules")
        assert "Be kind" in (await answer.message()).content

`sandbox` is a fresh Discord-compatible server on an ephemeral port; `guild` is a standard fandom
server in it (channels #general and #mod-queue, a Moderator role, members owner, moderator, fan);
`bot` is `python bot.py` started against it with its own SQLite file, ready (READY and
GUILD_CREATE sent). `start_bot` starts more bot processes or ones with other settings. After
each test the sandbox must have seen no unimplemented route, no error of its own, and only
answers that fit Discord's OpenAPI description; the bot's output is attached to a failing test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from discord.http import HTTPClient, Route

from sandbox.botprocess import BotProcess
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle, create_guild
from sandbox.server import Sandbox
from tests.e2e.openapi import shape_errors, spec_path

StartBot = Callable[..., Awaitable[BotProcess]]
# Bot processes by test node id, for the failure report (pytest-asyncio's items hide the stash).
BOT_PROCESSES: dict[str, list[BotProcess]] = {}

MODERATOR_PERMISSIONS = (
    Permission.MANAGE_MESSAGES
    | Permission.MODERATE_MEMBERS
    | Permission.KICK_MEMBERS
    | Permission.BAN_MEMBERS
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Show what each bot process printed when a test fails."""
    report: pytest.TestReport = yield
    if report.when == "teardown":
        BOT_PROCESSES.pop(item.nodeid, None)
    elif report.failed:
        for index, process in enumerate(BOT_PROCESSES.get(item.nodeid, [])):
            report.sections.append((f"bot output (process {index + 1})", process.stderr))
    return report


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    server = await Sandbox().start()
    try:
        yield server
    finally:
        await server.stop()
    problems = [f"unimplemented route: {r}" for r in server.unhandled]
    problems += [f"sandbox error: {e}" for e in server.errors]
    spec_path()  # a missing description fails the test: the shapes must be checked
    for call in server.calls:
        problems += shape_errors(call)
    assert not problems, "\n".join(problems)


@pytest.fixture
async def http(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HTTPClient]:
    """discord.py's own REST client, logged in as the bot, talking to the sandbox."""
    monkeypatch.setattr(Route, "BASE", sandbox.api_base)
    client = HTTPClient(asyncio.get_running_loop())
    await client.static_login(sandbox.world.application.token)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def guild(sandbox: Sandbox) -> GuildHandle:
    handle = create_guild(sandbox, "Lightstick Test", channels=("general", "mod-queue"))
    moderator_role = handle.add_role("Moderator", MODERATOR_PERMISSIONS, position=1)
    handle.make_private(handle.channel("mod-queue"), moderator_role)
    handle.add_member("moderator", roles=[moderator_role])
    handle.add_member("fan")
    return handle


@pytest.fixture
async def start_bot(
    sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StartBot]:
    """`await start_bot(env={...}, wait=True)`: a bot process; all are stopped after the test."""
    started: list[BotProcess] = []

    async def start(*, env: dict[str, str] | None = None, wait: bool = True) -> BotProcess:
        workdir = tmp_path / "bot"  # one database per test, shared by restarts within it
        process = await BotProcess(sandbox, workdir, env=env).start()
        started.append(process)
        if wait:
            await process.wait_ready()
        return process

    BOT_PROCESSES[request.node.nodeid] = started
    try:
        yield start
    finally:
        for process in started:
            await process.stop()


@pytest.fixture
async def bot(start_bot: StartBot, guild: GuildHandle) -> BotProcess:
    return await start_bot()
