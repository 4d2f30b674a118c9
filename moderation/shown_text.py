"""Text the bot shows on Discord, built from input: fitted to Discord's limits, and inert.

Discord refuses a whole message when one part is too long (a 250-character rule title in an
embed title of "Rule 12: …" once broke `/rules number:`), so everything the bot builds from
input (rule titles, labels, notes, reasons, excerpts) goes through `shorten`, and every embed
through `fit_embed` before it is sent. Cutting ends with an ellipsis, so a reader sees that
there was more.

Text written elsewhere, such as the labels of another server's shared list, is shown through
`inert`: it can't format, ping anyone or carry a link, whatever its author typed.
"""

from __future__ import annotations

import re

import discord

EMBED_TITLE = 256
FIELD_NAME = 256
FIELD_VALUE = 1024
DESCRIPTION = 4096
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # title, description, field names and values, footer and author together
BUTTON_LABEL = 80
MESSAGE = 2000
ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut to `limit` with an ellipsis at the end."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """The embed with every part within its limit, and the whole within 6,000 characters.

    Parts are cut first; if the whole is still too long, the longest field value (then the
    description) is cut until it fits, so short fields such as the status stay whole.
    """
    if embed.title:
        embed.title = shorten(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = shorten(embed.description, DESCRIPTION)
    if embed.footer.text:
        embed.set_footer(text=shorten(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=shorten(embed.author.name, AUTHOR_NAME),
            url=embed.author.url,
            icon_url=embed.author.icon_url,
        )
    for index, field in enumerate(embed.fields):
        embed.set_field_at(
            index,
            name=shorten(field.name or "\u200b", FIELD_NAME),
            value=shorten(field.value or "\u200b", FIELD_VALUE),
            inline=bool(field.inline),
        )
    while (excess := len(embed) - EMBED_TOTAL) > 0:  # discord.py counts what Discord counts
        before = len(embed)
        _cut_longest(embed, excess)
        if len(embed) >= before:  # the field names alone overflow: the last field goes
            embed.remove_field(len(embed.fields) - 1)
    return embed


def _cut_longest(embed: discord.Embed, excess: int) -> None:
    """Cut `excess` characters (at least) from the longest field value or the description."""
    fields = embed.fields
    longest = max(range(len(fields)), key=lambda i: len(fields[i].value or ""), default=None)
    field_length = len(fields[longest].value or "") if longest is not None else 0
    description = len(embed.description or "")
    if description >= field_length and description > len(ELLIPSIS):
        embed.description = shorten(embed.description or "", description - excess)
        return
    if longest is None or field_length <= len(ELLIPSIS) + 1:
        return
    field = fields[longest]
    embed.set_field_at(
        longest,
        name=field.name or "\u200b",
        value=shorten(field.value or "", max(field_length - excess, len(ELLIPSIS) + 1)),
        inline=bool(field.inline),
    )


_LINK = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(//)")


def inert(text: str) -> str:
    """`text` shown as written: markdown escaped, mentions (users, roles, channels, @everyone)
    broken, and links made unclickable, so a stranger's label can't ping or phish."""
    text = discord.utils.escape_markdown(text, ignore_links=False)
    text = discord.utils.escape_mentions(text).replace("<", "<\u200b")
    return _LINK.sub("\\1:\u200b\\2", text)
