"""What a Discord message carries that the bot cares about: its media, and links to it.

Every feature that reads a message's pictures (scanning, catch-up, `/takedown scan`, reports,
**Add to takedown list**) asks `media_refs`, so a way of posting a picture that one of them
reads and another misses can't exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from media.pipeline import MediaRef
from moderation.i18n import N_, Texts
from moderation.shown_text import inert
from services.explicit_policy import Where

MEDIA_TYPES = ("image/", "video/")
MEDIA_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".apng",
    ".gif",
    ".webp",
    ".avif",
    ".mp4",
    ".mov",
    ".webm",
    ".m4v",
)
MESSAGE_LINK = re.compile(
    r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/([0-9]+)/([0-9]+)/([0-9]+)"
)


def media_refs(message: discord.Message) -> list[MediaRef]:
    """The media in a message that can be hashed: attachments, embed media, stickers, and the
    same in each forwarded message it carries.

    A forward (Discord's Forward) keeps the original's media in `message_snapshots`, not in the
    message's own fields; a forward of a forward carries the first original's snapshot, so one
    level covers every chain. A snapshot's attachments keep the original's ids, so a forward of
    a file already checked costs no download. Embed media is fetched through Discord's media
    proxy (`proxy_url`), never from the original third-party site, and Lottie stickers (vector
    animations) are not pictures to hash.
    """
    refs: list[MediaRef] = []
    for part in (message, *message.message_snapshots):
        refs.extend(_own_media(part))
    return list({ref.key: ref for ref in refs}.values())


def where_posted(message: discord.Message) -> Where:
    """Where a message was posted and its author's roles, for explicit-image review. A thread
    is age-restricted when its channel is (discord.py asks the parent)."""
    channel = message.channel
    is_nsfw = getattr(channel, "is_nsfw", None)
    return Where(
        channel_id=channel.id,
        parent_id=getattr(channel, "parent_id", None),
        age_restricted=bool(is_nsfw()) if callable(is_nsfw) else False,
        role_ids=frozenset(role.id for role in getattr(message.author, "roles", ())),
    )


def _own_media(message: discord.Message | discord.MessageSnapshot) -> list[MediaRef]:
    refs: list[MediaRef] = []
    for attachment in message.attachments:
        kind = (attachment.content_type or "").lower()
        if kind.startswith(MEDIA_TYPES) or attachment.filename.lower().endswith(MEDIA_SUFFIXES):
            refs.append(
                MediaRef(
                    f"attachment:{attachment.id}", attachment.url, "attachment", attachment.filename
                )
            )
    for embed in message.embeds:
        for part in (embed.image, embed.thumbnail, embed.video):
            proxy_url = getattr(part, "proxy_url", None)
            if proxy_url:
                refs.append(MediaRef(proxy_url, proxy_url, "embed"))
    for sticker in message.stickers:
        if sticker.format is not discord.StickerFormatType.lottie:
            refs.append(MediaRef(f"sticker:{sticker.id}", sticker.url, "sticker", sticker.name))
    return refs


# What a file without a name of its own is, as an alert or a queue message names it.
UNNAMED_MEDIA = {
    "attachment": N_("an attachment"),
    "embed": N_("an embedded picture or link preview"),
    "sticker": N_("a sticker"),
}


def media_name(tr: Texts, ref: MediaRef) -> str:
    """A file as a moderator reads it: its own name (shown as written), or what it is."""
    if ref.name:
        return inert(ref.name)
    return tr(UNNAMED_MEDIA.get(ref.kind, UNNAMED_MEDIA["attachment"]))


@dataclass(frozen=True, slots=True)
class MessageLink:
    guild_id: int
    channel_id: int
    message_id: int

    @property
    def url(self) -> str:
        return message_url(self.guild_id, self.channel_id, self.message_id)


def parse_message_link(text: str) -> MessageLink | None:
    """The ids in a Copy Message Link link (discord.com, ptb., canary., discordapp.com)."""
    found = MESSAGE_LINK.search(text.strip())
    if found is None:
        return None
    return MessageLink(int(found[1]), int(found[2]), int(found[3]))


def message_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """The jump link Discord clients open at the message."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
