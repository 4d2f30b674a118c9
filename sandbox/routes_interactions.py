"""REST routes that answer interactions: the callback and the follow-up webhook with @original.

Discord's timing rules are enforced because they are the bugs that only show in production: the
first answer must come within 3 seconds (`Sandbox.interaction_deadline`) or the interaction is
unknown (10062); a second answer is 40060; follow-ups need the first answer and last 15 minutes.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from sandbox import messaging, payloads
from sandbox.errors import DiscordError
from sandbox.rest import FILES_KEY, json_body, json_response, no_content, sandbox_of, snowflake
from sandbox.state import Interaction, Message, MessageFlags

routes = web.RouteTableDef()

TOKEN_LIFETIME = 15 * 60


class Callback:
    PONG = 1
    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8
    MODAL = 9


class InteractionType:
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


# Which answers Discord accepts for which interaction type.
ALLOWED = {
    InteractionType.PING: {Callback.PONG},
    InteractionType.APPLICATION_COMMAND: {
        Callback.CHANNEL_MESSAGE,
        Callback.DEFERRED_CHANNEL_MESSAGE,
        Callback.MODAL,
    },
    InteractionType.MESSAGE_COMPONENT: {
        Callback.CHANNEL_MESSAGE,
        Callback.DEFERRED_CHANNEL_MESSAGE,
        Callback.DEFERRED_UPDATE_MESSAGE,
        Callback.UPDATE_MESSAGE,
        Callback.MODAL,
    },
    InteractionType.AUTOCOMPLETE: {Callback.AUTOCOMPLETE_RESULT},
    InteractionType.MODAL_SUBMIT: {
        Callback.CHANNEL_MESSAGE,
        Callback.DEFERRED_CHANNEL_MESSAGE,
        Callback.DEFERRED_UPDATE_MESSAGE,
        Callback.UPDATE_MESSAGE,
    },
}


def _interaction_for_callback(request: web.Request) -> Interaction:
    sandbox = sandbox_of(request)
    interaction = sandbox.world.interactions.get(snowflake(request, "interaction_id"))
    if interaction is None or interaction.token != request.match_info["interaction_token"]:
        raise DiscordError.unknown_interaction()
    if interaction.response_type is not None:
        raise DiscordError.already_acknowledged()
    if time.monotonic() - interaction.created_monotonic > sandbox.interaction_deadline:
        raise DiscordError.unknown_interaction()
    return interaction


@routes.post("/interactions/{interaction_id}/{interaction_token}/callback")
async def interaction_callback(request: web.Request) -> web.Response:
    interaction = _interaction_for_callback(request)
    body = await json_body(request)
    kind = body.get("type")
    data: dict[str, Any] = body.get("data") or {}
    if kind not in ALLOWED.get(interaction.type, set()):
        raise DiscordError.invalid_form(
            "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
        )
    if kind == Callback.MODAL:
        _validate_modal(data)
    files = request.get(FILES_KEY, {})
    message = _apply_callback(request, interaction, kind, data, files)
    interaction.response_type = kind
    interaction.response_data = data
    if request.query.get("with_response") not in ("1", "true", "True"):
        return no_content()
    return json_response(_callback_response(request, interaction, kind, message))


def _validate_modal(data: dict[str, Any]) -> None:
    for key in ("custom_id", "title"):
        if not data.get(key):
            raise DiscordError.invalid_form(
                f"data.{key}", "BASE_TYPE_REQUIRED", "This field is required"
            )
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        raise DiscordError.invalid_form(
            "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )


def _apply_callback(
    request: web.Request,
    interaction: Interaction,
    kind: int,
    data: dict[str, Any],
    files: dict[str, tuple[str, bytes]],
) -> Message | None:
    sandbox = sandbox_of(request)
    if kind in (Callback.CHANNEL_MESSAGE, Callback.DEFERRED_CHANNEL_MESSAGE):
        ephemeral = bool(int(data.get("flags") or 0) & MessageFlags.EPHEMERAL)
        interaction.ephemeral = ephemeral
        message = _create_interaction_message(
            request,
            interaction,
            data,
            files,
            loading=kind == Callback.DEFERRED_CHANNEL_MESSAGE,
        )
        interaction.original_message_id = message.id
        return message
    if kind in (Callback.DEFERRED_UPDATE_MESSAGE, Callback.UPDATE_MESSAGE):
        if interaction.message_id is None:
            raise DiscordError.invalid_form(
                "type", "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update"
            )
        interaction.original_message_id = interaction.message_id
        message = sandbox.world.messages[interaction.message_id]
        if kind == Callback.UPDATE_MESSAGE:
            attachments = messaging.attachments_from_upload(sandbox, data, files)
            messaging.edit_message(sandbox, message, data, attachments)
        return message
    return None


def _create_interaction_message(
    request: web.Request,
    interaction: Interaction,
    data: dict[str, Any],
    files: dict[str, tuple[str, bytes]],
    *,
    loading: bool = False,
    followup: bool = False,
) -> Message:
    """The bot's answer as a message; a deferred answer is an empty "thinking" placeholder."""
    sandbox = sandbox_of(request)
    channel = sandbox.world.channels[interaction.channel_id]
    return messaging.create_message(
        sandbox,
        channel,
        sandbox.world.bot,
        {"flags": data.get("flags") or 0} if loading else data,
        [] if loading else messaging.attachments_from_upload(sandbox, data, files),
        extra_flags=MessageFlags.LOADING if loading else 0,
        check_body=not loading,
        application_id=sandbox.world.application.id,
        webhook_id=sandbox.world.application.id,
        interaction_metadata=payloads.interaction_metadata(interaction),
        type=0 if followup else 20,
    )


