"""The sandbox's REST side, driven by discord.py's own HTTP client: every route answers in
Discord's shape (checked against the OpenAPI description by the `sandbox` fixture), and refusals
carry Discord's status and code, so the bot's error handling meets what it would meet there."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import aiohttp
import discord
import pytest
from discord.http import HTTPClient, Route
from PIL import Image

from sandbox.messaging import edit_message
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle, InteractionHandle
from sandbox.server import Sandbox
from sandbox.state import Message

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "/webhooks/{webhook_id}/{webhook_token}"
WEBHOOK_MESSAGE = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"


def png(width: int = 2, height: int = 3) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "purple").save(buffer, "PNG")
    return buffer.getvalue()


PNG = png()


async def register(http: HTTPClient, sandbox: Sandbox, guild: GuildHandle) -> None:
    app_id = sandbox.world.application.id
    commands = [
        {"name": "ping", "description": "Ping", "type": 1},
        {"name": "Report message", "type": 3},
    ]
    await http.bulk_upsert_global_commands(app_id, commands)
    await http.bulk_upsert_guild_commands(app_id, guild.id, commands[:1])


async def answer(http: HTTPClient, handle: InteractionHandle, kind: int, **data: object) -> dict:
    interaction = handle.interaction
    route = Route(
        "POST", CALLBACK, interaction_id=interaction.id, interaction_token=interaction.token
    )
    return await http.request(route, json={"type": kind, "data": data}, params={"with_response": 1})


async def test_every_implemented_route_answers_in_discords_shape(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    app_id, channel = sandbox.world.application.id, guild.channel("general")
    fan = guild.member("fan")
    extra = Permission.MANAGE_NICKNAMES | Permission.MANAGE_ROLES
    guild.update_role(guild.bot_role, position=10, permissions=guild.bot_role.permissions | extra)
    await http.get_bot_gateway()
    await http.request(Route("GET", "/gateway"))
    await http.application_info()
    await http.request(Route("GET", "/applications/@me"))
    await http.get_user(fan.id)
    await register(http, sandbox, guild)
    await http.get_global_commands(app_id)
    await http.get_guild_commands(app_id, guild.id)
    made = await http.upsert_global_command(app_id, {"name": "extra", "description": "x"})
    await http.delete_global_command(app_id, made["id"])
    made = await http.upsert_guild_command(app_id, guild.id, {"name": "g", "description": "x"})
    await http.delete_guild_command(app_id, guild.id, made["id"])

    await http.get_guild(guild.id)
    await http.get_all_guild_channels(guild.id)
    await http.get_roles(guild.id)
    await http.get_role(guild.id, guild.role("Moderator").id)
    await http.get_members(guild.id, 10, None)
    await http.get_member(guild.id, fan.id)
    await http.get_channel(channel.id)
    await http.send_typing(channel.id)

    sent = await http.send_message(channel.id, params=_params(content="hello", embed=True))
    files = [discord.File(_bytes_io(PNG), "idol.png")]
    with_file = await http.send_message(channel.id, params=_params(content="pic", files=files))
    assert with_file["attachments"][0]["width"] == 2
    await http.get_message(channel.id, sent["id"])
    await http.logs_from(channel.id, 50)
    await http.edit_message(channel.id, sent["id"], params=_params(content="edited"))
    await http.pin_message(channel.id, sent["id"])
    await http.pins_from(channel.id)
    await http.unpin_message(channel.id, sent["id"])
    await http.add_reaction(channel.id, sent["id"], "%F0%9F%92%9C")
    await http.get_reaction_users(channel.id, sent["id"], "%F0%9F%92%9C", 10)
    await http.remove_own_reaction(channel.id, sent["id"], "%F0%9F%92%9C")
    await http.add_reaction(channel.id, sent["id"], "%F0%9F%92%9C")
    await http.remove_reaction(channel.id, sent["id"], "%F0%9F%92%9C", sandbox.world.bot.id)
    await http.clear_reactions(channel.id, sent["id"])
    first = await fan.send(channel, "one")
    second = await fan.send(channel, "two")
    await http.delete_messages(channel.id, [first.id, second.id])
    await http.delete_message(channel.id, sent["id"])

    until = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).isoformat()
    await http.edit_member(guild.id, fan.id, communication_disabled_until=until)
    await http.edit_member(guild.id, fan.id, nick="stan")
    role = guild.add_role("Fan", 0, position=1)
    await http.add_role(guild.id, fan.id, role.id)
    await http.remove_role(guild.id, fan.id, role.id)
    dm = await http.start_private_message(fan.id)
    await http.send_message(dm["id"], params=_params(content="Your report was received."))
    troll = guild.add_member("troll")
    await http.ban(troll.id, guild.id, delete_message_seconds=0)
    await http.get_bans(guild.id, 1000)
    await http.get_ban(troll.id, guild.id)
    await http.unban(troll.id, guild.id)
    await http.kick(guild.add_member("spammer").id, guild.id)

    command = await fan.run_command("ping")
    await answer(http, command, 5, flags=64)
    token = command.interaction.token
    original = Route(
        "GET", WEBHOOK_MESSAGE, webhook_id=app_id, webhook_token=token, message_id="@original"
    )
    await http.request(original)
    await http.request(
        Route(
            "PATCH", WEBHOOK_MESSAGE, webhook_id=app_id, webhook_token=token, message_id="@original"
        ),
        json={"content": "Done."},
    )
    follow = await http.request(
        Route("POST", FOLLOWUP, webhook_id=app_id, webhook_token=token),
        json={"content": "More", "flags": 64},
        params={"wait": "true"},
    )
    by_id = {"webhook_id": app_id, "webhook_token": token, "message_id": follow["id"]}
    await http.request(Route("GET", WEBHOOK_MESSAGE, **by_id))
    await http.request(Route("PATCH", WEBHOOK_MESSAGE, **by_id), json={"content": "Even more"})
    await http.request(Route("DELETE", WEBHOOK_MESSAGE, **by_id))
    await http.request(
        Route(
            "DELETE",
            WEBHOOK_MESSAGE,
            webhook_id=app_id,
            webhook_token=token,
            message_id="@original",
        )
    )

    shown = await answer(
        http, await fan.run_command("ping"), 4, content="Pong", components=[_row()]
    )
    message = sandbox.world.messages[int(shown["resource"]["message"]["id"])]
    await answer(http, await fan.click(message, "ok"), 7, content="Clicked")
    context = await fan.run_message_command("Report message", message)
    await answer(http, context, 9, custom_id="report", title="Report", components=[_label()])

    assert_every_route_was_answered(sandbox)


def assert_every_route_was_answered(sandbox: Sandbox) -> None:
    app = sandbox._runner.app  # type: ignore[union-attr]
    api = next(r for r in app.router.resources() if r.canonical == "/api/v10")._app  # type: ignore[attr-defined]
    registered = {
        (route.method, route.resource.canonical.removeprefix("/api/v10"))
        for route in api.router.routes()
        if route.method not in ("HEAD", "*")
    }
    answered = {(c.method, c.route) for c in sandbox.calls if 200 <= c.status < 300}
    assert registered - answered == set()


def _row() -> dict:
    return {"type": 1, "components": [{"type": 2, "style": 1, "label": "OK", "custom_id": "ok"}]}


def _label() -> dict:
    text = {"type": 4, "custom_id": "details", "style": 2}
    return {"type": 18, "label": "What's wrong?", "component": text}


def _params(*, content: str, embed: bool = False, files: list | None = None):  # type: ignore[no-untyped-def]
    from discord.http import handle_message_parameters

    embeds = (
        [discord.Embed(title="Rules", description="Be kind")] if embed else discord.utils.MISSING
    )
    return handle_message_parameters(
        content=content, embeds=embeds, files=files or discord.utils.MISSING
    )


def _bytes_io(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


async def test_refusals_carry_discords_status_and_code(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    channel, fan = guild.channel("general"), guild.member("fan")
    fan_message = await fan.send(channel, "mine")
    guild.set_bot_permissions(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden) as missing:
        await http.delete_message(channel.id, fan_message.id)
    assert missing.value.code == 50013
    with pytest.raises(discord.NotFound) as unknown:
        await http.get_message(channel.id, 1234)
    assert unknown.value.code == 10008
    with pytest.raises(discord.HTTPException) as too_long:
        await http.send_message(channel.id, params=_params(content="x" * 2001))
    assert too_long.value.code == 50035 and "content" in too_long.value.text
    with pytest.raises(discord.Forbidden) as cannot_edit:
        await http.edit_message(channel.id, fan_message.id, params=_params(content="no"))
    assert cannot_edit.value.code == 50005
    with pytest.raises(discord.Forbidden) as no_kick:
        await http.kick(fan.id, guild.id)
    assert no_kick.value.code == 50013
    closed = guild.add_member("private", dms_open=False)
    dm = await http.start_private_message(closed.id)
    with pytest.raises(discord.Forbidden) as no_dm:
        await http.send_message(dm["id"], params=_params(content="hi"))
    assert no_dm.value.code == 50007
    hidden = guild.add_channel("staff")
    guild.set_overwrite(hidden, guild.bot_role, deny=Permission.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as no_access:
        await http.send_message(hidden.id, params=_params(content="hi"))
    assert no_access.value.code == 50001


async def test_interaction_answers_follow_discords_timing_rules(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    await register(http, sandbox, guild)
    fan = guild.member("fan")
    first = await fan.run_command("ping")
    await answer(http, first, 4, content="Pong")
    with pytest.raises(discord.HTTPException) as twice:
        await answer(http, first, 4, content="Pong again")
    assert twice.value.code == 40060
    sandbox.interaction_deadline = 0.05
    late = await fan.run_command("ping")
    await asyncio.sleep(0.1)
    with pytest.raises(discord.NotFound) as expired:
        await answer(http, late, 4, content="Too late")
    assert expired.value.code == 10062


async def test_moderation_respects_role_hierarchy_owners_and_timeout_limits(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    above = guild.add_role("Staff", Permission.ADMINISTRATOR)  # newest role: above the bot
    staff = guild.add_member("staff", roles=[above])
    for target in (staff.id, guild.owner.id):
        with pytest.raises(discord.Forbidden) as refused:
            await http.ban(target, guild.id, delete_message_seconds=0)
        assert refused.value.code == 50013
    too_long = (dt.datetime.now(dt.UTC) + dt.timedelta(days=29)).isoformat()
    with pytest.raises(discord.HTTPException) as limit:
        await http.edit_member(
            guild.id, guild.member("fan").id, communication_disabled_until=too_long
        )
    assert limit.value.code == 50035


async def test_a_ban_deletes_the_requested_window_of_messages(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    troll = guild.add_member("troll")
    posted = [await troll.send(guild.channel("general"), f"spam {n}") for n in range(3)]
    await http.ban(troll.id, guild.id, delete_message_seconds=3600)
    assert all(m.deleted for m in posted)
    assert troll.id not in guild.guild.members


async def test_rate_limits_are_waited_out_and_server_errors_retried(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    channel = guild.channel("general")
    route = "/channels/{channel_id}/messages"
    sandbox.faults.rate_limit("POST", route, retry_after=0.2)
    sandbox.faults.fail("POST", route, 500)
    await http.send_message(channel.id, params=_params(content="eventually"))
    assert [c.status for c in sandbox.calls_to("POST", route)] == [429, 500, 200]
    sandbox.faults.fail("DELETE", "/channels/{channel_id}/messages/{message_id}", 403, code=50013)
    mine = sandbox.calls_to("POST", route)[-1].response["id"]
    with pytest.raises(discord.Forbidden):
        await http.delete_message(channel.id, mine)
    sandbox.faults.fail("GET", "/channels/{channel_id}", 404, code=10003)
    with pytest.raises(discord.NotFound):
        await http.get_channel(channel.id)


async def test_a_429_without_via_header_is_not_retried_by_discord_py(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    fault = sandbox.faults.rate_limit("GET", "/channels/{channel_id}")
    del fault.headers["Via"]
    with pytest.raises(discord.HTTPException) as raised:
        await http.get_channel(guild.channel("general").id)
    assert raised.value.status == 429


async def test_unimplemented_routes_answer_404_and_are_recorded(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    with pytest.raises(discord.NotFound):
        await http.request(Route("GET", "/guilds/{guild_id}/webhooks", guild_id=guild.id))
    assert sandbox.unhandled == [f"GET /guilds/{guild.id}/webhooks"]
    sandbox.unhandled.clear()  # seen; the fixture fails any test that leaves one behind


async def test_message_content_is_blank_on_rest_without_the_intent(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    sandbox.allow_privileged_intents(members=True, message_content=False)
    channel = guild.channel("general")
    fan = guild.member("fan")
    plain = await fan.send(channel, "secret", files=[("a.png", PNG)])
    mention = await fan.send(channel, f"hey <@{sandbox.world.bot.id}>")
    fetched = await http.get_message(channel.id, plain.id)
    assert fetched["content"] == "" and fetched["attachments"] == []
    assert (await http.get_message(channel.id, mention.id))["content"].startswith("hey")


async def test_cdn_serves_attachments_and_media_proxy_serves_embed_images(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    sandbox.world.external_media["https://example.com/fancam.png"] = ("image/png", PNG)
    fan = guild.member("fan")
    embed = {"title": "fancam", "image": {"url": "https://example.com/fancam.png"}}
    message: Message = await fan.send(
        guild.channel("general"), "look", files=[("a.png", PNG)], embeds=[embed]
    )
    attachment_url = sandbox.world.attachment_url(message.channel_id, message.attachments[0])
    proxy_url = message.embeds[0]["image"]["proxy_url"]
    assert attachment_url.startswith(sandbox.cdn_base)
    assert await http.get_from_cdn(attachment_url) == PNG
    assert await http.get_from_cdn(proxy_url) == PNG
    with pytest.raises(discord.NotFound):
        await http.get_from_cdn(f"{sandbox.cdn_base}/attachments/1/2/missing.png")
    assert [c.status for c in sandbox.cdn_requests] == [200, 200, 404]


async def test_avatars_and_banners_are_served_where_discord_serves_them(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    fan = guild.member("fan")
    old = fan.set_avatar(PNG)
    avatar = fan.set_avatar(png(4, 4))
    banner = fan.set_banner(PNG)
    server_avatar = fan.set_server_avatar(PNG)
    server_banner = fan.set_server_banner(PNG)
    profile = await http.get_user(fan.id)
    assert profile["avatar"] == avatar and profile["banner"] == banner
    base = f"/users/{fan.id}"
    paths = {
        f"/avatars/{fan.id}/{avatar}.png": 200,
        f"/avatars/{fan.id}/{old}.png": 404,  # no longer worn
        f"/banners/{fan.id}/{banner}.png": 200,
        f"/guilds/{guild.id}{base}/avatars/{server_avatar}.png": 200,
        f"/guilds/{guild.id}{base}/banners/{server_banner}.webp": 200,
        f"/guilds/{guild.id}{base}/banners/{server_avatar}.png": 404,  # not this one's banner
    }
    async with aiohttp.ClientSession() as session:
        for path, status in paths.items():
            async with session.get(f"{sandbox.cdn_base}{path}?size=1024") as response:
                assert (path, response.status) == (path, status)
                if status == 200:
                    assert (await response.read())[:4] == b"\x89PNG"
    animated = fan.set_avatar(b"GIF89a" + bytes(20))
    assert animated is not None and animated.startswith("a_")


async def test_cdn_serves_an_attachment_while_its_message_has_it(
    sandbox: Sandbox, guild: GuildHandle, http: HTTPClient
) -> None:
    """The CDN finds an attachment through the message it was posted on, checked as the message
    is now: one edited away is gone, one added by an edit is served (found by the walk)."""
    fan = guild.member("fan")
    channel = guild.channel("general")
    first = await fan.send(channel, "", files=[("a.png", PNG), ("b.png", PNG)])
    dropped = first.attachments[1]
    edit_message(sandbox, first, {"attachments": [{"id": str(first.attachments[0].id)}]}, [])
    url = sandbox.world.attachment_url
    assert await http.get_from_cdn(url(channel.id, first.attachments[0])) == PNG
    with pytest.raises(discord.NotFound):
        await http.get_from_cdn(url(channel.id, dropped))
    later = await fan.send(channel, "hi", files=[("c.png", PNG)])
    moved = later.attachments[0]
    edit_message(sandbox, later, {"attachments": []}, [])
    edit_message(sandbox, first, {}, [moved])  # now on another message than it came on
    assert await http.get_from_cdn(url(channel.id, moved)) == PNG
    assert sandbox.attachment_homes[moved.id] == first.id
