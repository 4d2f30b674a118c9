"""The sandbox's gateway spoken to directly over a websocket: the handshake, zlib-stream, intents
(4014 for a privileged intent the app lacks, blank content without Message Content), and RESUME
replaying what a client missed."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.gateway import Intent, Op
from sandbox.scenario import GuildHandle, create_guild
from sandbox.server import Sandbox

BOT_INTENTS = Intent.GUILDS | Intent.GUILD_MEMBERS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT


class Client:
    """A minimal gateway client: zlib-stream with one inflater per connection, like discord.py."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inflater = zlib.decompressobj()
        self.seq = 0

    async def receive(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return {"close": msg.data}
        assert msg.type == aiohttp.WSMsgType.BINARY and msg.data.endswith(b"\x00\x00\xff\xff")
        payload = json.loads(self.inflater.decompress(msg.data))
        self.seq = payload.get("s") or self.seq
        return payload

    async def until(self, event: str) -> dict[str, Any]:
        while True:
            payload = await self.receive()
            if payload.get("t") == event or "close" in payload:
                return payload

    async def send(self, op: int, data: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": data}))

    async def identify(
        self, token: str, intents: int, shard: list[int] | None = None
    ) -> dict[str, Any]:
        assert (await self.receive())["op"] == Op.HELLO
        data = {"token": token, "intents": intents, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await self.send(Op.IDENTIFY, data)
        return await self.receive()


@pytest.fixture
async def connect(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession() as session:

        async def open_client(path: str = "/") -> Client:
            url = (
                f"ws://{sandbox.host}:{sandbox.port}{path}?v=10&encoding=json&compress=zlib-stream"
            )
            return Client(await session.ws_connect(url))

        yield open_client


async def test_identify_gets_ready_then_guilds_and_heartbeats_are_acked(
    sandbox: Sandbox, guild: GuildHandle, connect: Any
) -> None:
    client = await connect()
    ready = await client.identify(sandbox.world.application.token, BOT_INTENTS)
    assert ready["t"] == "READY"
    assert ready["d"]["resume_gateway_url"] == sandbox.resume_gateway_url
    assert ready["d"]["guilds"] == [{"id": str(guild.id), "unavailable": True}]
    created = await client.until("GUILD_CREATE")
    # Discord: without GUILD_PRESENCES the members are the bot's own (and voice members') only
    assert [m["user"]["username"] for m in created["d"]["members"]] == ["Lightstick"]
    await client.send(Op.HEARTBEAT, client.seq)
    assert (await client.receive())["op"] == Op.HEARTBEAT_ACK


async def test_privileged_intent_the_app_lacks_closes_with_4014(
    sandbox: Sandbox, connect: Any
) -> None:
    sandbox.allow_privileged_intents(members=False, message_content=True)
    client = await connect()
    answer = await client.identify(sandbox.world.application.token, BOT_INTENTS)
    assert answer == {"close": 4014}


async def test_wrong_token_closes_with_4004(sandbox: Sandbox, connect: Any) -> None:
    client = await connect()
    assert await client.identify("nope", BOT_INTENTS) == {"close": 4004}


async def test_without_message_content_guild_messages_are_blank_unless_they_mention_the_bot(
    sandbox: Sandbox, guild: GuildHandle, connect: Any
) -> None:
    client = await connect()
    await client.identify(sandbox.world.application.token, Intent.GUILDS | Intent.GUILD_MESSAGES)
    created = await client.until("GUILD_CREATE")
    assert [m["user"]["username"] for m in created["d"]["members"]] == ["Lightstick"]
    fan, channel = guild.member("fan"), guild.channel("general")
    embed = {"title": "x", "image": {"url": "https://example.com/a.png"}}
    await fan.send(channel, "hidden", files=[("a.png", b"data")], embeds=[embed])
    blank = await client.until("MESSAGE_CREATE")
    assert (blank["d"]["content"], blank["d"]["attachments"], blank["d"]["embeds"]) == ("", [], [])
    await fan.send(channel, f"<@{sandbox.world.bot.id}> look", files=[("a.png", b"data")])
    mentioned = await client.until("MESSAGE_CREATE")
    assert mentioned["d"]["content"].endswith("look") and mentioned["d"]["attachments"]
    guild.add_member("newcomer")  # no GUILD_MEMBER_ADD without the members intent
    await fan.send(channel, "after")
    assert (await client.receive())["t"] == "MESSAGE_CREATE"


async def test_resume_replays_missed_events_then_resumed(
    sandbox: Sandbox, guild: GuildHandle, connect: Any
) -> None:
    token = sandbox.world.application.token
    first = await connect()
    ready = await first.identify(token, BOT_INTENTS)
    await first.until("GUILD_CREATE")
    await first.ws.close(code=4000)  # not 1000: a clean close would end the session
    missed = await guild.member("fan").send(guild.channel("general"), "while away")
    second = await connect("/resume")
    assert (await second.receive())["op"] == Op.HELLO
    await second.send(
        Op.RESUME, {"token": token, "session_id": ready["d"]["session_id"], "seq": first.seq}
    )
    replayed = await second.receive()
    assert replayed["t"] == "MESSAGE_CREATE" and replayed["d"]["id"] == str(missed.id)
    assert (await second.receive())["t"] == "RESUMED"


async def test_resume_of_an_ended_session_is_an_invalid_session(
    sandbox: Sandbox, connect: Any
) -> None:
    token = sandbox.world.application.token
    first = await connect()
    ready = await first.identify(token, BOT_INTENTS)
    await first.ws.close(code=1000)
    second = await connect()
    await second.receive()
    await second.send(Op.RESUME, {"token": token, "session_id": ready["d"]["session_id"], "seq": 1})
    assert await second.receive() == {"op": Op.INVALID_SESSION, "d": False}


async def test_server_sent_reconnect_and_invalid_session_reach_the_client(
    sandbox: Sandbox, connect: Any
) -> None:
    client = await connect()
    await client.identify(sandbox.world.application.token, BOT_INTENTS)
    await sandbox.gateway.flushed()
    sandbox.gateway.reconnect()
    assert (await client.receive())["op"] == Op.RECONNECT
    sandbox.gateway.invalidate_sessions(resumable=True)
    assert await client.receive() == {"op": Op.INVALID_SESSION, "d": True}
    sandbox.gateway.close_connections(4009)
    assert await client.receive() == {"close": 4009}


async def test_each_shard_gets_only_its_guilds_and_their_messages_as_discord_routes_them(
    sandbox: Sandbox, connect: Any
) -> None:
    """Discord: a guild's events go to shard (guild_id >> 22) % shard_count, named in IDENTIFY
    as [shard_id, shard_count]; a shard outside the count is closed with 4010."""
    guilds = [
        create_guild(sandbox, f"On shard {shard}", channels=("general",), shard=(shard, 2))
        for shard in (0, 1)
    ]
    assert [(g.id >> 22) % 2 for g in guilds] == [0, 1]
    clients = []
    for shard in (0, 1):
        client = await connect()
        ready = await client.identify(sandbox.world.application.token, BOT_INTENTS, [shard, 2])
        assert ready["d"]["shard"] == [shard, 2]
        assert ready["d"]["guilds"] == [{"id": str(guilds[shard].id), "unavailable": True}]
        assert (await client.until("GUILD_CREATE"))["d"]["id"] == str(guilds[shard].id)
        clients.append(client)
    for shard, guild in enumerate(guilds):
        await guild.owner.send(guild.channel("general"), f"hello shard {shard}")
        created = await clients[shard].until("MESSAGE_CREATE")
        assert created["d"]["content"] == f"hello shard {shard}"
    for client in clients:  # nothing else arrived: the next frame is the answer to a heartbeat
        await client.send(Op.HEARTBEAT, client.seq)
        assert (await client.receive())["op"] == Op.HEARTBEAT_ACK

    stray = await connect()
    closed = await stray.identify(sandbox.world.application.token, BOT_INTENTS, [2, 2])
    assert closed == {"close": 4010}


async def test_a_link_unfurls_in_an_update_after_the_create_and_forwards_carry_snapshots(
    sandbox: Sandbox, guild: GuildHandle, connect: Any
) -> None:
    client = await connect()
    await client.identify(sandbox.world.application.token, BOT_INTENTS)
    await client.until("GUILD_CREATE")
    fan, channel = guild.member("fan"), guild.channel("general")
    sandbox.world.add_link_preview("https://example.com/fancam", b"\xff\xd8\xff jpeg", title="cam")
    posted = await fan.send(channel, "look https://example.com/fancam")
    created = await client.until("MESSAGE_CREATE")
    assert created["d"]["embeds"] == []  # Discord unfurls after posting
    updated = await client.until("MESSAGE_UPDATE")
    assert updated["d"]["id"] == str(posted.id) and updated["d"]["edited_timestamp"] is None
    preview = updated["d"]["embeds"][0]
    assert preview["type"] == "article" and preview["url"] == "https://example.com/fancam"
    assert preview["thumbnail"]["proxy_url"].startswith(sandbox.world.external_proxy_base)
    await fan.forward(posted, channel)
    forwarded = (await client.until("MESSAGE_CREATE"))["d"]
    assert forwarded["message_reference"]["type"] == 1
    assert forwarded["message_snapshots"][0]["message"]["embeds"] == [preview]
