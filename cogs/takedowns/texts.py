"""How takedown entries, hashes and counts read to moderators, in every /takedown answer."""

from __future__ import annotations

import discord

from core.hashes import Hash
from moderation.i18n import Texts


def short_hash(value: Hash) -> str:
    return f"{value.algorithm}:{value.hex[:8]}…"


def quoted_label(tr: Texts, label: str) -> str:
    return f"“{discord.utils.escape_markdown(label)}”" if label else tr("no label")
