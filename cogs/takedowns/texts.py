"""How takedown entries, hashes and counts read to moderators, in every /takedown answer."""

from __future__ import annotations

import discord

from core.hashes import Hash
from moderation.i18n import Texts


def short_hash(value: Hash) -> str:
    return f"{value.algorithm}:{value.hex[:8]}…"


def quoted_label(tr: Texts, label: str) -> str:
    """A label of this server's own list, as its moderators wrote it (a channel it names stays
    a link); labels of other servers' lists are shown `inert`."""
    return f"“{discord.utils.escape_markdown(label)}”" if label else tr("no label")
