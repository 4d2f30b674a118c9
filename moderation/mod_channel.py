"""Posting in the mod channel: finding it, and attaching the blurred preview as a spoiler.

The preview itself is made in memory by `media.preview`; this only attaches it, or says on the
embed why it isn't there.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord

from db.guild_settings import GuildSettings
from moderation.i18n import Texts, guild_texts

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

PREVIEW_NAME = "SPOILER_lightstick-preview.jpg"  # "SPOILER_" makes Discord blur it until clicked


def preview_files(
    channel: discord.TextChannel, preview: bytes | None, embed: discord.Embed, tr: Texts
) -> list[discord.File]:
    """The blurred preview as a spoiler file, or a note on the embed (in the embed's language,
    `tr`) when it can't be attached."""
    if not preview:
        return []
    if not channel.permissions_for(channel.guild.me).attach_files:
        embed.add_field(
            name=tr("Preview"), value=tr("Not shown: I'm missing Attach Files here."), inline=False
        )
        return []
    return [discord.File(io.BytesIO(preview), PREVIEW_NAME, spoiler=True)]


def mod_channel(
    guild: discord.Guild, settings: GuildSettings, what: str
) -> discord.TextChannel | None:
    """The server's mod channel, or None after logging that `what` has nowhere to go."""
    channel = guild.get_channel(settings.mod_channel_id) if settings.mod_channel_id else None
    if isinstance(channel, discord.TextChannel):
        return channel
    log.warning("%s in guild %s, but no mod channel is set; see /config check", what, guild.id)
    return None


async def post_note(guild: discord.Guild, settings: GuildSettings, what: str, text: str) -> None:
    """A plain message in the mod channel (a burst summary), pinging nobody; `what` names it
    in the log when there is no mod channel or Discord refuses."""
    channel = mod_channel(guild, settings, what)
    if channel is None:
        return
    try:
        await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.warning("Could not post %s in guild %s: %s", what, guild.id, exc)


async def post_burst_summary(
    bot: Lightstick, guild_id: int, what: str, text: Callable[[Texts], str]
) -> None:
    """A `PostQueue`'s summary of what a burst skipped: `text` in the server's language (given
    its `Texts`), as a note in its mod channel; nothing for a server the bot isn't in."""
    guild = bot.get_guild(guild_id)
    if guild is None:
        return
    settings = await bot.guild_settings.get(guild_id)
    await post_note(guild, settings, what, text(guild_texts(settings.language, guild)))
