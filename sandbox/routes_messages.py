"""REST routes on channels and messages: send, read, edit, delete, bulk delete, pins, reactions.

Each route checks the bot's permissions in the channel the way Discord does before acting, so
the bot's error handling meets real 50013/50001/10008 answers. Reads blank message content when
the application lacks the Message Content intent, as Discord does on REST too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from sandbox import messaging, payloads
from sandbox.errors import DiscordError
from sandbox.gateway import Intent
from sandbox.permissions import Permission, require_in_channel
from sandbox.rest import (
    FILES_KEY,
    json_body,
    json_response,
    no_content,
    sandbox_of,
    snowflake,
)
from sandbox.state import Channel, Message, Reaction, snowflake_time, utcnow

routes = web.RouteTableDef()

BULK_DELETE_MAX_AGE = dt.timedelta(days=14)


def _channel(request: web.Request, needed: int = Permission.VIEW_CHANNEL) -> Channel:
    sandbox = sandbox_of(request)
    channel = sandbox.channel(snowflake(request, "channel_id"))
    if channel.guild_id is None:
        return channel  # the sandbox only has the bot's own DM channels
    guild = sandbox.guild(channel.guild_id)
    require_in_channel(guild, channel, sandbox.bot_member(guild), needed)
    return channel


def _message(request: web.Request, channel: Channel) -> Message:
    return sandbox_of(request).message(channel, snowflake(request, "message_id"))


def _visible(request: web.Request, message: Message) -> dict[str, Any]:
    sandbox = sandbox_of(request)
    return payloads.message(
        sandbox.world, message, content_visible=sandbox.content_visible_on_rest(message)
    )


@routes.get("/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    return json_response(payloads.channel(_channel(request)))


@routes.post("/channels/{channel_id}/typing")
async def trigger_typing(request: web.Request) -> web.Response:
    _channel(request, Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
    return no_content()


@routes.post("/channels/{channel_id}/messages")
async def create_message(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    files = request.get(FILES_KEY, {})
    needed = Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES
    if files:
        needed |= Permission.ATTACH_FILES
    channel = _channel(request, needed)
    if channel.guild_id is None:
        recipient = sandbox.dm_channel_owner(channel)
        if not recipient.dms_open:
            raise DiscordError.cannot_dm()
    elif body.get("embeds") and not sandbox.bot_can(channel, Permission.EMBED_LINKS):
        body = {**body, "embeds": []}  # Discord drops embeds silently without Embed Links
    attachments = messaging.attachments_from_upload(sandbox, body, files)
    message = messaging.create_message(sandbox, channel, sandbox.world.bot, body, attachments)
    return json_response(payloads.message(sandbox.world, message))


@routes.get("/channels/{channel_id}/messages")
async def get_messages(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    limit = int(request.query.get("limit", 50))
    if not 1 <= limit <= 100:
        raise DiscordError.invalid_form(
            "limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100."
        )
    found = sandbox.world.channel_messages(channel.id)
    found = [m for m in found if not m.ephemeral]
    if "before" in request.query:
        found = [m for m in found if m.id < int(request.query["before"])]
    if "after" in request.query:
        found = [m for m in found if m.id > int(request.query["after"])][-limit:]
    if "around" in request.query:
        around = int(request.query["around"])
        older = [m for m in found if m.id <= around][: (limit + 1) // 2]
        newer = [m for m in found if m.id > around][-(limit // 2) :] if limit > 1 else []
        found = newer + older
    return json_response([_visible(request, m) for m in found[:limit]])


@routes.get("/channels/{channel_id}/messages/pins")
async def list_pins(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    items = [
        {
            "pinned_at": payloads.iso(utcnow()),
            "message": _visible(request, sandbox.world.messages[m]),
        }
        for m in reversed(channel.pins)
    ]
    return json_response({"items": items, "has_more": False})


def _pin_permission(request: web.Request) -> Channel:
    sandbox = sandbox_of(request)
    channel = _channel(request)
    if channel.guild_id is not None and not (
        sandbox.bot_can(channel, Permission.PIN_MESSAGES)
        or sandbox.bot_can(channel, Permission.MANAGE_MESSAGES)
    ):
        raise DiscordError.missing_permissions()
    return channel


def _pins_update(request: web.Request, channel: Channel) -> None:
    data = {"channel_id": str(channel.id), "last_pin_timestamp": payloads.iso(utcnow())}
    if channel.guild_id:
        data["guild_id"] = str(channel.guild_id)
    sandbox_of(request).gateway.dispatch(
        "CHANNEL_PINS_UPDATE", data, guild_id=channel.guild_id, intent=Intent.GUILDS
    )


@routes.put("/channels/{channel_id}/messages/pins/{message_id}")
async def pin_message(request: web.Request) -> web.Response:
    channel = _pin_permission(request)
    message = _message(request, channel)
    if not message.pinned:
        message.pinned = True
        channel.pins.append(message.id)
        _pins_update(request, channel)
    return no_content()


@routes.delete("/channels/{channel_id}/messages/pins/{message_id}")
async def unpin_message(request: web.Request) -> web.Response:
    channel = _pin_permission(request)
    message = _message(request, channel)
    if message.pinned:
        message.pinned = False
        channel.pins.remove(message.id)
        _pins_update(request, channel)
    return no_content()


@routes.post("/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.MANAGE_MESSAGES)
    ids = [int(i) for i in (await json_body(request)).get("messages", [])]
    if not 2 <= len(ids) <= 100:
        raise DiscordError.invalid_form(
            "messages", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length."
        )
    oldest = utcnow() - BULK_DELETE_MAX_AGE
    if any(snowflake_time(i) < oldest for i in ids):
        raise DiscordError.too_old_to_bulk_delete()
    found = [
        m
        for i in ids
        if (m := sandbox.world.messages.get(i)) is not None
        and m.channel_id == channel.id
        and not m.deleted
    ]
    for message in found:
        message.deleted = True
        if message.id in channel.pins:
            channel.pins.remove(message.id)
    if found:
        sandbox.gateway.dispatch_message_delete(found)
    return no_content()


@routes.get("/channels/{channel_id}/messages/{message_id}")
async def get_message(request: web.Request) -> web.Response:
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    return json_response(_visible(request, _message(request, channel)))


@routes.patch("/channels/{channel_id}/messages/{message_id}")
async def edit_message(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request)
    message = _message(request, channel)
    if message.author.id != sandbox.world.bot.id:
        raise DiscordError.cannot_edit_other()
    body = await json_body(request)
    new = messaging.attachments_from_upload(sandbox, body, request.get(FILES_KEY, {}))
    messaging.edit_message(sandbox, message, body, new)
    return json_response(payloads.message(sandbox.world, message))


@routes.delete("/channels/{channel_id}/messages/{message_id}")
async def delete_message(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request)
    message = _message(request, channel)
    others = message.author.id != sandbox.world.bot.id and channel.guild_id is not None
    if others and not sandbox.bot_can(channel, Permission.MANAGE_MESSAGES):
        raise DiscordError.missing_permissions()
    messaging.delete_message(sandbox, message)
    return no_content()


def _emoji(request: web.Request) -> str:
    return unquote(request.match_info["emoji"])


def _reaction_event(request: web.Request, event: str, message: Message, emoji: str) -> None:
    sandbox = sandbox_of(request)
    data: dict[str, Any] = {
        "user_id": str(sandbox.world.bot.id),
        "channel_id": str(message.channel_id),
        "message_id": str(message.id),
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "type": 0,
    }
    if message.guild_id:
        data["guild_id"] = str(message.guild_id)
    intent = Intent.GUILD_MESSAGE_REACTIONS if message.guild_id else Intent.DIRECT_MESSAGE_REACTIONS
    sandbox.gateway.dispatch(event, data, guild_id=message.guild_id, intent=intent)


@routes.put("/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def add_reaction(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    message = _message(request, channel)
    emoji = _emoji(request)
    reaction = next((r for r in message.reactions if r.emoji == emoji), None)
    if reaction is None:
        if channel.guild_id is not None and not sandbox.bot_can(channel, Permission.ADD_REACTIONS):
            raise DiscordError.missing_permissions()
        reaction = Reaction(emoji)
        message.reactions.append(reaction)
    if sandbox.world.bot.id not in reaction.user_ids:
        reaction.user_ids.append(sandbox.world.bot.id)
        _reaction_event(request, "MESSAGE_REACTION_ADD", message, emoji)
    return no_content()


@routes.delete("/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
async def remove_reaction(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request)
    message = _message(request, channel)
    raw_user = request.match_info["user_id"]
    user_id = sandbox.world.bot.id if raw_user == "@me" else int(raw_user)
    if user_id != sandbox.world.bot.id and not sandbox.bot_can(channel, Permission.MANAGE_MESSAGES):
        raise DiscordError.missing_permissions()
    for reaction in message.reactions:
        if reaction.emoji == _emoji(request) and user_id in reaction.user_ids:
            reaction.user_ids.remove(user_id)
    message.reactions = [r for r in message.reactions if r.user_ids]
    return no_content()


@routes.delete("/channels/{channel_id}/messages/{message_id}/reactions")
async def clear_reactions(request: web.Request) -> web.Response:
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.MANAGE_MESSAGES)
    _message(request, channel).reactions = []
    return no_content()


@routes.get("/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def reaction_users(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    channel = _channel(request, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    message = _message(request, channel)
    users = [
        payloads.user(sandbox.world.users[u])
        for r in message.reactions
        if r.emoji == _emoji(request)
        for u in r.user_ids
    ]
    return json_response(users)
