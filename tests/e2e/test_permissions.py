"""A plain fan can't run a single admin or moderator command, even when a server's admins open
the command to everyone in Integrations: the bot's own checks refuse, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db import cases, rules
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, OptionType
from sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

REFUSALS = ("Only this server's moderators", "Only this server's admins")


def leaf_commands(options: list[dict[str, Any]], path: list[str]) -> Iterator[tuple[str, list]]:
    """Every runnable command path ("config channels") with its option definitions."""
    subcommands = [
        o for o in options if o["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
    ]
    if not subcommands:
        yield " ".join(path), options
    for sub in subcommands:
        yield from leaf_commands(sub.get("options") or [], [*path, sub["name"]])


def filler(guild: GuildHandle, definition: dict[str, Any]) -> Any:
    """A valid value for a required option, so only the permission check can refuse."""
    if definition.get("choices"):
        return definition["choices"][0]["value"]
    kind = definition["type"]
    return {
        OptionType.STRING: "pdq:" + "ab" * 32,
        OptionType.INTEGER: max(1, definition.get("min_value", 1)),
        OptionType.NUMBER: max(1, definition.get("min_value", 1)),
        OptionType.BOOLEAN: True,
        OptionType.USER: guild.member("moderator"),
        OptionType.CHANNEL: guild.channel("general"),
        OptionType.ROLE: guild.role("Moderator"),
        OptionType.MENTIONABLE: guild.member("moderator"),
        OptionType.ATTACHMENT: ("list.csv", b"algorithm,hash,label\n"),
    }[kind]


async def test_every_privileged_command_refuses_a_fan_and_changes_nothing(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, bot: BotProcess
) -> None:
    fan = guild.member("fan")
    privileged = [
        c
        for c in sandbox.world.application.commands.values()
        if c.type == 1 and c.payload.get("default_member_permissions") is not None
    ]
    assert {c.name for c in privileged} >= {"config", "manage-rules", "cases"}
    tried = []
    for command in privileged:
        guild.open_command_to_everyone(command.name)
        for path, options in leaf_commands(command.payload.get("options") or [], [command.name]):
            values = {o["name"]: filler(guild, o) for o in options if o.get("required")}
            answer = await fan.run_command(path, **values)
            message = await answer.message()
            assert answer.ephemeral, path
            assert message.content.startswith(REFUSALS), (path, message.content)
            tried.append(path)
    assert len(tried) >= 12
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'bot' / 'lightstick.db'}")
    async with database.connect() as conn:
        assert await cases.count_cases(conn, guild.id) == 0
        assert await rules.list_rules(conn, guild.id) == []
    await database.close()


async def test_context_menus_for_moderators_refuse_fans(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    menus = [
        c
        for c in sandbox.world.application.commands.values()
        if c.type == 3 and c.payload.get("default_member_permissions") is not None
    ]
    if not menus:
        pytest.skip("no moderator-only message menu is registered yet")
    fan = guild.member("fan")
    target = await guild.member("moderator").send(guild.channel("general"), "hello")
    for menu in menus:
        guild.open_command_to_everyone(menu.name)
        answer = await fan.run_message_command(menu.name, target)
        assert (await answer.message()).content.startswith(REFUSALS), menu.name
