"""The sandbox's world: users, guilds, channels, roles, members, messages and interactions.

Plain mutable dataclasses, because the REST routes, the gateway and the test scenario all change
the same world and must see each other's changes at once, as on Discord. Nothing here speaks HTTP
or JSON; `payloads.py` turns these objects into Discord's wire shapes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Channel types the sandbox models.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4

# Overwrite targets.
OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


class Snowflakes:
    """Discord-style ids: milliseconds since Discord's epoch, then a counter; always increasing."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def next(self) -> int:
        now = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now << 22) | (next(self._counter) & 0xFFF)
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """An id whose guild Discord routes to `shard_id` of `shard_count`, (id >> 22) %
        shard_count: the next id, moved up to shard_count - 1 milliseconds on if need be."""
        candidate = self.next()
        steps = (shard_id - (candidate >> 22)) % shard_count
        self._last = ((candidate >> 22) + steps) << 22 | (candidate & 0x3FFFFF)
        return self._last


def snowflake_time(snowflake: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    dms_open: bool = True  # False: the user blocks DMs from server members (error 50007)
    locale: str = "en-US"  # the language of their Discord client, sent with each interaction
    avatar: str | None = None  # image hashes on the CDN (World.profile_images); "a_..." animated
    banner: str | None = None  # only in the full profile (GET /users/{id}), not member payloads


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int
    color: int = 0
    managed: bool = False
    mentionable: bool = False
    hoist: bool = False


@dataclass
class Overwrite:
    id: int
    type: int
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False  # age-restricted
    overwrites: list[Overwrite] = field(default_factory=list)
    recipients: list[User] = field(default_factory=list)
    last_message_id: int | None = None
    pins: list[int] = field(default_factory=list)


@dataclass
class Member:
    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: dt.datetime = field(default_factory=utcnow)
    communication_disabled_until: dt.datetime | None = None
    avatar: str | None = None  # the server avatar's hash, or None
    banner: str | None = None  # the server profile banner's hash, or None

    def timed_out(self) -> bool:
        until = self.communication_disabled_until
        return until is not None and until > utcnow()


@dataclass
class Ban:
    user: User
    reason: str | None


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    bans: dict[int, Ban] = field(default_factory=dict)
    # Commands an admin opened to everyone in Server Settings -> Integrations, overriding the
    # command's default_member_permissions (so the bot's own checks are all that is left).
    opened_commands: set[str] = field(default_factory=set)
    preferred_locale: str = "en-US"  # Server Settings -> Overview -> Server Primary Language

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass
class Attachment:
    id: int
    filename: str
    content_type: str | None
    data: bytes
    description: str | None = None
    width: int | None = None
    height: int | None = None
    ephemeral: bool = False


@dataclass
class Snapshot:
    """What a forward carries: a copy of the forwarded message's content at that moment.

    Immutable on Discord: later edits or deletion of the original do not reach it. A forward
    of a forward carries the first one's snapshot (a snapshot never nests).
    """

    source_id: int  # the message whose content this is (its timestamp comes from the id)
    source_channel_id: int  # where its attachments live on the CDN
    type: int
    content: str
    embeds: list[dict[str, Any]]
    attachments: list[Attachment]
    flags: int
    edited_at: dt.datetime | None


@dataclass
class LinkPreview:
    """A web page's preview as Discord unfurls it: a title and a picture (`og:image`)."""

    title: str
    image_url: str  # registered in World.external_media


@dataclass
class Reaction:
    emoji: str
    user_ids: list[int] = field(default_factory=list)


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    edited_at: dt.datetime | None = None
    mentions: list[User] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reactions: list[Reaction] = field(default_factory=list)
    pinned: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    snapshots: list[Snapshot] = field(default_factory=list)  # a forward's copy of the original
    allowed_mentions: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlags.EPHEMERAL)


class MessageFlags:
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    HAS_SNAPSHOT = 1 << 14  # a forward
    IS_COMPONENTS_V2 = 1 << 15


class ReferenceType:
    DEFAULT = 0  # a reply
    FORWARD = 1


