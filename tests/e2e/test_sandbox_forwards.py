"""Forwards and link previews in the sandbox, as Discord documents them: a forward carries a
snapshot of the original (`message_snapshots`, `message_reference.type` 1), a forward of a
forward the first snapshot; a link unfurls into an embed whose picture comes through the
external-image proxy, and the original site is never served."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord.http import HTTPClient, Route

from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from sandbox.state import MessageFlags
from tests.e2e.test_sandbox_rest import PNG, png

MESSAGES = "/channels/{channel_id}/messages"


def snapshot_of(message: dict[str, Any]) -> dict[str, Any]:
    (only,) = message["message_snapshots"]
    return only["message"]


async def test_a_forward_carries_a_snapshot_of_the_original_with_its_attachments(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    other = guild.add_channel("other")
    fan, friend = guild.member("fan"), guild.add_member("friend")
    original = await fan.send(guild.channel("general"), "look", files=[("a.png", PNG)])
    forward = await friend.forward(original, other)

    fetched = await http.get_message(other.id, forward.id)
    assert fetched["type"] == 0 and fetched["content"] == "" and fetched["attachments"] == []
    assert fetched["flags"] & MessageFlags.HAS_SNAPSHOT
    assert fetched["message_reference"] == {
        "type": 1,
        "message_id": str(original.id),
        "channel_id": str(original.channel_id),
        "guild_id": str(guild.id),
    }
    shot = snapshot_of(fetched)
    assert shot["content"] == "look" and "author" not in shot
    assert await http.get_from_cdn(shot["attachments"][0]["url"]) == PNG
    history = await http.logs_from(other.id, 10)  # read back: the shape fits Discord's too
    assert [m["id"] for m in history] == [str(forward.id)]


async def test_a_forward_of_a_forward_carries_the_first_snapshot_and_never_changes(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    fan, channel = guild.member("fan"), guild.channel("general")
    original = await fan.send(channel, "first", files=[("a.png", PNG)])
    forward = await fan.forward(original, channel)
    again = await fan.forward(forward, channel)
    await fan.edit(original, "edited later")

    fetched = await http.get_message(channel.id, again.id)
    assert fetched["message_reference"]["message_id"] == str(forward.id)
    shot = snapshot_of(fetched)
    assert shot["content"] == "first"
    assert [a["id"] for a in shot["attachments"]] == [str(original.attachments[0].id)]


async def test_forwards_are_blank_without_the_message_content_intent(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    fan, channel = guild.member("fan"), guild.channel("general")
    forward = await fan.forward(await fan.send(channel, "x", files=[("a.png", PNG)]), channel)
    sandbox.allow_privileged_intents(message_content=False)
    shot = snapshot_of(await http.get_message(channel.id, forward.id))
    assert (shot["content"], shot["attachments"], shot["embeds"]) == ("", [], [])


async def test_the_bot_forwards_by_reference_and_is_refused_as_discord_refuses(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    general = guild.channel("general")
    original = await guild.member("fan").send(general, "hello")
    route = Route("POST", MESSAGES, channel_id=general.id)
    reference = {"type": 1, "message_id": str(original.id), "channel_id": str(general.id)}
    made = await http.request(route, json={"message_reference": reference})
    assert snapshot_of(made)["content"] == "hello"
    with pytest.raises(discord.HTTPException) as missing:
        await http.request(route, json={"message_reference": {"type": 1, "message_id": "1"}})
    assert missing.value.code == 50035
    hidden = guild.channel("mod-queue")
    secret = await guild.member("moderator").send(hidden, "mods only")
    guild.set_overwrite(hidden, guild.bot_role, deny=1 << 10)  # VIEW_CHANNEL
    with pytest.raises(discord.Forbidden):
        reference = {"type": 1, "message_id": str(secret.id), "channel_id": str(hidden.id)}
        await http.request(route, json={"message_reference": reference})


async def test_a_link_preview_picture_comes_through_the_external_image_proxy(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    fan, channel = guild.member("fan"), guild.channel("general")
    picture = png(40, 30)
    sandbox.world.add_link_preview("https://example.com/page", picture, content_type="image/png")
    sandbox.world.add_external_image("https://example.com/direct.png", PNG, "image/png")
    message = await fan.send(
        channel, "https://example.com/page and https://example.com/direct.png and https://x.y/z"
    )

    page, direct = message.embeds  # the unknown link does not unfurl
    assert (page["type"], direct["type"]) == ("article", "image")
    assert page["thumbnail"]["url"].startswith("https://example.com/")  # the original, outside
    assert (page["thumbnail"]["width"], page["thumbnail"]["height"]) == (40, 30)
    assert await http.get_from_cdn(page["thumbnail"]["proxy_url"]) == picture
    assert await http.get_from_cdn(direct["thumbnail"]["proxy_url"]) == PNG
    assert [c.route for c in sandbox.cdn_requests] == ["/images-ext-{n}/external/{key}"] * 2


async def test_an_embed_can_show_one_picture_as_image_and_another_as_thumbnail(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    sandbox.world.add_external_image("https://example.com/big.png", PNG, "image/png")
    sandbox.world.add_external_image("https://example.com/small.png", png(4, 4), "image/png")
    message = await guild.member("fan").send_embed(
        guild.channel("general"),
        image="https://example.com/big.png",
        thumbnail="https://example.com/small.png",
    )
    (embed,) = message.embeds
    assert await http.get_from_cdn(embed["image"]["proxy_url"]) == PNG
    assert await http.get_from_cdn(embed["thumbnail"]["proxy_url"]) == png(4, 4)
