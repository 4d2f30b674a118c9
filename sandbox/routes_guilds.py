"""REST routes on guilds: the guild, its channels and roles, members (edit, timeout, kick), bans.

Moderation is where Discord says no most often, so each action checks what Discord checks: the
permission, the role hierarchy (the bot's top role must be above the target's, owners are out of
reach) and the limits (a timeout of at most 28 days; a ban deletes at most 7 days of messages).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from sandbox import payloads
from sandbox.errors import DiscordError
from sandbox.gateway import Intent
from sandbox.permissions import (
    Permission,
    guild_permissions,
    require,
    require_above,
    top_role_position,
)
from sandbox.rest import CALL_KEY, json_body, json_response, no_content, sandbox_of, snowflake
from sandbox.state import Ban, Guild, Member, snowflake_time, utcnow

routes = web.RouteTableDef()

MAX_TIMEOUT = dt.timedelta(days=28)
MAX_BAN_DELETE_SECONDS = 7 * 24 * 3600


def _guild(request: web.Request) -> Guild:
    sandbox = sandbox_of(request)
    guild = sandbox.guild(snowflake(request, "guild_id"))
    if sandbox.world.bot.id not in guild.members:
        raise DiscordError.missing_access()
    return guild


def _target(request: web.Request, guild: Guild) -> Member:
    raw = request.match_info["user_id"]
    user_id = sandbox_of(request).world.bot.id if raw == "@me" else int(raw)
    member = guild.members.get(user_id)
    if member is None:
        raise DiscordError.unknown_member()
    return member


def _bot_perms(request: web.Request, guild: Guild) -> int:
    return guild_permissions(guild, sandbox_of(request).bot_member(guild))


def _member_update(request: web.Request, guild: Guild, member: Member) -> None:
    data = {**payloads.member(member), "guild_id": str(guild.id)}
    sandbox_of(request).gateway.dispatch(
        "GUILD_MEMBER_UPDATE", data, guild_id=guild.id, intent=Intent.GUILD_MEMBERS
    )


def _member_remove(request: web.Request, guild: Guild, member: Member) -> None:
    del guild.members[member.user.id]
    data = {"guild_id": str(guild.id), "user": payloads.user(member.user)}
    sandbox_of(request).gateway.dispatch(
        "GUILD_MEMBER_REMOVE", data, guild_id=guild.id, intent=Intent.GUILD_MEMBERS
    )


@routes.get("/guilds/{guild_id}")
async def get_guild(request: web.Request) -> web.Response:
    guild = _guild(request)
    payload = payloads.guild(guild)
    if request.query.get("with_counts") in ("true", "1"):
        payload["approximate_member_count"] = len(guild.members)
        payload["approximate_presence_count"] = 0
    return json_response(payload)


@routes.get("/guilds/{guild_id}/channels")
async def get_guild_channels(request: web.Request) -> web.Response:
    guild = _guild(request)
    channels = sandbox_of(request).world.guild_channels(guild)
    return json_response([payloads.channel(c) for c in channels])


@routes.get("/guilds/{guild_id}/roles")
async def get_roles(request: web.Request) -> web.Response:
    return json_response([payloads.role(r) for r in _guild(request).roles.values()])


@routes.get("/guilds/{guild_id}/roles/{role_id}")
async def get_role(request: web.Request) -> web.Response:
    role = _guild(request).roles.get(snowflake(request, "role_id"))
    if role is None:
        raise DiscordError.unknown_role()
    return json_response(payloads.role(role))


@routes.get("/guilds/{guild_id}/members")
async def list_members(request: web.Request) -> web.Response:
    guild = _guild(request)
    if not sandbox_of(request).has_privileged_members_intent():
        raise DiscordError.missing_access()
    limit = int(request.query.get("limit", 1))
    after = int(request.query.get("after", 0))
    members = sorted((m for m in guild.members.values() if m.user.id > after), key=_user_id)
    return json_response([payloads.member(m) for m in members[:limit]])


def _user_id(member: Member) -> int:
    return member.user.id


@routes.get("/guilds/{guild_id}/members/{user_id}")
async def get_member(request: web.Request) -> web.Response:
    guild = _guild(request)
    return json_response(payloads.member(_target(request, guild)))


@routes.patch("/guilds/{guild_id}/members/{user_id}")
async def edit_member(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    guild = _guild(request)
    member = _target(request, guild)
    body = await json_body(request)
    actor = sandbox.bot_member(guild)
    perms = _bot_perms(request, guild)
    acting_on_self = member.user.id == actor.user.id
    if "nick" in body:
        require(
            perms, Permission.CHANGE_NICKNAME if acting_on_self else Permission.MANAGE_NICKNAMES
        )
        if not acting_on_self:
            require_above(guild, actor, member)
        member.nick = body["nick"] or None
    if "roles" in body:
        _set_roles(guild, actor, perms, member, [int(r) for r in body["roles"] or []])
    if "communication_disabled_until" in body:
        _timeout(guild, actor, perms, member, body["communication_disabled_until"])
    _member_update(request, guild, member)
    return json_response(payloads.member(member))


def _set_roles(guild: Guild, actor: Member, perms: int, member: Member, roles: list[int]) -> None:
    require(perms, Permission.MANAGE_ROLES)
    top = top_role_position(guild, actor)
    changed = set(roles) ^ set(member.roles)
    for role_id in changed:
        role = guild.roles.get(role_id)
        if role is None:
            raise DiscordError.unknown_role()
        if role.managed or (actor.user.id != guild.owner_id and role.position >= top):
            raise DiscordError.missing_permissions()
    member.roles = [r for r in roles if r != guild.id]


def _timeout(guild: Guild, actor: Member, perms: int, member: Member, raw: Any) -> None:
    require(perms, Permission.MODERATE_MEMBERS)
    require_above(guild, actor, member)
    if guild_permissions(guild, member) & Permission.ADMINISTRATOR:
        raise DiscordError.missing_permissions()  # Discord: administrators cannot be timed out
    if raw is None:
        member.communication_disabled_until = None
        return
    until = dt.datetime.fromisoformat(str(raw))
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    if until - utcnow() > MAX_TIMEOUT:
        raise DiscordError.invalid_form(
            "communication_disabled_until",
            "BASE_TYPE_BAD_INT",
            "Timeouts cannot be longer than 28 days.",
        )
    member.communication_disabled_until = until


@routes.put("/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
@routes.delete("/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def change_member_role(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    guild = _guild(request)
    member = _target(request, guild)
    role_id = snowflake(request, "role_id")
    roles = set(member.roles)
    roles = roles | {role_id} if request.method == "PUT" else roles - {role_id}
    _set_roles(guild, sandbox.bot_member(guild), _bot_perms(request, guild), member, list(roles))
    _member_update(request, guild, member)
    return no_content()


@routes.delete("/guilds/{guild_id}/members/{user_id}")
async def kick_member(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    guild = _guild(request)
    member = _target(request, guild)
    require(_bot_perms(request, guild), Permission.KICK_MEMBERS)
    require_above(guild, sandbox.bot_member(guild), member)
    _member_remove(request, guild, member)
    return no_content()


@routes.get("/guilds/{guild_id}/bans")
async def list_bans(request: web.Request) -> web.Response:
    guild = _guild(request)
    require(_bot_perms(request, guild), Permission.BAN_MEMBERS)
    return json_response([payloads.ban(b) for b in guild.bans.values()])


@routes.get("/guilds/{guild_id}/bans/{user_id}")
async def get_ban(request: web.Request) -> web.Response:
    guild = _guild(request)
    require(_bot_perms(request, guild), Permission.BAN_MEMBERS)
    found = guild.bans.get(snowflake(request, "user_id"))
    if found is None:
        raise DiscordError.unknown_ban()
    return json_response(payloads.ban(found))


@routes.put("/guilds/{guild_id}/bans/{user_id}")
async def ban_member(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    guild = _guild(request)
    user = sandbox.world.users.get(snowflake(request, "user_id"))
    if user is None:
        raise DiscordError.unknown_user()
    require(_bot_perms(request, guild), Permission.BAN_MEMBERS)
    member = guild.members.get(user.id)
    if member is not None:
        require_above(guild, sandbox.bot_member(guild), member)
    # discord.py sends it in the query string (default: one day); Discord also takes the body.
    body = await json_body(request)
    seconds = int(
        body.get("delete_message_seconds", request.query.get("delete_message_seconds", 0))
    )
    if not 0 <= seconds <= MAX_BAN_DELETE_SECONDS:
        raise DiscordError.invalid_form(
            "delete_message_seconds", "NUMBER_TYPE_MAX", "int value should be <= 604800."
        )
    guild.bans[user.id] = Ban(user, request[CALL_KEY].reason)
    if member is not None:
        _member_remove(request, guild, member)
    sandbox.gateway.dispatch(
        "GUILD_BAN_ADD",
        {"guild_id": str(guild.id), "user": payloads.user(user)},
        guild_id=guild.id,
        intent=Intent.GUILD_MODERATION,
    )
    if seconds:
        _delete_recent_messages(request, guild, user.id, seconds)
    return no_content()


def _delete_recent_messages(request: web.Request, guild: Guild, user_id: int, seconds: int) -> None:
    sandbox = sandbox_of(request)
    since = utcnow() - dt.timedelta(seconds=seconds)
    by_channel: dict[int, list[Any]] = {}
    for message in sandbox.world.messages.values():
        if (
            message.guild_id == guild.id
            and message.author.id == user_id
            and not message.deleted
            and snowflake_time(message.id) >= since
        ):
            message.deleted = True
            by_channel.setdefault(message.channel_id, []).append(message)
    for messages in by_channel.values():
        sandbox.gateway.dispatch_message_delete(messages)


@routes.delete("/guilds/{guild_id}/bans/{user_id}")
async def unban(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    guild = _guild(request)
    require(_bot_perms(request, guild), Permission.BAN_MEMBERS)
    found = guild.bans.pop(snowflake(request, "user_id"), None)
    if found is None:
        raise DiscordError.unknown_ban()
    sandbox.gateway.dispatch(
        "GUILD_BAN_REMOVE",
        {"guild_id": str(guild.id), "user": payloads.user(found.user)},
        guild_id=guild.id,
        intent=Intent.GUILD_MODERATION,
    )
    return no_content()
