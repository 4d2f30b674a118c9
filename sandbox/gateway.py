"""The gateway: Discord's websocket protocol (v10, JSON, zlib-stream) as discord.py uses it.

A `Session` outlives its websocket: every dispatch gets the session's next sequence number and
is kept, so a RESUME on a new connection replays exactly what the bot missed, as Discord does.
Each connection writes through one queue and one writer task, because zlib-stream compresses
with one context per connection and frames must leave in the order they were compressed.
Intents filter events, and a session without the Message Content intent gets guild messages
with content, embeds, attachments and components blanked, unless the bot is mentioned in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from sandbox import payloads
from sandbox.recorder import Frame
from sandbox.state import ApplicationFlags, Guild, Message

if TYPE_CHECKING:
    from sandbox.server import Sandbox

log = logging.getLogger("sandbox.gateway")


class Op:
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    MESSAGE_CONTENT = 1 << 15


# A privileged intent is allowed only when the application has its switch on in the portal.
PRIVILEGED = {
    Intent.GUILD_MEMBERS: ApplicationFlags.GATEWAY_GUILD_MEMBERS,
    Intent.GUILD_PRESENCES: ApplicationFlags.GATEWAY_PRESENCE,
    Intent.MESSAGE_CONTENT: ApplicationFlags.GATEWAY_MESSAGE_CONTENT,
}


class Close:
    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SHARD = 4010
    INVALID_INTENTS = 4013
    DISALLOWED_INTENTS = 4014


ZLIB_SUFFIX = b"\x00\x00\xff\xff"
HEARTBEAT_INTERVAL_MS = 41250


@dataclass
class Session:
    id: str
    intents: int
    shard_id: int
    shard_count: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None

    def has(self, intent: int) -> bool:
        return self.intents & intent == intent

    def serves(self, guild_id: int | None) -> bool:
        shard = 0 if guild_id is None else (guild_id >> 22) % self.shard_count
        return shard == self.shard_id


class Connection:
    """One websocket; writes go through a queue so compression and order stay consistent."""

    def __init__(self, gateway: Gateway, ws: web.WebSocketResponse, path: str, compress: bool):
        self.gateway = gateway
        self.ws = ws
        self.path = path
        self.session: Session | None = None
        self.number = len(gateway.handshakes)
        self.closed_by_sandbox: int | None = None
        self._compressor = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[dict[str, Any] | int] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write_loop())

    def send(self, payload: dict[str, Any]) -> None:
        self._queue.put_nowait(payload)

    def close(self, code: int) -> None:
        """Close after everything queued before has been written."""
        self._queue.put_nowait(code)

    async def drained(self) -> None:
        await self._queue.join()

    async def _write_loop(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, int):
                    self.closed_by_sandbox = item
                    await self.ws.close(code=item)
                    return
                await self._write(item)
            finally:
                self._queue.task_done()

    async def _write(self, item: dict[str, Any]) -> None:
        if not self.ws.closed:
            self.gateway.record("out", item, self)
            text = json.dumps(item)
            with contextlib.suppress(ConnectionError, RuntimeError):
                if self._compressor is None:
                    await self.ws.send_str(text)
                else:
                    data = self._compressor.compress(text.encode())
                    data += self._compressor.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)


class Gateway:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.handshakes: list[dict[str, str]] = []  # path and query of every websocket opened
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS

    # -- what the tests and the REST side call ------------------------------------------------

    def record(self, direction: str, payload: dict[str, Any], connection: Connection) -> None:
        session = connection.session
        self.sandbox.frames.append(
            Frame(
                connection=connection.number,
                direction=direction,
                op=payload.get("op", -1),
                event=payload.get("t"),
                data=payload.get("d"),
                session_id=session.id if session else None,
                seq=payload.get("s"),
            )
        )

    def live_sessions(self) -> list[Session]:
        return list(self.sessions.values())

    def dispatch(
        self,
        event: str,
        data: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        intent: int = 0,
        builder: Any = None,
    ) -> None:
        """Send an event to every session that serves the guild and has the intent."""
        for session in self.live_sessions():
            if not session.serves(guild_id) or not session.has(intent):
                continue
            self._send_dispatch(session, event, builder(session) if builder else data)

    def dispatch_message(self, event: str, message: Message) -> None:
        guild_id = message.guild_id
        intent = Intent.GUILD_MESSAGES if guild_id else Intent.DIRECT_MESSAGES

        def build(session: Session) -> dict[str, Any]:
            visible = (
                guild_id is None
                or session.has(Intent.MESSAGE_CONTENT)
                or message.author.id == self.sandbox.world.bot.id
                or any(u.id == self.sandbox.world.bot.id for u in message.mentions)
            )
            return payloads.gateway_message(self.sandbox.world, message, content_visible=visible)

        self.dispatch(event, guild_id=guild_id, intent=intent, builder=build)

    def dispatch_message_delete(self, messages: list[Message]) -> None:
        first = messages[0]
        intent = Intent.GUILD_MESSAGES if first.guild_id else Intent.DIRECT_MESSAGES
        base: dict[str, Any] = {"channel_id": str(first.channel_id)}
        if first.guild_id:
            base["guild_id"] = str(first.guild_id)
        if len(messages) == 1:
            event, data = "MESSAGE_DELETE", {**base, "id": str(first.id)}
        else:
            event, data = "MESSAGE_DELETE_BULK", {**base, "ids": [str(m.id) for m in messages]}
        self.dispatch(event, data, guild_id=first.guild_id, intent=intent)

    def dispatch_guild_create(self, guild: Guild) -> None:
        self.dispatch(
            "GUILD_CREATE",
            guild_id=guild.id,
            intent=Intent.GUILDS,
            builder=lambda s: self._guild_create(s, guild),
        )

    def reconnect(self) -> None:
        """Op 7 to every connection: reconnect and resume, as Discord asks during its deploys."""
        for connection in self._connected():
            connection.send({"op": Op.RECONNECT, "d": None})

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Op 9: the bot must identify anew (discord.py waits 5 s first) unless `resumable`."""
        for connection in self._connected():
            connection.send({"op": Op.INVALID_SESSION, "d": resumable})
            if not resumable and connection.session is not None:
                self.sessions.pop(connection.session.id, None)

    def close_connections(self, code: int) -> None:
        """Close every websocket with `code` (4000 resumes, 4014 is fatal, ...)."""
        for connection in self._connected():
            connection.close(code)

    def request_heartbeat(self) -> None:
        for connection in self._connected():
            connection.send({"op": Op.HEARTBEAT, "d": None})

    async def flushed(self) -> None:
        """Wait until every frame queued so far has been written to its socket."""
        for connection in list(self.connections):
            await connection.drained()

    async def stop(self) -> None:
        for connection in list(self.connections):
            connection.writer.cancel()
            await connection.ws.close(code=1001)

    # -- the websocket handler ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=True)
        await ws.prepare(request)
        compress = request.query.get("compress") == "zlib-stream"
        self.handshakes.append({"path": request.path, **request.query})
        connection = Connection(self, ws, request.path, compress)
        self.connections.append(connection)
        connection.send({"op": Op.HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    connection.close(Close.DECODE_ERROR)
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    connection.close(Close.DECODE_ERROR)
                    break
                self.record("in", payload, connection)
                self._receive(connection, payload)
        finally:
            self._forget(connection)
        return ws

    def _forget(self, connection: Connection) -> None:
        self.connections.remove(connection)
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            # A clean close by the client ends the session; any other close can be resumed.
            by_client = connection.closed_by_sandbox is None
            if by_client and connection.ws.close_code in (1000, 1001):
                self.sessions.pop(session.id, None)
        with contextlib.suppress(Exception):
            connection.close(1000)

    def _connected(self) -> list[Connection]:
        return [c for c in self.connections if not c.ws.closed]

    def _receive(self, connection: Connection, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == Op.HEARTBEAT:
            connection.send({"op": Op.HEARTBEAT_ACK})
        elif op == Op.IDENTIFY:
            self._identify(connection, data or {})
        elif op == Op.RESUME:
            self._resume(connection, data or {})
        elif op == Op.REQUEST_GUILD_MEMBERS:
            self._members_chunk(connection, data or {})
        elif op == Op.PRESENCE_UPDATE:
            pass
        elif connection.session is None:
            connection.close(Close.NOT_AUTHENTICATED)
        else:
            connection.close(Close.UNKNOWN_OPCODE)

    def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        app = self.sandbox.world.application
        if connection.session is not None:
            connection.close(Close.ALREADY_AUTHENTICATED)
            return
        if data.get("token", "").removeprefix("Bot ") != app.token:
            connection.close(Close.AUTHENTICATION_FAILED)
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            connection.close(Close.INVALID_INTENTS)
            return
        if any(intents & bit and not app.flags & flag for bit, flag in PRIVILEGED.items()):
            connection.close(Close.DISALLOWED_INTENTS)
            return
        shard_id, shard_count = data.get("shard") or (0, 1)
        if not 0 <= shard_id < shard_count:
            connection.close(Close.INVALID_SHARD)
            return
        session = Session(secrets.token_hex(16), intents, shard_id, shard_count)
        session.connection = connection
        connection.session = session
        self.sessions[session.id] = session
        self._send_dispatch(session, "READY", self._ready(session))
        if session.has(Intent.GUILDS):
            for guild in self._guilds_of(session):
                self._send_dispatch(session, "GUILD_CREATE", self._guild_create(session, guild))

    def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        token_ok = str(data.get("token", "")).removeprefix("Bot ") == (
            self.sandbox.world.application.token
        )
        seq = data.get("seq") or 0
        if session is None or not token_ok or seq > session.seq:
            connection.send({"op": Op.INVALID_SESSION, "d": False})
            return
        if session.connection is not None and session.connection is not connection:
            session.connection.close(4000)
        session.connection = connection
        connection.session = session
        for payload in session.sent:
            if payload["s"] > seq:
                connection.send(payload)
        self._send_dispatch(session, "RESUMED", {"_trace": ["sandbox"]})

    def _members_chunk(self, connection: Connection, data: dict[str, Any]) -> None:
        session = connection.session
        guild = self.sandbox.world.guilds.get(int(data.get("guild_id", 0)))
        if session is None or guild is None:
            return
        if not session.has(Intent.GUILD_MEMBERS):
            connection.close(Close.DISALLOWED_INTENTS)
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        members = [
            m
            for m in guild.members.values()
            if (not wanted or m.user.id in wanted) and m.user.username.lower().startswith(query)
        ]
        limit = data.get("limit") or len(members)
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [payloads.member(m) for m in members[:limit]],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _send_dispatch(self, session: Session, event: str, data: Any) -> None:
        session.seq += 1
        payload = {"op": Op.DISPATCH, "t": event, "s": session.seq, "d": data}
        session.sent.append(payload)
        if session.connection is not None:
            session.connection.send(payload)

    def _guilds_of(self, session: Session) -> list[Guild]:
        bot_id = self.sandbox.world.bot.id
        return [
            g
            for g in self.sandbox.world.guilds.values()
            if bot_id in g.members and session.serves(g.id)
        ]

    def _ready(self, session: Session) -> dict[str, Any]:
        world = self.sandbox.world
        return {
            "v": 10,
            "user": payloads.current_user(world.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self._guilds_of(session)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.sandbox.resume_gateway_url,
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(world.application.id), "flags": world.application.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["sandbox"],
            "user_settings": {},
            "auth": {},
            "_trace": ["sandbox"],
        }

    def _guild_create(self, session: Session, guild: Guild) -> dict[str, Any]:
        # Discord: without GUILD_PRESENCES, `members` holds only the bot (and members in voice
        # channels, which the sandbox has none of); the rest come by chunking or REST.
        with_members = session.has(Intent.GUILD_PRESENCES)
        return payloads.gateway_guild(self.sandbox.world, guild, with_members=with_members)