def _callback_response(
    request: web.Request, interaction: Interaction, kind: int, message: Message | None
) -> dict[str, Any]:
    world = sandbox_of(request).world
    result: dict[str, Any] = {
        "interaction": {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_loading": kind == Callback.DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": interaction.ephemeral,
            "channel_id": str(interaction.channel_id),
            **({"guild_id": str(interaction.guild_id)} if interaction.guild_id else {}),
        }
    }
    if message is not None:
        result["interaction"]["response_message_id"] = str(message.id)
    if message is not None and kind in (Callback.CHANNEL_MESSAGE, Callback.UPDATE_MESSAGE):
        result["resource"] = {"type": kind, "message": payloads.message(world, message)}
    return result


def _interaction_for_webhook(request: web.Request) -> Interaction:
    sandbox = sandbox_of(request)
    if snowflake(request, "webhook_id") != sandbox.world.application.id:
        raise DiscordError.unknown_webhook()
    token = request.match_info["webhook_token"]
    interaction = next((i for i in sandbox.world.interactions.values() if i.token == token), None)
    if interaction is None or interaction.response_type is None:
        raise DiscordError.unknown_webhook()
    if time.monotonic() - interaction.created_monotonic > TOKEN_LIFETIME:
        raise DiscordError(401, 50027, "Invalid Webhook Token")
    return interaction


def _webhook_message(request: web.Request, interaction: Interaction) -> Message:
    sandbox = sandbox_of(request)
    raw = request.match_info["message_id"]
    message_id = interaction.original_message_id if raw == "@original" else int(raw)
    message = sandbox.world.messages.get(message_id or 0)
    if message is None or message.deleted or message.channel_id != interaction.channel_id:
        raise DiscordError.unknown_message()
    return message


@routes.post("/webhooks/{webhook_id}/{webhook_token}")
async def create_followup(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    interaction = _interaction_for_webhook(request)
    body = await json_body(request)
    message = _create_interaction_message(
        request, interaction, body, request.get(FILES_KEY, {}), followup=True
    )
    if request.query.get("wait") not in ("1", "true", "True"):
        return no_content()
    return json_response(payloads.message(sandbox.world, message))


@routes.get("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def get_webhook_message(request: web.Request) -> web.Response:
    interaction = _interaction_for_webhook(request)
    message = _webhook_message(request, interaction)
    return json_response(payloads.message(sandbox_of(request).world, message))


@routes.patch("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def edit_webhook_message(request: web.Request) -> web.Response:
    sandbox = sandbox_of(request)
    interaction = _interaction_for_webhook(request)
    message = _webhook_message(request, interaction)
    body = await json_body(request)
    new = messaging.attachments_from_upload(sandbox, body, request.get(FILES_KEY, {}))
    messaging.edit_message(sandbox, message, body, new)
    message.flags &= ~MessageFlags.LOADING
    return json_response(payloads.message(sandbox.world, message))


@routes.delete("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def delete_webhook_message(request: web.Request) -> web.Response:
    interaction = _interaction_for_webhook(request)
    message = _webhook_message(request, interaction)
    messaging.delete_message(sandbox_of(request), message)
    return no_content()
