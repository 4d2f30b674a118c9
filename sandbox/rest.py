"""The REST side of the sandbox: Discord's v10 HTTP API under `/api/v10`.

Every request is recorded, may hit an injected fault, is authenticated like Discord (`Bot
<token>`, except the token-authenticated interaction and webhook routes), and answers with
Discord's rate-limit headers. JSON goes out as `Content-Type: application/json` with no charset:
discord.py compares that header exactly and would treat anything else as text. A route the
sandbox does not implement answers 404 and lands in `Sandbox.unhandled`, so gaps are loud.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.errors import DiscordError
from sandbox.recorder import Call

if TYPE_CHECKING:
    from sandbox.server import Sandbox

log = logging.getLogger("sandbox.rest")

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SANDBOX_KEY = web.AppKey("sandbox", object)
CALL_KEY = web.RequestKey("sandbox_call", Call)
# Multipart field name -> (filename, bytes).
FILES_KEY = web.RequestKey("sandbox_files", dict[str, tuple[str, bytes]])

# Routes authenticated by the interaction or webhook token in the path, not by the bot token.
TOKEN_ROUTES = ("/interactions/", "/webhooks/")


def sandbox_of(request: web.Request) -> Sandbox:
    return request.config_dict[SANDBOX_KEY]  # type: ignore[return-value]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def snowflake(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise DiscordError.invalid_form(
            name, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.'
        )
    return int(raw)


async def json_body(request: web.Request) -> dict[str, Any]:
    call: Call = request[CALL_KEY]
    if call.json is None:
        return {}
    if not isinstance(call.json, dict):
        raise DiscordError(400, 50109, "The request body contains invalid JSON.")
    return call.json


def route_template(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return canonical.removeprefix(API_PREFIX)


def rate_limit_headers(route: str) -> dict[str, str]:
    bucket = format(zlib.crc32(route.encode()), "08x")
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "49",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": bucket,
    }


async def read_request_body(request: web.Request, call: Call) -> None:
    """Parse a JSON or multipart (payload_json + files[n]) body into the call record."""
    if request.content_type == "application/json":
        raw = await request.read()
        if raw:
            try:
                call.json = json.loads(raw)
            except ValueError:
                call.json = raw.decode(errors="replace")
    elif request.content_type == "multipart/form-data":
        form = await request.post()
        for name, value in form.items():
            if name == "payload_json":
                call.json = json.loads(str(value))
            elif isinstance(value, web.FileField):
                data = value.file.read()
                call.files.append((value.filename or name, data))
                request.setdefault(FILES_KEY, {})[name] = (value.filename or name, data)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    route = route_template(request)
    call = Call(
        method=request.method,
        route=route,
        path=request.path.removeprefix(API_PREFIX),
        params=dict(request.match_info),
        query=dict(request.query),
        reason=request.headers.get("X-Audit-Log-Reason"),
    )
    request[CALL_KEY] = call
    await read_request_body(request, call)
    try:
        response = await _answer(request, handler, sandbox, call)
    finally:
        sandbox.calls.append(call)
    late = sandbox.faults.lag(call.method, call.route)
    if late:
        await asyncio.sleep(late)  # the network's delay, not a test's wait
    return response


async def _answer(
    request: web.Request, handler: Handler, sandbox: Sandbox, call: Call
) -> web.StreamResponse:
    headers = rate_limit_headers(call.route)
    fault = sandbox.faults.take(call.method, call.route)
    if fault is not None:
        call.status, call.response = fault.status, fault.body
        response = json_response(fault.body, fault.status)
        response.headers.update({**headers, **fault.headers})
        return response
    try:
        if not call.route.startswith(TOKEN_ROUTES):
            expected = f"Bot {sandbox.world.application.token}"
            if request.headers.get("Authorization") != expected:
                raise DiscordError.unauthorized()
        response = await handler(request)
    except DiscordError as exc:
        response = json_response(exc.payload(), exc.status)
    except Exception as exc:  # a sandbox bug: answer 500 and make the test see it
        log.exception("Sandbox failed on %s %s", call.method, call.path)
        sandbox.errors.append(f"{call.method} {call.path}: {exc!r}")
        response = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
    call.status = response.status
    if (
        isinstance(response, web.Response)
        and response.body
        and response.content_type == ("application/json")
    ):
        call.response = json.loads(response.body)  # type: ignore[arg-type]
    response.headers.update(headers)
    return response


async def unhandled_route(request: web.Request) -> web.Response:
    """Any route the sandbox lacks: 404, and recorded so a test's teardown can fail on it."""
    call: Call = request[CALL_KEY]
    call.route = "<unhandled>"
    sandbox_of(request).unhandled.append(f"{request.method} {call.path}")
    log.error("Sandbox does not implement %s %s", request.method, call.path)
    raise DiscordError.not_found()


def build_api(sandbox: Sandbox, route_tables: list[web.RouteTableDef]) -> web.Application:
    api = web.Application(middlewares=[api_middleware], client_max_size=64 * 1024 * 1024)
    for table in route_tables:
        api.add_routes(table)
    api.router.add_route("*", "/{tail:.*}", unhandled_route)
    return api
