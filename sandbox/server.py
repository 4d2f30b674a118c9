"""The sandbox server: one aiohttp app on 127.0.0.1 serving REST, the gateway, CDN and media proxy.

One port for everything keeps the bot's configuration to three URLs and lets a test run several
sandboxes side by side (each on an ephemeral port, in the test's own event loop). `Sandbox` also
holds what tests read back: recorded calls and frames, unhandled routes and sandbox errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox import cdn, routes_app, routes_guilds, routes_interactions, routes_messages
from sandbox.errors import DiscordError
from sandbox.faults import Faults
from sandbox.gateway import Gateway
from sandbox.permissions import Permission, channel_permissions
from sandbox.recorder import Call, Frame, Recorder, call_matcher, frame_matcher
from sandbox.rest import API_PREFIX, SANDBOX_KEY, build_api
from sandbox.state import (
    DM,
    ApplicationFlags,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    User,
    World,
)

log = logging.getLogger("sandbox")

# Generous: waits end as soon as the thing happens; only a failure waits this long, and a
# loaded 2-core CI machine can take seconds to start the bot.
DEFAULT_TIMEOUT = 20.0


class Sandbox:
    def __init__(self, *, app_name: str = "Lightstick") -> None:
        self.world = World(app_name)
        self.calls: Recorder[Call] = Recorder()
        self.frames: Recorder[Frame] = Recorder()
        self.cdn_requests: Recorder[Call] = Recorder()
        self.unhandled: list[str] = []  # routes the bot used that the sandbox lacks
        self.errors: list[str] = []  # exceptions inside the sandbox itself
        self.faults = Faults()
        self.gateway = Gateway(self)
        self.interaction_deadline = 3.0  # seconds to the first answer, as on Discord
        # Attachments given as slash-command options: in no message, still on the CDN.
        self.loose_attachments: dict[int, Attachment] = {}
        self.attachment_homes: dict[int, int] = {}  # attachment id -> the message it came on
        self.recommended_shards = 1
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Sandbox:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[SANDBOX_KEY] = self
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.add_routes(cdn.build_cdn_routes(self))
        app.add_subapp(
            API_PREFIX,
            build_api(
                self,
                [
                    routes_app.routes,
                    routes_messages.routes,
                    routes_guilds.routes,
                    routes_interactions.routes,
                ],
            ),
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.world.cdn_base = f"{self.base_url}/cdn"
        self.world.media_proxy_base = f"{self.base_url}/media-proxy"
        self.world.external_proxy_base = f"{self.base_url}/images-ext-1"
        return self

    async def stop(self) -> None:
        await self.gateway.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/resume"

    @property
    def cdn_base(self) -> str:
        return self.world.cdn_base

    def bot_env(self) -> dict[str, str]:
        """The environment that points the real bot at this sandbox."""
        return {
            "DISCORD_TOKEN": self.world.application.token,
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
            "DISCORD_CDN_BASE": self.cdn_base,
        }

    # -- the application's portal switches ------------------------------------------------------

    def allow_privileged_intents(
        self, *, members: bool = True, message_content: bool = True
    ) -> None:
        flags = 0
        if members:
            flags |= ApplicationFlags.GATEWAY_GUILD_MEMBERS
        if message_content:
            flags |= ApplicationFlags.GATEWAY_MESSAGE_CONTENT
        self.world.application.flags = flags

    def has_privileged_members_intent(self) -> bool:
        return bool(self.world.application.flags & ApplicationFlags.GATEWAY_GUILD_MEMBERS)

    def content_visible_on_rest(self, message: Message) -> bool:
        return (
            message.guild_id is None
            or bool(self.world.application.flags & ApplicationFlags.GATEWAY_MESSAGE_CONTENT)
            or message.author.id == self.world.bot.id
            or any(u.id == self.world.bot.id for u in message.mentions)
        )

    # -- lookups that fail as Discord does ---------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        guild = self.world.guilds.get(guild_id)
        if guild is None:
            raise DiscordError.unknown_guild()
        return guild

    def channel(self, channel_id: int) -> Channel:
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise DiscordError.unknown_channel()
        return channel

    def message(self, channel: Channel, message_id: int) -> Message:
        message = self.world.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel.id:
            raise DiscordError.unknown_message()
        return message

    def bot_member(self, guild: Guild) -> Member:
        member = guild.members.get(self.world.bot.id)
        if member is None:
            raise DiscordError.missing_access()
        return member

    def bot_can(self, channel: Channel, permission: int) -> bool:
        if channel.guild_id is None:
            return permission & ~(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES) == 0
        guild = self.world.guilds[channel.guild_id]
        perms = channel_permissions(guild, channel, self.bot_member(guild))
        return perms & permission == permission

    def dm_channel(self, user: User) -> Channel:
        channel_id = self.world.dm_channels.get(user.id)
        if channel_id is None:
            channel = Channel(id=self.world.ids.next(), type=DM, name=None, recipients=[user])
            self.world.add_channel(channel)
            self.world.dm_channels[user.id] = channel.id
            return channel
        return self.world.channels[channel_id]

    def dm_channel_owner(self, channel: Channel) -> User:
        return channel.recipients[0]

    def find_attachment(self, attachment_id: int) -> Attachment | None:
        """The attachment the CDN serves under this id: on a message that still has it, or
        given as a slash-command option. Looked up through `attachment_homes` (which message
        it was posted on), checked against the message as it is now; a stale or missing
        entry falls back to a walk over every message. Without it the CDN walked every
        message for every download, the costliest thing the sandbox did under a burst."""
        home = self.world.messages.get(self.attachment_homes.get(attachment_id, 0))
        found = home and next((a for a in home.attachments if a.id == attachment_id), None)
        if found is not None:
            return found
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    self.attachment_homes[attachment_id] = message.id
                    return attachment
        return self.loose_attachments.get(attachment_id)

    # -- waiting for the bot -----------------------------------------------------------------

    async def wait_for_call(
        self,
        method: str,
        route: str | None = None,
        *,
        where: Callable[[Call], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        since: int = 0,
    ) -> Call:
        """The first recorded REST call (from index `since`) matching method, route and `where`."""
        return await self.calls.wait_for(
            call_matcher(method, route, where),
            timeout=timeout,
            since=since,
            what=f"{method} {route or '*'}",
        )

    async def wait_for_event(
        self,
        event: str | None = None,
        *,
        op: int | None = None,
        sent_by_bot: bool = False,
        where: Callable[[Any], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        since: int = 0,
    ) -> Frame:
        """The first gateway frame the sandbox sent (or, with `sent_by_bot`, received)."""
        direction = "in" if sent_by_bot else "out"
        return await self.frames.wait_for(
            frame_matcher(event, op, direction, where),
            timeout=timeout,
            since=since,
            what=f"gateway {direction} {event or op}",
        )

    def calls_to(self, method: str, route: str) -> list[Call]:
        return self.calls.find(call_matcher(method, route, None))
