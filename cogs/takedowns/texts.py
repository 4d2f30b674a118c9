"""How takedown entries, hashes and counts read to moderators, in every /takedown answer."""

from __future__ import annotations

import discord

from core.hashes import Hash


def short_hash(value: Hash) -> str:
    return f"{value.algorithm}:{value.hex[:8]}…"


def quoted_label(label: str) -> str:
    """A label of this server's own list, as its moderators wrote it (a channel it names stays
    a link); labels of other servers' lists are shown `inert`."""
    return f"“{discord.utils.escape_markdown(label)}”" if label else "no label"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else many or word + 's'}"
