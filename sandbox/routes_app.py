"""REST routes about the application itself: who am I, where is the gateway, which commands.

Bulk overwrite follows Discord: commands are matched by (type, name), keep their id when
re-registered, get a new version when changed, and a bad definition fails the whole request
with 50035, so a command tree Discord would reject fails in the tests too.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from sandbox import payloads
from sandbox.errors import DiscordError
from sandbox.rest import CALL_KEY, json_body, json_response, no_content, sandbox_of, snowflake
from sandbox.state import Command

routes = web.RouteTableDef()

COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
CHAT_INPUT = 1


@routes.get("/users/@me")
async def get_me(request: web.Request) -> web.Response:
    return json_response(payloads.current_user(sandbox_of(request).world.bot))


@routes.get("/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    user = sandbox_of(request).world.users.get(snowflake(request, "user_id"))
    if user is None:
        raise DiscordError.unknown_user()
    return json_response(payloads.user(user, profile=True))


@routes.get("/oauth2/applications/@me")
@routes.get("/applications/@me")
async def get_application(request: web.Request) -> web.Response:
    return json_response(payloads.application(sandbox_of(request).world))


@routes.get("/gateway")
async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": sandbox_of(request).gateway_url})


@routes.get("/gateway/bot")
async def get_gateway_bot(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    return json_response(
        {
            "url": sandbox.gateway_url,
            "shards": sandbox.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }
    )


@routes.post("/users/@me/channels")
async def create_dm(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    user = sandbox.world.users.get(int(body.get("recipient_id") or 0))
    if user is None:
        raise DiscordError.invalid_form(
            "recipient_id", "NUMBER_TYPE_COERCE", "Value is not snowflake."
        )
    return json_response(payloads.channel(sandbox.dm_channel(user)))


def _check_app(request: web.Request) -> None:
    if snowflake(request, "application_id") != sandbox_of(request).world.application.id:
        raise DiscordError.missing_access()


def _guild_scope(request: web.Request) -> int | None:
    if "guild_id" not in request.match_info:
        return None
    sandbox = sandbox_of(request)
    guild = sandbox.guild(snowflake(request, "guild_id"))
    if sandbox.world.bot.id not in guild.members:
        raise DiscordError.missing_access()
    return guild.id


# Discord's locales (AvailableLocalesEnum); a localization under any other key is refused.
LOCALES = frozenset(
    [
        "ar",
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en-GB",
        "en-US",
        "es-419",
        "es-ES",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "ru",
        "sv-SE",
        "th",
        "tr",
        "uk",
        "vi",
        "zh-CN",
        "zh-TW",
    ]
)


def _valid_name(name: str) -> bool:
    return bool(COMMAND_NAME.match(name)) and name == name.lower()


def validate_localizations(where: str, payload: dict[str, Any], *, chat_input: bool) -> None:
    """`name_localizations` and `description_localizations` as Discord checks them: known
    locales, names that are valid names (lower case for chat input and options), descriptions
    of 1-100 characters; then the same for every option and choice below."""
    for locale, name in (payload.get("name_localizations") or {}).items():
        if locale not in LOCALES:
            raise DiscordError.invalid_form(
                f"{where}.name_localizations", "LOCALE_INVALID", f"Invalid locale {locale!r}"
            )
        if (chat_input and not _valid_name(name)) or not 1 <= len(name) <= 32:
            raise DiscordError.invalid_form(
                f"{where}.name_localizations.{locale}",
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            )
    for locale, text in (payload.get("description_localizations") or {}).items():
        if locale not in LOCALES or not 1 <= len(text) <= 100:
            raise DiscordError.invalid_form(
                f"{where}.description_localizations.{locale}",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
    for i, option in enumerate(payload.get("options") or []):
        validate_localizations(f"{where}.options.{i}", option, chat_input=True)
        for j, choice in enumerate(option.get("choices") or []):
            for locale, name in (choice.get("name_localizations") or {}).items():
                if locale not in LOCALES or not 1 <= len(name) <= 100:
                    raise DiscordError.invalid_form(
                        f"{where}.options.{i}.choices.{j}.name_localizations.{locale}",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )


def validate_command(index: int, payload: dict[str, Any]) -> None:
    name = payload.get("name", "")
    kind = payload.get("type", CHAT_INPUT)
    where = f"{index}.name"
    if kind == CHAT_INPUT and (not COMMAND_NAME.match(name) or name != name.lower()):
        raise DiscordError.invalid_form(
            where, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
        )
    if kind != CHAT_INPUT and not 1 <= len(name) <= 32:
        raise DiscordError.invalid_form(where, "BASE_TYPE_BAD_LENGTH", "Must be 1-32 in length.")
    description = payload.get("description", "")
    if kind == CHAT_INPUT and not 1 <= len(description) <= 100:
        raise DiscordError.invalid_form(
            f"{index}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    validate_localizations(str(index), payload, chat_input=kind == CHAT_INPUT)
    if len(payload.get("options") or []) > 25:
        raise DiscordError.invalid_form(
            f"{index}.options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
        )


def _commands_in(request: web.Request, guild_id: int | None) -> list[Command]:
    app = sandbox_of(request).world.application
    return [c for c in app.commands.values() if c.guild_id == guild_id]


def _upsert(request: web.Request, guild_id: int | None, payload: dict[str, Any]) -> Command:
    sandbox = sandbox_of(request)
    app = sandbox.world.application
    kind = payload.get("type", CHAT_INPUT)
    for command in _commands_in(request, guild_id):
        if command.name == payload["name"] and command.type == kind:
            if command.payload != payload:
                command.payload = payload
                command.version = sandbox.world.ids.next()
            return command
    command = Command(sandbox.world.ids.next(), guild_id, payload, sandbox.world.ids.next())
    app.commands[command.id] = command
    return command


@routes.get("/applications/{application_id}/commands")
@routes.get("/applications/{application_id}/guilds/{guild_id}/commands")
async def list_commands(request: web.Request) -> web.Response:
    _check_app(request)
    world = sandbox_of(request).world
    found = _commands_in(request, _guild_scope(request))
    return json_response([payloads.command(world, c) for c in found])


@routes.put("/applications/{application_id}/commands")
@routes.put("/applications/{application_id}/guilds/{guild_id}/commands")
async def bulk_overwrite_commands(request: web.Request) -> web.Response:
    _check_app(request)
    guild_id = _guild_scope(request)
    body = request[CALL_KEY].json
    if not isinstance(body, list):
        raise DiscordError.invalid_form("_root", "LIST_TYPE_CONVERT", "Only iterables may be used.")
    seen: set[tuple[int, str]] = set()
    for index, payload in enumerate(body):
        validate_command(index, payload)
        key = (payload.get("type", CHAT_INPUT), payload["name"])
        if key in seen:
            raise DiscordError.invalid_form(
                f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name"
            )
        seen.add(key)
    kept = [_upsert(request, guild_id, payload) for payload in body]
    app = sandbox_of(request).world.application
    for command in _commands_in(request, guild_id):
        if command not in kept:
            del app.commands[command.id]
    world = sandbox_of(request).world
    return json_response([payloads.command(world, c) for c in kept])


@routes.post("/applications/{application_id}/commands")
@routes.post("/applications/{application_id}/guilds/{guild_id}/commands")
async def create_command(request: web.Request) -> web.Response:
    _check_app(request)
    guild_id = _guild_scope(request)
    body = await json_body(request)
    validate_command(0, body)
    command = _upsert(request, guild_id, body)
    return json_response(payloads.command(sandbox_of(request).world, command), 201)


@routes.delete("/applications/{application_id}/commands/{command_id}")
@routes.delete("/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(request: web.Request) -> web.Response:
    _check_app(request)
    guild_id = _guild_scope(request)
    app = sandbox_of(request).world.application
    command = app.commands.get(snowflake(request, "command_id"))
    if command is None or command.guild_id != guild_id:
        raise DiscordError.unknown_command()
    del app.commands[command.id]
    return no_content()
