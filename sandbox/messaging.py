"""Creating, editing and deleting messages, shared by channel routes, interaction responses,
follow-up webhooks and members posting in a scenario.

All four paths must validate the same way (content length, empty messages, Components V2 rules)
and announce the result the same way (MESSAGE_CREATE/UPDATE/DELETE on the gateway), or a bot
could pass a test through one path that Discord rejects through another.

Two things Discord adds to messages live here too, as Discord documents them: forwards (a
`message_reference` of type FORWARD; the new message carries a snapshot of the original in
`message_snapshots`, a forward of a forward the first one's snapshot) and link previews (a link
to a known page or picture unfurls, in a MESSAGE_UPDATE after the MESSAGE_CREATE, into an embed
whose picture is served through the external-image proxy, `images-ext-N.discordapp.net` on
Discord; the embed's `url` points at the original site, which the sandbox never serves).
"""

from __future__ import annotations

import io
import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.errors import DiscordError
from sandbox.permissions import Permission, channel_permissions
from sandbox.state import (
    Attachment,
    Channel,
    Message,
    MessageFlags,
    ReferenceType,
    Snapshot,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from sandbox.server import Sandbox

MAX_CONTENT = 2000
MAX_EMBEDS = 10
ACTION_ROW = 1
# Flags a sender may set; the rest are Discord's to set.
SENDABLE_FLAGS = (
    MessageFlags.EPHEMERAL
    | MessageFlags.SUPPRESS_NOTIFICATIONS
    | MessageFlags.IS_COMPONENTS_V2
    | MessageFlags.SUPPRESS_EMBEDS
)
USER_MENTION = re.compile(r"<@!?([0-9]+)>")
LINK = re.compile(r"https?://[^\s<>]+")
# Message types Discord lets a member forward: DEFAULT, REPLY, CHAT_INPUT_COMMAND, CONTEXT_MENU.
FORWARDABLE_TYPES = (0, 19, 20, 23)
ROLE_MENTION = re.compile(r"<@&([0-9]+)>")


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header only; attachments of images carry them on Discord."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def make_attachment(sandbox: Sandbox, filename: str, data: bytes, **extra: Any) -> Attachment:
    content_type = mimetypes.guess_type(filename)[0]
    size = image_size(data) if content_type and content_type.startswith("image/") else None
    return Attachment(
        id=sandbox.world.ids.next(),
        filename=filename,
        content_type=content_type,
        data=data,
        width=size[0] if size else None,
        height=size[1] if size else None,
        **extra,
    )


def attachments_from_upload(
    sandbox: Sandbox, payload: dict[str, Any], files: dict[str, tuple[str, bytes]]
) -> list[Attachment]:
    """Map `files[n]` form fields to the `attachments` entries of payload_json, as Discord does."""
    entries = payload.get("attachments")
    if entries is None:
        entries = [{"id": i} for i in range(len(files))]
    made = []
    for entry in entries:
        upload = files.get(f"files[{entry['id']}]")
        if upload is None:
            continue  # an existing attachment kept on edit; the caller handles those
        filename = entry.get("filename") or upload[0]
        made.append(
            make_attachment(sandbox, filename, upload[1], description=entry.get("description"))
        )
    return made


def validate(
    payload: dict[str, Any], *, has_files: bool, flags: int, forward: bool = False
) -> None:
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    components = payload.get("components") or []
    if len(content) > MAX_CONTENT:
        raise DiscordError.invalid_form(
            "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
        )
    if len(embeds) > MAX_EMBEDS:
        raise DiscordError.invalid_form(
            "embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
        )
    if flags & MessageFlags.IS_COMPONENTS_V2:
        if content or embeds:
            raise DiscordError.invalid_form(
                "content",
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used when using components v2.",
            )
    else:
        for index, component in enumerate(components):
            if component.get("type") != ACTION_ROW:
                raise DiscordError.invalid_form(
                    f"components.{index}",
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (1,). Set IS_COMPONENTS_V2 for others.',
                )
    if not (content or embeds or components or has_files or payload.get("sticker_ids") or forward):
        raise DiscordError.empty_message()


def normalize_embeds(sandbox: Sandbox, embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what Discord adds: the rich type and media-proxy URLs for images and thumbnails."""
    result = []
    for embed in embeds:
        embed = {"type": "rich", **embed}
        for key in ("image", "thumbnail"):
            media = embed.get(key)
            if isinstance(media, dict) and media.get("url"):
                media = dict(media)
                media.setdefault("proxy_url", media_proxy_url(sandbox, media["url"]))
                embed[key] = media
        result.append(embed)
    return result


def media_proxy_url(sandbox: Sandbox, url: str) -> str:
    """Discord rewrites embed media to its media proxy; bots must fetch that, not the original."""
    key = quote(url, safe="")
    return f"{sandbox.world.media_proxy_base}/external/{key}"


def external_proxy_url(sandbox: Sandbox, url: str) -> str:
    """A link preview's picture, through the external-image proxy (images-ext on Discord)."""
    key = quote(url, safe="")
    return f"{sandbox.world.external_proxy_base}/external/{key}"


def _preview_image(sandbox: Sandbox, url: str) -> dict[str, Any]:
    content_type, data = sandbox.world.external_media[url]
    size = image_size(data) or (0, 0)
    return {
        "url": url,
        "proxy_url": external_proxy_url(sandbox, url),
        "width": size[0],
        "height": size[1],
        "content_type": content_type,
    }


def link_previews(sandbox: Sandbox, content: str) -> list[dict[str, Any]]:
    """The embeds Discord unfurls from the links in `content`: a known page (with its picture
    as the thumbnail) or a picture linked directly."""
    world, embeds = sandbox.world, []
    for url in dict.fromkeys(LINK.findall(content)):
        page = world.link_previews.get(url)
        if page is not None:
            thumbnail = _preview_image(sandbox, page.image_url)
            embeds.append(
                {"type": "article", "url": url, "title": page.title, "thumbnail": thumbnail}
            )
        elif world.external_media.get(url, ("",))[0].startswith("image/"):
            embeds.append({"type": "image", "url": url, "thumbnail": _preview_image(sandbox, url)})
    return embeds


def unfurl(sandbox: Sandbox, message: Message) -> None:
    """Add the link previews a message's content calls for, as Discord does after posting it."""
    if message.ephemeral or message.flags & MessageFlags.SUPPRESS_EMBEDS:
        return
    shown = {embed.get("url") for embed in message.embeds}
    new = [e for e in link_previews(sandbox, message.content) if e["url"] not in shown]
    if new:
        message.embeds = [*message.embeds, *new]
        sandbox.gateway.dispatch_message("MESSAGE_UPDATE", message)


def forward_of(
    sandbox: Sandbox, author: User, reference: dict[str, Any]
) -> tuple[dict[str, Any], Snapshot]:
    """The reference and snapshot of a forward, checked as Discord checks them."""
    for field_name in ("message_id", "channel_id"):
        if not reference.get(field_name):
            raise DiscordError.invalid_form(
                f"message_reference.{field_name}", "BASE_TYPE_REQUIRED", "This field is required"
            )
    source_channel = sandbox.channel(int(reference["channel_id"]))
    if source_channel.guild_id is not None:
        guild = sandbox.guild(source_channel.guild_id)
        member = guild.members.get(author.id)
        perms = channel_permissions(guild, source_channel, member) if member else 0
        if not perms & Permission.VIEW_CHANNEL:
            raise DiscordError.missing_access()
    source = sandbox.message(source_channel, int(reference["message_id"]))
    if source.type not in FORWARDABLE_TYPES:
        raise DiscordError.invalid_form(
            "message_reference", "MESSAGE_REFERENCE_INVALID_TYPE", "This message can't be forwarded"
        )
    shot = source.snapshots[0] if source.snapshots else _snapshot_of(source)
    made = {
        "type": ReferenceType.FORWARD,
        "message_id": str(source.id),
        "channel_id": str(source_channel.id),
    }
    if source_channel.guild_id is not None:
        made["guild_id"] = str(source_channel.guild_id)
    return made, shot


def _snapshot_of(source: Message) -> Snapshot:
    return Snapshot(
        source_id=source.id,
        source_channel_id=source.channel_id,
        type=source.type,
        content=source.content,
        embeds=[dict(embed) for embed in source.embeds],
        attachments=list(source.attachments),
        flags=source.flags & ~MessageFlags.HAS_SNAPSHOT,
        edited_at=source.edited_at,
    )


def resolve_mentions(
    sandbox: Sandbox, channel: Channel, content: str, allowed: dict[str, Any] | None
) -> tuple[list[User], list[int], bool]:
    """Who the message pings, after `allowed_mentions` (absent: everything in the content)."""
    parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
    allowed_users = {int(u) for u in (allowed or {}).get("users", [])}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles", [])}
    users = []
    for raw in USER_MENTION.findall(content):
        user = sandbox.world.users.get(int(raw))
        if user is not None and ("users" in parse or user.id in allowed_users):
            users.append(user)
    guild = sandbox.world.guilds.get(channel.guild_id) if channel.guild_id else None
    roles = [
        int(raw)
        for raw in ROLE_MENTION.findall(content)
        if guild is not None
        and int(raw) in guild.roles
        and ("roles" in parse or int(raw) in allowed_roles)
    ]
    everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
    return users, roles, everyone


def create_message(
    sandbox: Sandbox,
    channel: Channel,
    author: User,
    payload: dict[str, Any],
    attachments: list[Attachment],
    *,
    extra_flags: int = 0,
    check_body: bool = True,
    **fields: Any,
) -> Message:
    flags = (int(payload.get("flags") or 0) & SENDABLE_FLAGS) | extra_flags
    requested = payload.get("message_reference") or None
    forward = requested is not None and requested.get("type") == ReferenceType.FORWARD
    if check_body:  # only a deferred answer's placeholder may be empty
        validate(payload, has_files=bool(attachments), flags=flags, forward=forward)
    content = payload.get("content") or ""
    users, roles, everyone = resolve_mentions(
        sandbox, channel, content, payload.get("allowed_mentions")
    )
    snapshots: list[Snapshot] = []
    if forward:
        reference, shot = forward_of(sandbox, author, requested)
        snapshots, flags = [shot], flags | MessageFlags.HAS_SNAPSHOT
    else:
        reference = _reference(channel, requested)
    message = Message(
        id=sandbox.world.ids.next(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author=author,
        content=content,
        embeds=normalize_embeds(sandbox, payload.get("embeds") or []),
        attachments=attachments,
        components=normalize_components(sandbox, payload.get("components") or [], attachments),
        flags=flags,
        mentions=users,
        mention_role_ids=roles,
        mention_everyone=everyone,
        allowed_mentions=payload.get("allowed_mentions"),
        message_reference=reference,
        snapshots=snapshots,
        **{"type": 19 if reference and not forward else 0, **fields},
    )
    sandbox.world.messages[message.id] = message
    sandbox.attachment_homes.update((attachment.id, message.id) for attachment in attachments)
    if not message.ephemeral:
        channel.last_message_id = message.id
        sandbox.gateway.dispatch_message("MESSAGE_CREATE", message)
        unfurl(sandbox, message)
    return message


def _reference(channel: Channel, reference: dict[str, Any] | None) -> dict[str, Any] | None:
    if not reference:
        return None
    return {
        "type": 0,
        "message_id": str(reference["message_id"]),
        "channel_id": str(reference.get("channel_id") or channel.id),
        **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
    }


def edit_message(
    sandbox: Sandbox,
    message: Message,
    payload: dict[str, Any],
    new_attachments: list[Attachment],
) -> Message:
    if "content" in payload:
        message.content = payload["content"] or ""
    if "embeds" in payload:
        message.embeds = normalize_embeds(sandbox, payload["embeds"] or [])
    if "attachments" in payload:
        kept_ids = {int(a["id"]) for a in payload["attachments"] or []}
        message.attachments = [a for a in message.attachments if a.id in kept_ids]
    message.attachments.extend(new_attachments)
    if "components" in payload:
        message.components = normalize_components(
            sandbox, payload["components"] or [], message.attachments
        )
    if "flags" in payload and payload["flags"] is not None:
        keep = message.flags & ~SENDABLE_FLAGS
        message.flags = (
            keep
            | (int(payload["flags"]) & SENDABLE_FLAGS)
            | (message.flags & MessageFlags.EPHEMERAL)
        )
    if message.flags & MessageFlags.LOADING and ("content" in payload or "embeds" in payload):
        message.flags &= ~MessageFlags.LOADING
    validate(
        {"content": message.content, "embeds": message.embeds, "components": message.components},
        has_files=bool(message.attachments),
        flags=message.flags,
    )
    message.edited_at = utcnow()
    if not message.ephemeral:
        sandbox.gateway.dispatch_message("MESSAGE_UPDATE", message)
        unfurl(sandbox, message)
    return message


def delete_message(sandbox: Sandbox, message: Message) -> None:
    message.deleted = True
    channel = sandbox.world.channels.get(message.channel_id)
    if channel is not None and message.id in channel.pins:
        channel.pins.remove(message.id)
    if not message.ephemeral:
        sandbox.gateway.dispatch_message_delete([message])


# Defaults Discord fills into components it returns, by component type.
COMPONENT_DEFAULTS: dict[int, dict[str, Any]] = {
    3: {"min_values": 1, "max_values": 1},
    4: {"min_length": 0, "max_length": 4000, "label": ""},
    5: {"min_values": 1, "max_values": 1},
    6: {"min_values": 1, "max_values": 1},
    7: {"min_values": 1, "max_values": 1},
    8: {"min_values": 1, "max_values": 1},
    11: {"description": None, "spoiler": False},
    13: {"spoiler": False},
    14: {"spacing": 1, "divider": True},
    17: {"accent_color": None, "spoiler": False},
}


def normalize_components(
    sandbox: Sandbox, components: list[dict[str, Any]], attachments: list[Attachment]
) -> list[dict[str, Any]]:
    """What Discord stores and returns: every component numbered (`id`) in tree order, its
    defaults filled in, and media resolved (`attachment://name` to the uploaded file)."""
    counter = iter(range(1, 10_000))
    used = {c["id"] for c in _tree(components) if isinstance(c.get("id"), int)}

    def visit(component: dict[str, Any]) -> dict[str, Any]:
        result = {**COMPONENT_DEFAULTS.get(component.get("type", 0), {}), **component}
        if not isinstance(result.get("id"), int):
            result["id"] = next(i for i in counter if i not in used)
        for key in ("components",):
            if isinstance(result.get(key), list):
                result[key] = [visit(c) for c in result[key]]
        for key in ("accessory", "component"):
            if isinstance(result.get(key), dict):
                result[key] = visit(result[key])
        if isinstance(result.get("media"), dict):
            result["media"] = unfurled_media(sandbox, result["media"], attachments)
        if isinstance(result.get("file"), dict):
            result["file"] = unfurled_media(sandbox, result["file"], attachments)
            found = _attachment_named(result["file"], attachments)
            result.setdefault("name", found.filename if found else "file")
            result.setdefault("size", len(found.data) if found else 0)
        if isinstance(result.get("items"), list):
            result["items"] = [
                {
                    "description": None,
                    "spoiler": False,
                    **item,
                    "media": unfurled_media(sandbox, item["media"], attachments),
                }
                for item in result["items"]
            ]
        return result

    return [visit(c) for c in components]


def _tree(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for component in components:
        found.append(component)
        found += _tree(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                found += _tree([component[key]])
    return found


def _attachment_named(media: dict[str, Any], attachments: list[Attachment]) -> Attachment | None:
    attachment_id = media.get("attachment_id")
    return next(
        (a for a in attachments if attachment_id is not None and str(a.id) == str(attachment_id)),
        None,
    )


def unfurled_media(
    sandbox: Sandbox, media: dict[str, Any], attachments: list[Attachment]
) -> dict[str, Any]:
    url = str(media.get("url", ""))
    if "proxy_url" in media and "id" in media:
        return media  # already resolved (an edit that keeps a component)
    if url.startswith("attachment://"):
        name = url.removeprefix("attachment://")
        found = next((a for a in attachments if a.filename == name), None)
        if found is None:
            raise DiscordError.invalid_form(
                "components", "UNFURLED_MEDIA_ATTACHMENT_NOT_FOUND", f"No attachment {name}"
            )
        return {
            "id": str(found.id),
            "url": f"{sandbox.world.cdn_base}/attachments/0/{found.id}/{found.filename}",
            "proxy_url": f"{sandbox.world.cdn_base}/attachments/0/{found.id}/{found.filename}",
            "width": found.width,
            "height": found.height,
            "content_type": found.content_type,
            "attachment_id": str(found.id),
        }
    return {
        "id": str(sandbox.world.ids.next()),
        "url": url,
        "proxy_url": media_proxy_url(sandbox, url),
        "width": None,
        "height": None,
        "content_type": None,
    }
