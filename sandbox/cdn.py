"""The CDN and the media proxy, on the sandbox's own port.

Attachment URLs in message payloads point here (`/cdn/attachments/{channel}/{id}/{name}`),
embed images and thumbnails get a `proxy_url` under `/media-proxy/external/...`, and link
previews a `proxy_url` under `/images-ext-1/external/...` (Discord's external-image proxy,
`images-ext-N.discordapp.net`); both proxies serve bytes a test registered for the original URL.
The bot must fetch media only from these places (DESIGN.md: never the third-party original), so
a test can see exactly what it fetched. A missing object is a plain 404 and is recorded, like an
unknown REST route.

Avatars and banners are served where Discord serves them: `/avatars/{user}/{hash}.{ext}`,
`/banners/{user}/{hash}.{ext}`, and a member's server profile under
`/guilds/{guild}/users/{user}/avatars|banners/{hash}.{ext}`; only the hash the user or member
wears now (Discord keeps old ones a while; the sandbox is stricter), in the uploaded format
whatever the extension asks for (Discord would convert it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web

from sandbox.recorder import Call

if TYPE_CHECKING:
    from sandbox.server import Sandbox

CDN_PREFIX = "/cdn"
MEDIA_PROXY_PREFIX = "/media-proxy"
EXTERNAL_PROXY_PREFIX = "/images-ext-{n:[0-9]+}"
PROFILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "gif"})


def _record(sandbox: Sandbox, request: web.Request, route: str, status: int) -> None:
    sandbox.cdn_requests.append(
        Call(
            method=request.method,
            route=route,
            path=request.path,
            params=dict(request.match_info),
            query=dict(request.query),
            status=status,
        )
    )


def build_cdn_routes(sandbox: Sandbox) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get(CDN_PREFIX + "/attachments/{channel_id}/{attachment_id}/{filename}")
    async def attachment(request: web.Request) -> web.Response:
        route = "/attachments/{channel_id}/{attachment_id}/{filename}"
        found = sandbox.find_attachment(int(request.match_info["attachment_id"]))
        if found is None:
            _record(sandbox, request, route, 404)
            return web.Response(status=404, text="Not Found")
        _record(sandbox, request, route, 200)
        return web.Response(
            body=found.data,
            headers={"Content-Type": found.content_type or "application/octet-stream"},
        )

    async def external(request: web.Request, route: str) -> web.Response:
        url = unquote(request.match_info["key"])
        media = sandbox.world.external_media.get(url)
        if media is None:
            _record(sandbox, request, route, 404)
            return web.Response(status=404, text="Not Found")
        _record(sandbox, request, route, 200)
        content_type, data = media
        return web.Response(body=data, headers={"Content-Type": content_type})

    @routes.get(MEDIA_PROXY_PREFIX + "/external/{key}")
    async def media_proxy(request: web.Request) -> web.Response:
        return await external(request, "/external/{key}")

    @routes.get(EXTERNAL_PROXY_PREFIX + "/external/{key}")
    async def external_proxy(request: web.Request) -> web.Response:
        return await external(request, "/images-ext-{n}/external/{key}")

    def profile_image(request: web.Request, route: str, worn: str | None) -> web.Response:
        name = request.match_info["file"]
        image_hash, _, extension = name.rpartition(".")
        image = sandbox.world.profile_images.get(image_hash)
        if worn != image_hash or image is None or extension not in PROFILE_EXTENSIONS:
            _record(sandbox, request, route, 404)
            return web.Response(status=404, text="Not Found")
        _record(sandbox, request, route, 200)
        content_type, data = image
        return web.Response(body=data, headers={"Content-Type": content_type})

    def worn_by_user(request: web.Request, field: str) -> str | None:
        user = sandbox.world.users.get(int(request.match_info["user_id"]))
        return getattr(user, field) if user is not None else None

    def worn_by_member(request: web.Request, field: str) -> str | None:
        guild = sandbox.world.guilds.get(int(request.match_info["guild_id"]))
        member = guild.members.get(int(request.match_info["user_id"])) if guild else None
        return getattr(member, field) if member is not None else None

    @routes.get(CDN_PREFIX + "/avatars/{user_id:[0-9]+}/{file}")
    async def avatar(request: web.Request) -> web.Response:
        worn = worn_by_user(request, "avatar")
        return profile_image(request, "/avatars/{user_id}/{file}", worn)

    @routes.get(CDN_PREFIX + "/banners/{user_id:[0-9]+}/{file}")
    async def banner(request: web.Request) -> web.Response:
        worn = worn_by_user(request, "banner")
        return profile_image(request, "/banners/{user_id}/{file}", worn)

    @routes.get(CDN_PREFIX + "/guilds/{guild_id:[0-9]+}/users/{user_id:[0-9]+}/avatars/{file}")
    async def server_avatar(request: web.Request) -> web.Response:
        worn = worn_by_member(request, "avatar")
        return profile_image(request, "/guilds/{guild_id}/users/{user_id}/avatars/{file}", worn)

    @routes.get(CDN_PREFIX + "/guilds/{guild_id:[0-9]+}/users/{user_id:[0-9]+}/banners/{file}")
    async def server_banner(request: web.Request) -> web.Response:
        worn = worn_by_member(request, "banner")
        return profile_image(request, "/guilds/{guild_id}/users/{user_id}/banners/{file}", worn)

    @routes.get(CDN_PREFIX + "/{tail:.*}")
    async def unknown(request: web.Request) -> web.Response:
        _record(sandbox, request, "<unhandled>", 404)
        sandbox.unhandled.append(f"GET {request.path}")
        return web.Response(status=404, text="Not Found")

    return routes