@dataclass
class Interaction:
    """One interaction a member started; the bot answers it through the callback route."""

    id: int
    token: str
    type: int
    user: User
    guild_id: int | None
    channel_id: int
    data: dict[str, Any]
    created_monotonic: float
    message_id: int | None = None  # the message whose component was used
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    ephemeral: bool = False
    opened_by: Interaction | None = None  # for a modal submit: the interaction that opened it


@dataclass
class Command:
    id: int
    guild_id: int | None
    payload: dict[str, Any]
    version: int

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    @property
    def type(self) -> int:
        return int(self.payload.get("type", 1))


class ApplicationFlags:
    GATEWAY_PRESENCE = 1 << 12
    GATEWAY_GUILD_MEMBERS = 1 << 14
    GATEWAY_MESSAGE_CONTENT = 1 << 18


@dataclass
class Application:
    id: int
    name: str
    bot: User
    token: str
    # Privileged intents switched on in the developer portal; IDENTIFY asking for more gets 4014.
    flags: int = ApplicationFlags.GATEWAY_GUILD_MEMBERS | ApplicationFlags.GATEWAY_MESSAGE_CONTENT
    commands: dict[int, Command] = field(default_factory=dict)


class World:
    """Everything the sandbox knows; one instance per sandbox server."""

    def __init__(self, app_name: str = "Lightstick") -> None:
        self.ids = Snowflakes()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.interactions: dict[int, Interaction] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id with the bot
        bot_user = self.add_user(app_name, bot=True)
        token = f"{secrets.token_urlsafe(18)}.sandbox.{secrets.token_urlsafe(27)}"
        self.application = Application(id=self.ids.next(), name=app_name, bot=bot_user, token=token)
        self.cdn_base = ""  # set by the server once it knows its port
        self.media_proxy_base = ""
        self.external_proxy_base = ""  # Discord's images-ext-N.discordapp.net, stood in for
        # Pictures on other sites, by their original URL, served only through the proxies.
        self.external_media: dict[str, tuple[str, bytes]] = {}  # URL -> (type, bytes)
        self.link_previews: dict[str, LinkPreview] = {}  # page URL -> its preview
        # Avatars and banners on the CDN, by their image hash: (content type, bytes).
        self.profile_images: dict[str, tuple[str, bytes]] = {}

    def add_external_image(self, url: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """A picture on another site: a link to it unfurls, an embed can show it."""
        self.external_media[url] = (content_type, data)

    def add_link_preview(
        self, page_url: str, image: bytes, *, title: str = "", content_type: str = "image/jpeg"
    ) -> str:
        """A web page whose link unfurls into a preview with `image`; returns the image's URL."""
        image_url = f"{page_url.rstrip('/')}/preview.jpg"
        self.add_external_image(image_url, image, content_type)
        self.link_previews[page_url] = LinkPreview(title or page_url, image_url)
        return image_url

    def add_profile_image(self, data: bytes, *, animated: bool = False) -> str:
        """An uploaded avatar or banner; returns its image hash ("a_" first when animated, as
        Discord names an animated GIF or WebP)."""
        image_hash = ("a_" if animated else "") + secrets.token_hex(16)
        kinds = {b"GIF8": "image/gif", b"RIFF": "image/webp", b"\xff\xd8\xff\xe0": "image/jpeg"}
        kind = kinds.get(data[:4], "image/png")
        self.profile_images[image_hash] = (kind, data)
        return image_hash

    @property
    def bot(self) -> User:
        return self.application.bot

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def has_humans(self) -> bool:
        return any(not u.bot for u in self.users.values())

    def attachment_url(self, channel_id: int, attachment: Attachment) -> str:
        return f"{self.cdn_base}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"

    def add_channel(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        if channel.guild_id is not None:
            self.guilds[channel.guild_id].channel_ids.append(channel.id)
        return channel

    def channel_messages(self, channel_id: int) -> list[Message]:
        """Live messages of a channel, newest first (the order Discord's history returns)."""
        found = [m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted]
        return sorted(found, key=lambda m: m.id, reverse=True)

    def guild_channels(self, guild: Guild) -> list[Channel]:
        return [self.channels[cid] for cid in guild.channel_ids if cid in self.channels]
