"""The blurred preview on an alert or a queue message, attached as a spoiler.

The preview itself is made in memory by `media.preview`; this only attaches it, or says on the
embed why it isn't there.
"""

from __future__ import annotations

import io

import discord

PREVIEW_NAME = "SPOILER_lightstick-preview.jpg"  # "SPOILER_" makes Discord blur it until clicked


def preview_files(
    channel: discord.TextChannel, preview: bytes | None, embed: discord.Embed
) -> list[discord.File]:
    """The blurred preview as a spoiler file, or a note on the embed when it can't be attached."""
    if not preview:
        return []
    if not channel.permissions_for(channel.guild.me).attach_files:
        embed.add_field(
            name="Preview", value="Not shown: I'm missing Attach Files here.", inline=False
        )
        return []
    return [discord.File(io.BytesIO(preview), PREVIEW_NAME, spoiler=True)]
