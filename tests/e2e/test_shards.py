"""Two bot processes, one shard each (SHARD_COUNT=2, SHARD_IDS=0 and 1), against a two-shard
sandbox and one PostgreSQL, as README's "Running several processes" describes: each process
gets its own guilds only; a takedown added through one removes a re-upload in a guild of the
other; after the processes swap shards, the new owner catches up on what was posted while both
were down (from the scan positions the other one kept), and report and alert buttons posted by
one process work when the other gets the click."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from db import scan_positions
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, create_guild
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import BOT_PROCESSES, MODERATOR_PERMISSIONS
from tests.e2e.test_reports import click, eventually, link, queue, queue_shows, slash_report
from tests.e2e.test_takedowns import reupload, say, set_mod_channel, wait_deleted
from tests.media.samples import encode, photo

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

KNOWN = 4  # the photo that goes on the list


def fandom(sandbox: Sandbox, shard: int) -> GuildHandle:
    """A fan server whose id Discord routes to `shard` of 2."""
    guild = create_guild(
        sandbox, f"Fans on shard {shard}", channels=("general", "mod-queue"), shard=(shard, 2)
    )
    moderators = guild.add_role("Moderator", MODERATOR_PERMISSIONS, position=1)
    guild.make_private(guild.channel("mod-queue"), moderators)
    guild.add_member("moderator", roles=[moderators])
    guild.add_member("fan")
    return guild


class Shards:
    """Bot processes of one deployment: each started with its own shard ids."""

    def __init__(self, sandbox: Sandbox, tmp_path: Path, database_url: str, node: str) -> None:
        self.sandbox = sandbox
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.started: list[BotProcess] = []
        BOT_PROCESSES[node] = self.started

    async def start(self, shard: int) -> BotProcess:
        env = {
            "SHARD_COUNT": "2",
            "SHARD_IDS": str(shard),
            "DATABASE_URL": self.database_url,
            "HASH_WORKERS": "1",
        }
        workdir = self.tmp_path / f"bot-{len(self.started)}"
        process = await BotProcess(self.sandbox, workdir, env=env).start()
        self.started.append(process)
        await process.wait_ready()
        return process

    async def stop(self) -> None:
        for process in self.started:
            await process.stop()


async def scanned_up_to(database_url: str, message: Message) -> None:
    """Until the scan position of the message's channel, in the database, reaches it."""
    database = await Database.open(database_url, migrate=False)
    try:

        async def position() -> int:
            async with database.connect() as conn:
                positions = await scan_positions.guild_positions(conn, message.guild_id)
            return positions.get(message.channel_id, 0)

        for _ in range(300):
            if await position() >= message.id:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"message {message.id} was never marked as scanned")
    finally:
        await database.close()


def alerts(sandbox: Sandbox, guild: GuildHandle) -> list[Message]:
    channel = guild.channel("mod-queue").id
    return [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == channel and m.embeds and "match" in m.embeds[0].get("title", "")
    ]


async def test_two_shard_processes_on_one_postgresql_act_as_one_bot(
    sandbox: Sandbox, postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    publisher, subscriber = fandom(sandbox, 0), fandom(sandbox, 1)
    shards = Shards(sandbox, tmp_path, postgres_url, request.node.nodeid)
    try:
        await shards.start(0)
        second = await shards.start(1)
        served = {s.shard_id: s for s in sandbox.gateway.live_sessions()}
        assert sorted(served) == [0, 1] and all(s.shard_count == 2 for s in served.values())

        # Each guild's commands are answered by the process that serves it.
        for guild in (publisher, subscriber):
            await set_mod_channel(guild)
        shared = await say(publisher.owner, "takedown share")
        code = re.search(r"Its code is `([^`]+)`", shared)
        assert code, shared
        subscribed = await say(
            subscriber.owner, "takedown subscribe", code=code[1], action="remove"
        )
        assert f"Subscribed to list `{code[1]}`" in subscribed

        # A takedown added through the first process reaches the second one's index.
        logged = len(second.lines)
        added = await say(
            publisher.member("moderator"),
            "takedown add",
            image=("fake.png", encode(photo(KNOWN), "PNG")),
            label="fake of idol A",
        )
        assert "Added entry" in added
        await second.wait_for_log("Takedown index: applied", since=logged)
        removed = await subscriber.member("fan").send(
            subscriber.channel("general"), "", files=[("copy.jpg", reupload())]
        )
        await wait_deleted(sandbox, removed)
        (alert,) = await eventually(lambda: alerts(sandbox, subscriber), "the match alert")

        # A report in the first process's guild: its queue message is posted by that process.
        posted = await publisher.member("fan").send(publisher.channel("general"), "spam link")
        reporter = publisher.add_member("minji")
        await slash_report(
            reporter,
            in_channel=publisher.channel("general"),
            category="spam",
            message=link(publisher, posted),
        )
        (queued,) = await eventually(lambda: queue(sandbox, publisher), "the queue message")

        # The first process removes a re-upload in its own guild too (and keeps its position).
        own = await publisher.member("fan").send(
            publisher.channel("general"), "", files=[("own.jpg", reupload())]
        )
        await wait_deleted(sandbox, own)
        await scanned_up_to(postgres_url, own)  # the position the other process will start from

        # Both down; a re-upload is posted meanwhile; then the processes swap shards.
        await shards.stop()
        offline = await publisher.member("fan").send(
            publisher.channel("general"), "", files=[("while-down.jpg", reupload())]
        )
        await shards.start(1)
        await shards.start(0)
        await wait_deleted(sandbox, offline)  # caught up by the process now serving it

        dismissed = await click(publisher.member("moderator"), queued, "Dismiss")
        form = await publisher.member("moderator").submit_modal(dismissed, {})
        assert "Dismissed (case #" in (await form.message()).content
        await queue_shows(sandbox, publisher, 1, "Dismissed by")

        not_a_match = await click(subscriber.member("moderator"), alert, "Not a match")
        assert "Marked as not a match" in (await not_a_match.message()).content
        await eventually(lambda: "Not a match by" in str(alert.embeds[0]), "the alert's update")
        for process in shards.started:
            assert "Traceback" not in process.stderr, process.stderr
    finally:
        await shards.stop()
